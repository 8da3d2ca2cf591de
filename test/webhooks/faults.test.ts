// Webhook deliveries under faults: every committed change is delivered at least once, with the
// same webhook-id on every attempt, and nothing is delivered for a refused change, while the
// receiver is down (connections dropped), answers 500s or hangs past the deadline; and when the
// process dies between the commit and the delivery (the wake-up lost, an attempt in progress).
import t from 'tap'
import { PurgeQueueCommand } from '@aws-sdk/client-sqs'
import { eventually } from '../helper.js'
import { webhookIdOf } from '../../src/domain/webhooks.js'
import { buildWithWebhooks, driveRetries, startReceiver, startWebhookWorkers, type Mode } from './support.js'

t.test('receiver down, then 500s, then hanging: all committed changes arrive, same webhook-id on every retry, none for refused ones', async (t) => {
  const ctx = await buildWithWebhooks(t, { env: { WEBHOOK_TIMEOUT_MS: '1000' } })
  const receiver = await startReceiver(t)
  // 12 dropped connections, 12 answers of 500, 6 requests held past the deadline, then healthy.
  receiver.behave = (n): Mode => n < 12 ? 'down' : n < 24 ? 'fail500' : n < 30 ? 'hang' : 'ok'
  const sub = await ctx.subscribe({ url: receiver.url, filter: { flags: ['faulty'] } })
  receiver.secrets.push(sub.secret)
  const send = (method: 'POST' | 'PUT', url: string, payload: object, ifMatch?: string) =>
    ctx.app.inject({ method, url, headers: { authorization: ctx.admin, ...(ifMatch !== undefined ? { 'if-match': ifMatch } : {}) }, payload })

  t.equal((await send('POST', '/features', { name: 'faulty', environments: { dev: false } })).statusCode, 201)
  let version = 1
  let refused = 0
  for (let i = 0; i < 10; i++) {
    const res = await send('PUT', '/features/faulty/env/dev', { enabled: i % 2 === 0 }, `"${version}"`)
    t.equal(res.statusCode, 200)
    version++
    // A refused change between each: a stale version.
    if ((await send('PUT', '/features/faulty/env/dev', { enabled: true }, '"1"')).statusCode === 412) refused++
  }
  t.equal(refused, 10, 'ten changes refused')

  const audit = await eventually(async () => {
    const page = await ctx.app.audit.list('faulty', { order: 'asc', limit: 100 })
    return page.items.length >= 11 ? page.items : undefined
  }, { what: 'the eleven audit records' })
  t.equal(audit.length, 11, 'one audit record per committed change, none for a refused one')
  const expected = new Map(audit.map((a) => [webhookIdOf(sub.id, a.eventId), a.eventId]))

  await driveRetries(ctx, sub.id, async () => new Set(receiver.received.map((r) => r.id)).size >= expected.size)
  const delivered = new Set(receiver.received.map((r) => r.id))
  t.same([...delivered].sort(), [...expected.keys()].sort(), 'each committed change delivered; nothing else')
  for (const r of receiver.received) {
    t.equal((r.payload as { data: { eventId: string } }).data.eventId, expected.get(r.id), `${r.id} carries its event`)
    t.same(r.signedWith, [sub.secret], `${r.id} signed`)
  }
  t.ok(receiver.attempts.every((a) => expected.has(a.id)), 'every attempt, failed or not, carried the webhook-id of one committed change')
  const failedAttempts = receiver.attempts.filter((a) => a.mode !== 'ok')
  t.equal(failedAttempts.length, 30, 'all 30 faults were met')
  for (const [id] of expected) {
    const tries = receiver.attempts.filter((a) => a.id === id)
    t.ok(tries.length >= 1 && tries.at(-1)!.mode === 'ok', `${id}: ${tries.map((x) => x.mode).join(' → ')}`)
  }
  // The receiver has answered the last attempt; the worker records it once that answer reaches it.
  const list = await eventually(async () => {
    const page = await ctx.hooks.webhooks.deliveries.list(sub.id, { limit: 100 })
    return page.items.length === expected.size && page.items.every((d) => d.status === 'delivered') ? page : undefined
  }, { what: 'every delivery recorded as delivered' })
  t.equal(list.items.length, expected.size, 'all delivered')
  const errors = new Set(list.items.flatMap((d) => d.history.map((h) => h.error ?? String(h.statusCode))))
  t.ok([...errors].some((e) => /ECONNRESET|socket hang up|EPIPE/.test(e)), `dropped connections recorded (${[...errors].join(', ')})`)
  t.ok(errors.has('HTTP 500'), '500s recorded')
  t.ok(errors.has('timed out after 1000 ms'), 'timeouts recorded')
})

t.test('the process dies between fan-out and delivery: the wake-ups are lost, the sweeper delivers', async (t) => {
  const ctx = await buildWithWebhooks(t, { run: false })
  const receiver = await startReceiver(t)
  const sub = await ctx.subscribe({ url: receiver.url, filter: { flags: ['orphan'] } })
  receiver.secrets.push(sub.secret)
  // Only the audit consumer (with its fan-out) runs: the deliverer "died" with its queue.
  const { startSqsPoller } = await import('../../src/local/workers.js')
  const consumer = startSqsPoller({ sqs: ctx.hooks.sqs, queueUrl: ctx.stack.queueUrl, handler: ctx.hooks.consume, waitTimeSeconds: 1 })
  t.equal((await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: ctx.admin }, payload: { name: 'orphan', environments: { dev: true } } })).statusCode, 201)
  const pending = await eventually(async () => {
    const page = await ctx.hooks.webhooks.deliveries.list(sub.id, { limit: 10 })
    return page.items.length === 1 ? page.items[0] : undefined
  }, { what: 'the delivery item written by the fan-out' })
  await consumer.close()
  t.equal(pending.status, 'pending')
  await ctx.hooks.sqs.send(new PurgeQueueCommand({ QueueUrl: ctx.stack.webhookQueueUrl }))

  // A new life of the workers; nothing is on the queue for this delivery until the sweep.
  startWebhookWorkers(t, ctx, ctx.hooks)
  await ctx.hooks.maintain()
  await eventually(async () => receiver.received.length === 1, { what: 'the swept delivery' })
  t.equal(receiver.received[0].id, pending.webhookId)
  t.same(receiver.received[0].verifiedWith, [sub.secret])
})

t.test('the process dies during an attempt: its lease expires and the delivery is made once', async (t) => {
  const ctx = await buildWithWebhooks(t, { run: false })
  const receiver = await startReceiver(t)
  const sub = await ctx.subscribe({ url: receiver.url })
  receiver.secrets.push(sub.secret)
  const event = { eventId: '0190d6a4-4444-7000-8000-000000000001', subject: 'x', feature: 'x', action: 'FEATURE_UPDATED' as const, actor: 'a', timestamp: new Date(ctx.clock.now()).toISOString(), before: null, after: null }
  const { deliveries } = ctx.hooks.webhooks
  await deliveries.createIfAbsent(sub.id, event, ctx.clock.now())
  // A worker leased it and died before recording anything.
  t.ok(await deliveries.lease(sub.id, event.eventId, ctx.clock.now(), ctx.clock.now() + 62_000))
  const worker = ctx.hooks.webhooks.worker!
  t.equal(await worker.attempt({ subscriptionId: sub.id, eventId: event.eventId }), 'busy', 'no second attempt while the lease holds')
  t.equal(receiver.attempts.length, 0)
  ctx.clock.advance(62_001)
  t.equal(await worker.attempt({ subscriptionId: sub.id, eventId: event.eventId }), 'delivered', 'after the lease, one attempt')
  t.equal(await worker.attempt({ subscriptionId: sub.id, eventId: event.eventId }), 'done', 'and not again')
  t.equal(receiver.received.length, 1)
  t.equal(receiver.received[0].id, webhookIdOf(sub.id, event.eventId))
})
