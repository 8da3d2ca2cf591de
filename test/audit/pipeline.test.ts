// The audit pipeline of DESIGN.md §4: outbox in the same transaction, publish after commit,
// idempotent consumer, poison messages to the DLQ, sweeper healing a failed send.
import t from 'tap'
import { ReceiveMessageCommand, SendMessageCommand, SQSClient, GetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs'
import { build, eventually, startStack, ADMIN } from '../helper.js'
import { startSqsPoller } from '../../src/local/workers.js'
import type { SqsEvent } from '../../src/audit/consumer.js'
import type { AuditRecord } from '../../src/repositories/audit-repository.js'

function sqsEvent (messages: Message[]): SqsEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: (m.Attributes ?? {}) as Record<string, string>
    }))
  }
}

t.test('every change yields exactly one record; a redelivery writes none', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  const send = (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers: { authorization: admin, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) })

  await t.test('the same SQS message delivered twice writes one record', async (t) => {
    t.equal((await send('POST', '/features', { name: 'twice', environments: { dev: true } })).statusCode, 201)
    // No consumer runs yet: take the event off the queue as Lambda's event source would.
    const message = await eventually(async () => {
      const res = await ctx.workers.sqs.send(new ReceiveMessageCommand({ QueueUrl: ctx.stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }))
      return (res.Messages ?? []).find((m) => (JSON.parse(m.Body ?? '{}') as { subject?: string }).subject === 'twice')
    }, { what: 'the published event on the queue' })
    const event = sqsEvent([message])
    t.same(await ctx.workers.consume(event), { batchItemFailures: [] }, 'first delivery')
    t.same(await ctx.workers.consume(event), { batchItemFailures: [] }, 'second delivery is not a failure')
    const page = await app.audit.list('twice', { order: 'asc', limit: 10 })
    t.equal(page.items.length, 1, 'one record')
    t.equal(page.items[0].eventId, JSON.parse(message.Body!).eventId)
    const outboxLeft = (await app.audit.listOutbox(Number.MAX_SAFE_INTEGER)).filter((e) => e.subject === 'twice')
    t.same(outboxLeft, [], 'the consumer removed the outbox item')
  })

  await t.test('create, put env, delete env, delete feature, role change, environment registration', async (t) => {
    ctx.startConsumer()
    await ctx.loginAs('CLIENT', 'pipeline-user@example.com')
    const steps: Array<[string, number]> = [
      [(await send('POST', '/features', { name: 'piped', environments: { dev: true, qa: false } })).statusCode + ' create', 201],
      [(await send('PUT', '/features/piped/env/prod', { enabled: true })).statusCode + ' put env', 200],
      [(await send('DELETE', '/features/piped/env/qa', undefined, { 'if-match': '"2"' })).statusCode + ' delete env', 204],
      [(await send('DELETE', '/features/piped', undefined, { 'if-match': '"3"' })).statusCode + ' delete feature', 204],
      [(await send('PUT', '/users/pipeline-user%40example.com/role', { role: 'ADMIN' })).statusCode + ' role', 200],
      [(await send('POST', '/environments', { name: 'pipeline-env' })).statusCode + ' env registration', 201]
    ]
    for (const [got, want] of steps) t.equal(Number(got.split(' ')[0]), want, got)
    // Failed changes must not be audited.
    t.equal((await send('DELETE', '/features/piped', undefined, { 'if-match': '*' })).statusCode, 404)
    t.equal((await send('POST', '/environments', { name: 'pipeline-env' })).statusCode, 409)

    const expected: Record<string, string[]> = {
      piped: ['FEATURE_CREATED', 'ENVIRONMENT_UPDATED', 'ENVIRONMENT_DELETED', 'FEATURE_DELETED'],
      'user:pipeline-user@example.com': ['USER_SIGNED_UP', 'USER_ROLE_CHANGED'],
      'environment:pipeline-env': ['ENVIRONMENT_REGISTERED'],
      [`user:${ADMIN.email}`]: ['USER_SIGNED_UP']
    }
    const lists = async () => Object.fromEntries(await Promise.all(Object.keys(expected).map(async (s) =>
      [s, (await app.audit.list(s, { order: 'asc', limit: 100 })).items] as const)))
    const found = await eventually(async () => {
      if (await app.audit.countOutbox() !== 0) return undefined
      const all = await lists()
      return Object.entries(expected).every(([s, actions]) => all[s].length >= actions.length) ? all : undefined
    }, { what: 'every record, and an empty outbox' })
    for (const [subject, actions] of Object.entries(expected)) {
      t.same(found[subject].map((r: AuditRecord) => r.action), actions, `${subject}: one record per change, in order`)
    }
    t.match(found.piped[1], { environment: 'prod', before: null, after: { enabled: true } })
    t.match(found.piped[3], { before: { name: 'piped', environments: { dev: {}, prod: {} } }, after: null })
    t.equal(new Set(Object.values(found).flat().map((r) => r.eventId)).size, Object.values(expected).flat().length, 'distinct events')
  })
})

t.test('an unparseable message reaches the DLQ after the redrive count without holding up the others', async (t) => {
  const stack = await startStack(t, { visibilityTimeoutSeconds: 1 })
  const ctx = await build(t, { stack })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  const sqs = ctx.workers.sqs
  await sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: 'this is not JSON' }))
  await sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: JSON.stringify({ eventId: 'x', action: 'NOT_AN_ACTION' }) }))
  for (const name of ['after-poison-1', 'after-poison-2']) {
    t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name, environments: { dev: true } } })).statusCode, 201)
  }
  // The consumer the dev server runs (SQS poller → Lambda handler), counting what it is handed.
  const deliveries = new Map<string, number>()
  const poller = startSqsPoller({
    sqs,
    queueUrl: stack.queueUrl,
    waitTimeSeconds: 1,
    handler: async (event) => {
      for (const r of event.Records) deliveries.set(r.body, (deliveries.get(r.body) ?? 0) + 1)
      return await ctx.workers.consume(event)
    }
  })
  t.teardown(() => poller.close())

  await eventually(async () => {
    const a = await app.audit.list('after-poison-1', { order: 'asc', limit: 10 })
    const b = await app.audit.list('after-poison-2', { order: 'asc', limit: 10 })
    return a.items.length === 1 && b.items.length === 1
  }, { what: 'the good events persisted' })
  const dlqWhenGoodDone = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))
  t.equal(dlqWhenGoodDone.Attributes?.ApproximateNumberOfMessages, '0', 'good events were persisted while the poison was still being retried')

  const dead: Message[] = []
  await eventually(async () => {
    const res = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }))
    dead.push(...(res.Messages ?? []))
    return dead.length >= 2
  }, { what: 'both poison messages in the DLQ', timeoutMs: 30_000, intervalMs: 250 })
  t.same(dead.map((m) => m.Body).sort(), ['this is not JSON', '{"eventId":"x","action":"NOT_AN_ACTION"}'])
  t.equal(deliveries.get('this is not JSON'), 5, 'handed to the consumer 5 times (the redrive count), then dead-lettered')
  t.equal(deliveries.get('{"eventId":"x","action":"NOT_AN_ACTION"}'), 5)
  const main = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
  t.same(main.Attributes, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' }, 'the audit queue is empty')
  t.equal((await app.audit.list('after-poison-1', { order: 'asc', limit: 10 })).items.length, 1, 'still exactly one record')
})

t.test('a failed send after commit is healed by the sweeper', async (t) => {
  const stack = await startStack(t)
  // The queue is down for the app: every SendMessageBatch fails after the commit.
  const brokenSqs = new SQSClient({ endpoint: stack.sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
  let refused = 0
  brokenSqs.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'SendMessageBatchCommand') {
      refused++
      throw Object.assign(new Error('simulated SQS outage'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
    }
    return await next(args)
  }, { step: 'initialize', name: 'simulateOutage' })
  t.teardown(() => brokenSqs.destroy())
  const ctx = await build(t, { stack, app: { sqs: brokenSqs }, env: { OUTBOX_SWEEP_AGE_MS: '0' } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')

  const res = await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'healed', environments: { dev: true } } })
  t.equal(res.statusCode, 201, 'the change is committed even though the queue refused the event')
  t.ok(refused > 0, 'the publisher tried and failed')
  const pending = (await app.audit.listOutbox(Number.MAX_SAFE_INTEGER)).filter((e) => e.subject === 'healed')
  t.equal(pending.length, 1, 'the event waits in the outbox')
  t.same((await app.audit.list('healed', { order: 'asc', limit: 10 })).items, [], 'no record yet')

  const swept = await ctx.workers.sweep()
  t.ok(swept.sent >= 1, `the sweeper re-sent it (${JSON.stringify(swept)})`)
  ctx.startConsumer()
  const records = await eventually(async () => {
    if (await app.audit.countOutbox() !== 0) return undefined
    const page = await app.audit.list('healed', { order: 'asc', limit: 10 })
    return page.items.length > 0 ? page.items : undefined
  }, { what: 'the healed record and an empty outbox' })
  t.equal(records.length, 1, 'exactly one record')
  t.match(records[0], { action: 'FEATURE_CREATED', eventId: pending[0].eventId, actor: ADMIN.email })
  t.same(await ctx.workers.sweep(), { found: 0, sent: 0 }, 'nothing left to sweep')
})
