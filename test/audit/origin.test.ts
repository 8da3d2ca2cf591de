// Which request made a change: each audit record read back through the API names the
// X-Request-Id the change was answered with and the client's X-Correlation-Id, through the real
// pipeline (outbox → local SQS → consumer). Workers' changes name no request; records written
// before these fields existed still read; a browser may send and read the ids (CORS).
import t, { type Test } from 'tap'
import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs'
import { build, eventually, type TestContext } from '../helper.js'
import { createWorkers } from '../../src/workers/runtime.js'
import { loadConfig } from '../../src/config.js'
import { buildAuditEvent, SCHEDULER_ACTOR } from '../../src/domain/audit.js'
import type { SqsEvent } from '../../src/audit/consumer.js'

const HOUR = 3_600_000

interface Rec { eventId: string; action: string; actor: string; requestId?: string; correlationId?: string; environment?: string; before: unknown; after: unknown }

function asSqsEvent (messages: Message[]): SqsEvent {
  return { Records: messages.map((m) => ({ messageId: m.MessageId ?? '', body: m.Body ?? '' })) }
}

t.test('audit records name the request that made the change', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  const send = (method: 'POST' | 'PUT', url: string, payload: object, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers: { authorization: admin, ...headers }, payload })
  const auditOf = async (url: string, count: number): Promise<Rec[]> => await eventually(async () => {
    const res = await app.inject({ url, headers: { authorization: admin } })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const items = res.json().items as Rec[]
    return items.length >= count ? items : undefined
  }, { what: `${count} audit records at ${url}` })

  // First, while no consumer runs: take the event off the queue and deliver it twice by hand.
  await t.test('a redelivered event still makes one record, ids included', async (t) => {
    const created = await send('POST', '/features', { name: 'dedup', environments: { dev: true } }, { 'x-correlation-id': 'dup-1' })
    t.equal(created.statusCode, 201, created.body)
    const message = await eventually(async () => {
      const res = await ctx.workers.sqs.send(new ReceiveMessageCommand({ QueueUrl: ctx.stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
      return (res.Messages ?? []).find((m) => (JSON.parse(m.Body ?? '{}') as { subject?: string }).subject === 'dedup')
    }, { what: 'the published event on the queue' })
    t.same(await ctx.workers.consume(asSqsEvent([message])), { batchItemFailures: [] }, 'first delivery')
    t.same(await ctx.workers.consume(asSqsEvent([message])), { batchItemFailures: [] }, 'second delivery is no failure')
    const records = await auditOf('/features/dedup/audit', 1)
    t.equal(records.length, 1, 'one record')
    t.match(records[0], { action: 'FEATURE_CREATED', requestId: created.headers['x-request-id'], correlationId: 'dup-1' })
  })

  ctx.startConsumer()

  await t.test('PUT with X-Correlation-Id: the record has the response\'s X-Request-Id and the correlation id', async (t) => {
    const created = await send('POST', '/features', { name: 'checkout', environments: { dev: false } })
    t.equal(created.statusCode, 201, created.body)
    const put = await send('PUT', '/features/checkout/env/dev', { enabled: true }, { 'if-match': '"1"', 'x-correlation-id': 'abc' })
    t.equal(put.statusCode, 200, put.body)
    t.equal(put.headers['x-correlation-id'], 'abc', 'the response echoes the correlation id')
    const legacy = await send('PUT', '/features/checkout/env/dev', { enabled: false }, { 'if-match': '"2"', 'x-request-id': 'client-chosen-7' })
    t.equal(legacy.statusCode, 200, legacy.body)

    const records = await auditOf('/features/checkout/audit', 3)
    t.same(records.map((r) => r.action), ['FEATURE_CREATED', 'ENVIRONMENT_UPDATED', 'ENVIRONMENT_UPDATED'])
    t.equal(records[0].requestId, created.headers['x-request-id'], 'the create names its request')
    t.notOk('correlationId' in records[0], 'no correlation id when the client sent none')
    t.match(records[1], { environment: 'dev', requestId: put.headers['x-request-id'], correlationId: 'abc', after: { enabled: true } })
    t.match(records[2], { requestId: legacy.headers['x-request-id'], correlationId: 'client-chosen-7' }, "a client's own X-Request-Id is kept as its correlation id, never as the request id")
    t.not(records[2].requestId, 'client-chosen-7')
  })

  await t.test('an API key\'s audit listing names the request too', async (t) => {
    const created = await send('POST', '/api-keys', { name: 'checkout-service', environment: 'dev' }, { 'x-correlation-id': 'deploy-42' })
    t.equal(created.statusCode, 201, created.body)
    const records = await auditOf(`/api-keys/${created.json().id as string}/audit`, 1)
    t.match(records[0], { action: 'API_KEY_CREATED', requestId: created.headers['x-request-id'], correlationId: 'deploy-42' })
  })

  await t.test('a scheduled change is recorded as the scheduler\'s, with no request', async (t) => {
    const enableAt = new Date(Date.now() + HOUR).toISOString()
    const scheduled = await send('POST', '/features', { name: 'launch', environments: { dev: { enabled: false, enableAt } } }, { 'x-correlation-id': 'plan-launch' })
    t.equal(scheduled.statusCode, 201, scheduled.body)
    // The maintenance worker, on a clock two hours ahead: the change is due.
    const later = createWorkers({ config: loadConfig(ctx.env), log: app.log, now: () => Date.now() + 2 * HOUR })
    t.teardown(() => later.destroy())
    t.same(await later.schedule(), { applied: 1, failed: 0 })

    const records = await auditOf('/features/launch/audit', 2)
    t.match(records[0], { action: 'FEATURE_CREATED', requestId: scheduled.headers['x-request-id'], correlationId: 'plan-launch' }, 'the request that scheduled it is on the record before')
    t.match(records[1], { action: 'ENVIRONMENT_UPDATED', environment: 'dev', actor: SCHEDULER_ACTOR, after: { enabled: true } })
    t.notOk('requestId' in records[1], 'no request made the scheduler\'s change')
    t.notOk('correlationId' in records[1])
  })

  await t.test('a record written before the ids existed reads as before', async (t) => {
    await consumeOld(ctx, t)
    const res = await app.inject({ url: '/features/legacy-flag/audit', headers: { authorization: admin } })
    t.equal(res.statusCode, 200, res.body)
    const [record] = res.json().items as Rec[]
    t.match(record, { action: 'ENVIRONMENT_UPDATED', actor: 'old@example.com', environment: 'prod', before: { enabled: false }, after: { enabled: true } })
    t.notOk('requestId' in record)
    t.notOk('correlationId' in record)
  })

  await t.test('CORS: a browser may send X-Correlation-Id and read both ids', async (t) => {
    const origin = 'https://console.example'
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/features/checkout/env/dev',
      headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, content-type, if-match, x-correlation-id' }
    })
    t.equal(preflight.statusCode, 204)
    t.match(String(preflight.headers['access-control-allow-headers']).toLowerCase(), /(^|, ?)x-correlation-id(,|$)/, 'the preflight allows X-Correlation-Id')
    const res = await app.inject({ url: '/features/checkout', headers: { authorization: admin, origin, 'x-correlation-id': 'browser-1' } })
    t.equal(res.statusCode, 200)
    const exposed = String(res.headers['access-control-expose-headers']).toLowerCase().split(/, ?/)
    t.ok(exposed.includes('x-request-id') && exposed.includes('x-correlation-id'), `both ids readable by the page (${exposed.join(', ')})`)
    t.equal(res.headers['x-correlation-id'], 'browser-1')
  })
})

/** Deliver an event shaped as the write path built them before requestId/correlationId existed. */
async function consumeOld (ctx: TestContext, t: Test) {
  let n = 0
  const old = buildAuditEvent({ subject: 'legacy-flag', feature: 'legacy-flag', environment: 'prod', action: 'ENVIRONMENT_UPDATED', actor: 'old@example.com', before: { enabled: false }, after: { enabled: true } },
    { eventId: () => `0190c0de-0000-7000-8000-00000000000${n++}` }, Date.now)
  t.notOk('requestId' in old || 'correlationId' in old, 'the old event has neither field')
  t.same(await ctx.workers.consume({ Records: [{ messageId: 'old-1', body: JSON.stringify(old) }] }), { batchItemFailures: [] }, 'the consumer accepts it')
}
