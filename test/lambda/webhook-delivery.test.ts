// WebhookDeliveryFunction, imported as Lambda imports it (configuration from process.env at module
// load) and invoked with SQS event documents in the shape of test/fixtures/events/sqs-record.json,
// against the local engines and a real receiver on loopback that verifies the signatures.
import t from 'tap'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { startStack, testEnv } from '../helper.js'
import { createDocumentClient } from '../../src/aws.js'
import { createStore } from '../../src/repositories/store.js'
import { createWebhookRepository } from '../../src/repositories/webhook-repository.js'
import { createWebhookDeliveryRepository } from '../../src/repositories/webhook-delivery-repository.js'
import { buildAuditEvent } from '../../src/domain/audit.js'
import { webhookIdOf } from '../../src/domain/webhooks.js'
import { sqsEvent, withProcessEnv } from './events.js'
import { startReceiver } from '../webhooks/support.js'

const stack = await startStack(t)
const { JWT_SECRET: _jwt, ADMIN_EMAIL: _e, ADMIN_PASSWORD: _p, ...workerEnv } = testEnv(stack, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_TIMEOUT_MS: '2000' })
const fn = await withProcessEnv(workerEnv, () => import('../../src/lambda/webhook-delivery.js'))
t.teardown(() => fn.workers.destroy())

const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: stack.dynamoEndpoint })
t.teardown(() => doc.destroy())
let id = 0
const store = createStore({ doc, tableName: workerEnv.TABLE_NAME, now: Date.now, ids: { eventId: () => `0190d6a4-3333-7000-8000-${String(++id).padStart(12, '0')}` } })
const subscriptions = createWebhookRepository(store)
const deliveries = createWebhookDeliveryRepository(store)

t.test('a wake-up from the queue becomes one signed POST; a failure is recorded and rescheduled', async (t) => {
  const receiver = await startReceiver(t)
  const { subscription, secret } = await subscriptions.create({ url: receiver.url }, { actor: 'admin@example.com' })
  receiver.secrets.push(secret)
  const event = buildAuditEvent({ subject: 'lambda-hook', feature: 'lambda-hook', environment: 'prod', action: 'ENVIRONMENT_UPDATED', actor: 'admin@example.com', before: { enabled: false }, after: { enabled: true } }, store.ids, Date.now)
  t.equal(await deliveries.createIfAbsent(subscription.id, event, Date.now()), 'created')

  const batch = sqsEvent([JSON.stringify({ subscriptionId: subscription.id, eventId: event.eventId }), 'not a wake-up'])
  t.equal(batch.Records[0].eventSource, 'aws:sqs')
  t.same(await fn.handler(batch), { batchItemFailures: [] }, 'a malformed wake-up is dropped, not retried into the DLQ')
  t.equal(receiver.received.length, 1)
  t.same(receiver.received[0].verifiedWith, [secret], 'verified by the standardwebhooks package')
  t.equal(receiver.received[0].id, webhookIdOf(subscription.id, event.eventId))
  t.match(receiver.received[0].payload, { type: 'ENVIRONMENT_UPDATED', data: { eventId: event.eventId, feature: 'lambda-hook', environment: 'prod', after: { enabled: true } } })
  t.match(await deliveries.get(subscription.id, event.eventId), { status: 'delivered', attempts: 1, history: [{ statusCode: 204 }] })

  // The same wake-up again (SQS delivers at least once): nothing is sent twice.
  t.same(await fn.handler(batch), { batchItemFailures: [] })
  t.equal(receiver.received.length, 1, 'a delivered delivery is not attempted again')

  // A 500: recorded, rescheduled with a delayed wake-up on the delivery queue, same webhook-id.
  receiver.mode = 'fail500'
  const second = buildAuditEvent({ subject: 'lambda-hook', feature: 'lambda-hook', action: 'FEATURE_UPDATED', actor: 'admin@example.com', before: null, after: null }, store.ids, Date.now)
  await deliveries.createIfAbsent(subscription.id, second, Date.now())
  const before = Date.now()
  t.same(await fn.handler(sqsEvent([JSON.stringify({ subscriptionId: subscription.id, eventId: second.eventId })])), { batchItemFailures: [] })
  const pending = await deliveries.get(subscription.id, second.eventId)
  t.match(pending, { status: 'pending', attempts: 1, history: [{ statusCode: 500, error: 'HTTP 500' }] })
  const next = Date.parse(pending!.nextAttemptAt!)
  t.ok(next >= before + 5_000 && next <= Date.now() + 10_000, `first retry 5-10 s later (${next - before} ms)`)
  const queued = await fn.workers.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.webhookQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
  t.same(queued.Messages ?? [], [], 'the retry wake-up is delayed, not visible yet')
})
