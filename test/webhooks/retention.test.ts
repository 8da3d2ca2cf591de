// Delivery records expire: every write of a delivery sets the table's TTL attribute (expiresAt,
// epoch seconds) to 30 days after that write, on the clock of whoever wrote it. dynalite does not
// expire items, so these tests check the value written, not that DynamoDB deletes it.
import t from 'tap'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { eventually, startStack, testEnv } from '../helper.js'
import { createDocumentClient } from '../../src/aws.js'
import { createWebhookDeliveryRepository, RETENTION_DAYS } from '../../src/repositories/webhook-delivery-repository.js'
import { TTL_ATTRIBUTE, webhookDeliveryKey } from '../../src/repositories/keys.js'
import { TEST_EVENT_TYPE, type DeliverableEvent } from '../../src/domain/webhooks.js'
import { buildWithWebhooks, startReceiver } from './support.js'

const DAY_S = 86_400
/** The expiry a write at `ms` must carry. */
const expiryAt = (ms: number) => Math.floor(ms / 1000) + 30 * DAY_S

t.test('every write of a delivery moves its expiry to 30 days after that write', async (t) => {
  t.equal(RETENTION_DAYS, 30, 'the documented retention (docs/WEBHOOKS.md)')
  const stack = await startStack(t)
  const tableName = testEnv(stack).TABLE_NAME
  const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: stack.dynamoEndpoint })
  t.teardown(() => doc.destroy())
  const deliveries = createWebhookDeliveryRepository({ doc, tableName })
  const raw = async (sub: string, eventId: string) => (await doc.send(new GetCommand({ TableName: tableName, Key: webhookDeliveryKey(sub, eventId), ConsistentRead: true }))).Item!
  const event = (eventId: string): DeliverableEvent => ({ eventId, subject: 'webhook:wh_retention', action: TEST_EVENT_TYPE, actor: 'admin@example.com', timestamp: '2026-12-01T10:00:00.000Z', before: null, after: null })
  const attempt = async (sub: string, eventId: string, at: number, outcome: Parameters<typeof deliveries.recordAttempt>[2]) => {
    const lease = await deliveries.lease(sub, eventId, at, at + 70_000)
    t.ok(lease, `leased at ${new Date(at).toISOString()}`)
    t.ok(await deliveries.recordAttempt(lease!, { at: new Date(at).toISOString(), statusCode: 500, latencyMs: 3 }, outcome))
  }

  // A creation time with milliseconds: the expiry is whole seconds, rounded down.
  const created = Date.parse('2026-12-01T10:00:00.750Z')
  t.equal(await deliveries.createIfAbsent('wh_retention', event('e1'), created), 'created')
  t.equal((await raw('wh_retention', 'e1'))[TTL_ATTRIBUTE], Date.parse('2026-12-31T10:00:00.000Z') / 1000, 'created: 30 days after creation, in epoch seconds')

  const retried = created + 60_000
  await attempt('wh_retention', 'e1', retried, { status: 'pending', nextAttemptAt: retried + 10_000 })
  t.equal((await raw('wh_retention', 'e1'))[TTL_ATTRIBUTE], expiryAt(retried), 'a failed attempt with a retry: from the attempt')

  const deadLettered = created + 25 * 3_600_000
  await attempt('wh_retention', 'e1', deadLettered, { status: 'failed' })
  t.equal((await raw('wh_retention', 'e1'))[TTL_ATTRIBUTE], expiryAt(deadLettered), 'dead-lettered: from the last attempt')

  const replayed = deadLettered + 20 * DAY_S * 1000
  t.equal(await deliveries.replay('wh_retention', 'e1', replayed), 'replayed')
  t.equal((await raw('wh_retention', 'e1'))[TTL_ATTRIBUTE], expiryAt(replayed), 'replayed on day 21: 30 days from the replay, so the new retry window is never cut short')

  const cancelled = replayed + 5_000
  await deliveries.cancel('wh_retention', 'e1', 'subscription paused', cancelled)
  t.equal((await raw('wh_retention', 'e1'))[TTL_ATTRIBUTE], expiryAt(cancelled), 'cancelled: from the cancellation')

  t.equal(await deliveries.createIfAbsent('wh_retention', event('e2'), created), 'created')
  const delivered = created + 1_000
  await attempt('wh_retention', 'e2', delivered, { status: 'delivered' })
  t.equal((await raw('wh_retention', 'e2'))[TTL_ATTRIBUTE], expiryAt(delivered), 'delivered: from the delivery')

  const listed = await deliveries.list('wh_retention', { limit: 10 })
  t.equal(listed.items.length, 2)
  for (const d of listed.items) t.notOk(TTL_ATTRIBUTE in d, 'the API does not show it')
})

t.test('through the delivery worker: the expiry follows the worker\'s clock', async (t) => {
  const ctx = await buildWithWebhooks(t)
  const receiver = await startReceiver(t)
  const sub = await ctx.subscribe({ url: receiver.url })
  // Three days ahead of the real time: an expiry computed from Date.now() would be 27 days out.
  ctx.clock.advance(3 * DAY_S * 1000)
  const res = await ctx.app.inject({ method: 'POST', url: `/webhooks/${sub.id}/test`, headers: { authorization: ctx.admin } })
  t.equal(res.statusCode, 202, res.body)
  const eventId = (res.json() as { eventId: string }).eventId
  const done = await eventually(async () => {
    const d = await ctx.app.webhooks.deliveries.get(sub.id, eventId)
    return d?.status === 'delivered' ? d : undefined
  }, { what: 'the test event delivered' })
  const item = (await ctx.app.store.doc.send(new GetCommand({ TableName: ctx.app.store.tableName, Key: webhookDeliveryKey(sub.id, eventId), ConsistentRead: true }))).Item!
  t.equal(item[TTL_ATTRIBUTE], expiryAt(Date.parse(done.deliveredAt!)), '30 days after the delivery, on the worker\'s clock')
  t.ok(Number(item[TTL_ATTRIBUTE]) >= Math.floor(Date.now() / 1000) + 32 * DAY_S, 'the moved clock, not the real one')
})
