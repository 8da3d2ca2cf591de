// Subscriptions and deliveries end to end: the app commits changes, the audit consumer fans them
// out, the dispatcher delivers to a real HTTP receiver on loopback, which verifies every signature
// with the `standardwebhooks` package.
import t from 'tap'
import { eventually, expectProblem } from '../helper.js'
import { buildWithWebhooks, startReceiver } from './support.js'

t.test('a committed flag change reaches the subscriber, signed per Standard Webhooks; a refused one does not', async (t) => {
  const ctx = await buildWithWebhooks(t)
  const receiver = await startReceiver(t)
  const created = await ctx.subscribe({ url: receiver.url, description: 'prod changes', filter: { environments: ['prod'] } })
  t.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'a whsec_ secret of 32 bytes')
  receiver.secrets.push(created.secret)
  const shown = await ctx.app.inject({ method: 'GET', url: `/webhooks/${created.id}`, headers: { authorization: ctx.admin } })
  t.equal(shown.statusCode, 200)
  t.notOk('secret' in shown.json(), 'the secret is shown once, at creation')
  t.notOk(shown.body.includes(created.secret), 'and never again')

  const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}) =>
    ctx.app.inject({ method, url, headers: { authorization: ctx.admin, ...headers }, ...(payload !== undefined ? { payload } : {}) })
  t.equal((await send('POST', '/features', { name: 'hooked', tags: ['checkout'], environments: { dev: true, prod: false } })).statusCode, 201)
  t.equal((await send('PUT', '/features/hooked/env/prod', { enabled: true }, { 'if-match': '"1"', 'x-correlation-id': 'release-7' })).statusCode, 200)
  t.equal((await send('PUT', '/features/hooked/env/dev', { enabled: false }, { 'if-match': '"2"' })).statusCode, 200)
  // Refused: stale If-Match. No audit record, so no delivery.
  t.equal((await send('PUT', '/features/hooked/env/prod', { enabled: false }, { 'if-match': '"1"' })).statusCode, 412)

  await eventually(async () => receiver.received.length >= 2, { what: 'FEATURE_CREATED and the prod change' })
  // The dev change is filtered out; the refused change has no event: let both have had time to arrive.
  const marker = await send('PUT', '/features/hooked/env/prod', { enabled: false }, { 'if-match': '"3"' })
  t.equal(marker.statusCode, 200)
  await eventually(async () => receiver.received.length >= 3, { what: 'the marker change' })
  const types = receiver.received.map((r) => (r.payload as { type: string }).type)
  t.same(types.sort(), ['ENVIRONMENT_UPDATED', 'ENVIRONMENT_UPDATED', 'FEATURE_CREATED'], 'the create (no environment: passes) and the two prod changes; not dev, not the refused one')
  for (const r of receiver.received) t.same(r.verifiedWith, [created.secret], `signature of ${r.id} verified by standardwebhooks`)

  const prodOn = receiver.received.find((r) => (r.payload as { data: { after: { enabled?: boolean } } }).data.after?.enabled === true)!
  t.match(prodOn.payload, {
    type: 'ENVIRONMENT_UPDATED',
    data: { feature: 'hooked', environment: 'prod', action: 'ENVIRONMENT_UPDATED', actor: 'admin@example.com', before: { enabled: false }, after: { enabled: true }, eventId: String, timestamp: String, requestId: String, correlationId: 'release-7' }
  })
  // The payload is what the audit record holds.
  const audit = await eventually(async () => {
    const page = await ctx.app.audit.list('hooked', { order: 'asc', limit: 10 })
    return page.items.length >= 4 ? page.items : undefined
  })
  const record = audit.find((a) => a.eventId === (prodOn.payload as { data: { eventId: string } }).data.eventId)!
  t.same((prodOn.payload as { data: unknown }).data, { ...record, subject: 'hooked' }, 'payload data = the audit record')

  const list = await send('GET' as 'POST', `/webhooks/${created.id}/deliveries`)
  t.equal(list.statusCode, 200)
  const items = list.json().items as Array<{ status: string; attempts: number; webhookId: string; history: Array<{ statusCode: number; latencyMs: number }> }>
  t.equal(items.length, 3)
  for (const d of items) {
    t.equal(d.status, 'delivered')
    t.equal(d.attempts, 1)
    t.equal(d.history[0].statusCode, 204)
    t.type(d.history[0].latencyMs, 'number')
  }
  t.same(new Set(items.map((d) => d.webhookId)), new Set(receiver.received.map((r) => r.id)), 'webhook-id as listed')
})

t.test('filters by flag, tag and action; paused subscriptions receive nothing', async (t) => {
  const ctx = await buildWithWebhooks(t)
  const byName = await startReceiver(t)
  const byTag = await startReceiver(t)
  const segmentsOnly = await startReceiver(t)
  const paused = await startReceiver(t)
  await ctx.subscribe({ url: byName.url, filter: { flags: ['alpha'] } })
  await ctx.subscribe({ url: byTag.url, filter: { tags: ['team-a'] } })
  await ctx.subscribe({ url: segmentsOnly.url, filter: { actions: ['SEGMENT_CREATED'] } })
  await ctx.subscribe({ url: paused.url, status: 'paused' })
  const send = (url: string, payload: object, headers: Record<string, string> = {}, method: 'POST' | 'PUT' = 'POST') =>
    ctx.app.inject({ method, url, headers: { authorization: ctx.admin, ...headers }, payload })
  t.equal((await send('/features', { name: 'alpha', environments: { dev: true } })).statusCode, 201)
  t.equal((await send('/features', { name: 'beta', tags: ['team-a'], environments: { dev: true } })).statusCode, 201)
  // An environment change carries no tags: the fan-out reads the flag's.
  t.equal((await send('/features/beta/env/prod', { enabled: true }, {}, 'PUT')).statusCode, 200)
  t.equal((await send('/features', { name: 'gamma', environments: { dev: true } })).statusCode, 201)
  t.equal((await send('/segments', { key: 'vip', included: ['u1'], excluded: [], rules: [] })).statusCode, 201)
  await eventually(async () => byName.received.length >= 1 && byTag.received.length >= 2 && segmentsOnly.received.length >= 1, { what: 'filtered deliveries' })
  // gamma's create went to nobody; wait until its audit record exists and its outbox item is gone.
  await eventually(async () => (await ctx.app.audit.countOutbox()) === 0 && (await ctx.app.audit.list('gamma', { order: 'asc', limit: 1 })).items.length === 1)
  const flagOf = (r: { payload: unknown }) => (r.payload as { data: { feature?: string; subject: string } }).data.feature ?? (r.payload as { data: { subject: string } }).data.subject
  t.same(byName.received.map(flagOf), ['alpha'])
  t.same(byTag.received.map(flagOf), ['beta', 'beta'])
  t.same(segmentsOnly.received.map(flagOf), ['segment:vip'])
  t.equal(paused.received.length, 0, 'a paused subscription gets nothing')
})

t.test('test event, Slack format, secret rotation with two signatures, replay of a dead letter, audited changes', async (t) => {
  const ctx = await buildWithWebhooks(t)
  const receiver = await startReceiver(t)
  const slack = await startReceiver(t)
  // Receives only what is sent to it directly: test events and replays.
  const sub = await ctx.subscribe({ url: receiver.url, filter: { flags: ['unrelated'] } })
  receiver.secrets.push(sub.secret)
  const admin = ctx.admin
  const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers: Record<string, string> = {}) =>
    ctx.app.inject({ method, url, headers: { authorization: admin, ...headers }, ...(payload !== undefined ? { payload } : {}) })

  const test = await api('POST', `/webhooks/${sub.id}/test`)
  t.equal(test.statusCode, 202, test.body)
  t.equal(test.json().status, 'pending')
  await eventually(async () => receiver.received.length === 1)
  t.match(receiver.received[0].payload, { type: 'WEBHOOK_TEST', data: { action: 'WEBHOOK_TEST', actor: 'admin@example.com' } })
  t.equal(receiver.received[0].id, test.json().webhookId)

  const slackSub = await ctx.subscribe({ url: slack.url, format: 'slack' })
  t.equal((await api('POST', '/features', { name: 'chatty', environments: { prod: false } })).statusCode, 201)
  t.equal((await api('PUT' as 'PATCH', '/features/chatty/env/prod', { enabled: true }, { 'if-match': '"1"' })).statusCode, 200)
  await eventually(async () => slack.received.length >= 2)
  t.same(slack.received.map((r) => r.payload).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
    { text: 'admin@example.com changed flag `chatty` in *prod*: enabled false → true' },
    { text: 'admin@example.com created flag `chatty`' }
  ])
  slack.secrets.push(slackSub.secret)
  t.ok(slack.received.every((r) => r.signature.startsWith('v1,')), 'Slack deliveries are signed too')

  // Rotation: both secrets sign during the grace period; each alone verifies.
  const rotated = await api('POST', `/webhooks/${sub.id}/rotate-secret`, { graceSeconds: 3600 })
  t.equal(rotated.statusCode, 200, rotated.body)
  const newSecret = rotated.json().secret as string
  t.not(newSecret, sub.secret)
  t.type(rotated.json().previousSecretExpiresAt, 'string')
  receiver.secrets.push(newSecret)
  await api('POST', `/webhooks/${sub.id}/test`)
  await eventually(async () => receiver.received.length === 2)
  t.equal(receiver.received[1].signature.split(' ').length, 2, 'two space-separated signatures')
  t.same(receiver.received[1].verifiedWith, [sub.secret, newSecret], 'old and new secret each verify')
  // After the grace period only the new one signs.
  ctx.clock.advance(3601_000)
  const third = await api('POST', `/webhooks/${sub.id}/test`)
  t.equal(third.statusCode, 202, third.body)
  await eventually(async () => receiver.received.length === 3)
  t.same(receiver.received[2].signedWith, [newSecret], 'only the new secret after the window')
  t.ok(Math.abs(Number(receiver.received[2].timestamp) - ctx.clock.now() / 1000) < 60, 'webhook-timestamp is the service clock\'s time of the attempt')
  t.equal(receiver.received[2].signature.split(' ').length, 1)

  // Dead letter: the receiver fails for longer than the retry window; then a replay succeeds.
  receiver.mode = 'fail500'
  const doomed = (await api('POST', `/webhooks/${sub.id}/test`)).json() as { eventId: string; webhookId: string }
  const dead = await eventually(async () => {
    const d = (await ctx.hooks.webhooks.deliveries.get(sub.id, doomed.eventId))!
    if (d.status === 'failed') return d
    if (d.attempts > 0 && d.nextAttemptAt !== undefined) {
      // Jump to the next retry and sweep, as the maintenance job does every minute.
      ctx.clock.advance(Date.parse(d.nextAttemptAt) - ctx.clock.now() + 1)
      await ctx.hooks.webhooks.worker!.sweep()
    }
    return undefined
  }, { timeoutMs: 60_000, what: 'the delivery to be dead-lettered' })
  t.ok(dead.attempts >= 10, `retried ${dead.attempts} times over 24 h`)
  const failedList = (await api('GET', `/webhooks/${sub.id}/deliveries?status=failed`)).json() as { items: Array<{ eventId: string; history: Array<{ statusCode: number }> }> }
  t.same(failedList.items.map((d) => d.eventId), [doomed.eventId], 'visible as failed')
  t.ok(failedList.items[0].history.every((h) => h.statusCode === 500))
  t.equal((await api('POST', `/webhooks/${sub.id}/deliveries/${doomed.eventId}/replay`)).statusCode, 202)
  receiver.mode = 'ok'
  await eventually(async () => receiver.received.some((r) => r.id === doomed.webhookId), { what: 'the replayed delivery' })
  t.equal(receiver.refused, dead.attempts, 'no attempt was made twice')
  const replayAgain = await api('POST', `/webhooks/${sub.id}/deliveries/${doomed.eventId}/replay`)
  expectProblem(t, replayAgain, 409, 'a delivered delivery')

  // Every change to the subscription is audited, without secrets.
  t.equal((await api('PATCH', `/webhooks/${sub.id}`, { status: 'paused' }, { 'if-match': '"1"' })).statusCode, 412, 'stale If-Match')
  t.equal((await api('PATCH', `/webhooks/${sub.id}`, { status: 'paused' }, { 'if-match': '"2"' })).statusCode, 200)
  t.equal((await api('DELETE', `/webhooks/${sub.id}`)).statusCode, 204)
  const trail = await eventually(async () => {
    const page = (await api('GET', `/webhooks/${sub.id}/audit`)).json() as { items: Array<{ action: string }> }
    return page.items.length >= 4 ? page : undefined
  })
  t.same(trail.items.map((i) => i.action), ['WEBHOOK_CREATED', 'WEBHOOK_SECRET_ROTATED', 'WEBHOOK_UPDATED', 'WEBHOOK_DELETED'])
  t.notOk(JSON.stringify(trail).includes('whsec_'), 'no secret in the audit trail')
})

t.test('a scheduled change is delivered with its true before and after, by system:scheduler', async (t) => {
  const ctx = await buildWithWebhooks(t)
  const receiver = await startReceiver(t)
  const sub = await ctx.subscribe({ url: receiver.url, filter: { flags: ['timed'], actions: ['ENVIRONMENT_UPDATED'] } })
  receiver.secrets.push(sub.secret)
  const enableAt = new Date(Date.now() + 60_000).toISOString()
  t.equal((await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: ctx.admin }, payload: { name: 'timed', environments: { prod: false } } })).statusCode, 201)
  const put = await ctx.app.inject({ method: 'PUT', url: '/features/timed/env/prod', headers: { authorization: ctx.admin, 'if-match': '"1"' }, payload: { enabled: false, enableAt } })
  t.equal(put.statusCode, 200, put.body)
  await eventually(async () => receiver.received.length === 1, { what: 'the admin\'s change' })
  // The scheduler runs on the workers' clock: two minutes later the change is due.
  ctx.clock.advance(120_000)
  await eventually(async () => {
    await ctx.hooks.maintain()
    return receiver.received.length === 2
  }, { what: 'the scheduled change', intervalMs: 300 })
  const scheduled = receiver.received[1].payload as { data: { actor: string; before: { enabled: boolean }; after: { enabled: boolean } } }
  t.match(scheduled, { type: 'ENVIRONMENT_UPDATED', data: { actor: 'system:scheduler', feature: 'timed', environment: 'prod', before: { enabled: false }, after: { enabled: true } } })
  t.same(receiver.received[1].signedWith, [sub.secret])
})
