// Webhook deliveries: one item per (subscription, event) under `WEBHOOK#{subscriptionId}`, written
// with a conditional put so a fan-out repeated for the same event (the audit queue delivers at
// least once) creates nothing new. The item is the delivery's state machine:
//   pending --2xx--> delivered
//   pending --failure--> pending (nextAttemptAt pushed back) … --retry window over--> failed
//   pending --subscription paused or deleted--> cancelled
//   failed | cancelled --replay--> pending
// Queue messages only wake a delivery up; an attempt first takes a lease on the item (conditional
// update), so duplicate or early wake-ups never make two attempts at once. A pending item also has
// a GSI1 entry ordered by its next attempt, which the sweeper queries to wake up what is due.
//
// Every write of a delivery sets its TTL attribute to RETENTION_DAYS after that write, so the
// history of a subscription does not grow forever (one item per event it matched) and a delivery
// is never deleted while it is still being retried: its retry window (24 h) is far shorter.
import { randomUUID } from 'node:crypto'
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { dueBy, TTL_ATTRIBUTE, webhookDeliveryKey, webhookDeliveryPartition, webhookDueIndexKeys, webhookDuePartition } from './keys.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { MAX_PAGE_READS } from './list-page.js'
import { webhookIdOf, type DeliverableEvent } from '../domain/webhooks.js'

export type DeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled'

export interface Attempt { at: string; statusCode?: number; error?: string; latencyMs: number }

export interface Delivery {
  subscriptionId: string
  eventId: string
  webhookId: string
  action: string
  status: DeliveryStatus
  createdAt: string
  attempts: number
  /** The latest attempts, newest last (at most HISTORY_LIMIT). */
  history: Attempt[]
  nextAttemptAt?: string
  deliveredAt?: string
  failedAt?: string
  cancelReason?: string
}

export interface DeliveryRecord extends Delivery {
  event: DeliverableEvent
  /** Start of the retry window (creation, or the last replay), ms. */
  windowStart: number
}

export const HISTORY_LIMIT = 20

/** Days a delivery is kept after its last change (creation, attempt, cancellation, replay). */
export const RETENTION_DAYS = 30

/** The TTL value (epoch seconds) of a delivery written at `at` (ms). */
export function deliveryExpiry (at: number): number {
  return Math.floor(at / 1000) + RETENTION_DAYS * 86_400
}

function toDelivery (i: Record<string, unknown>): DeliveryRecord {
  const d: DeliveryRecord = {
    subscriptionId: String(i.subscriptionId),
    eventId: String(i.eventId),
    webhookId: String(i.webhookId),
    action: String((i.event as DeliverableEvent).action),
    status: i.status as DeliveryStatus,
    createdAt: String(i.createdAt),
    attempts: Number(i.attempts ?? 0),
    history: (i.history ?? []) as Attempt[],
    event: i.event as DeliverableEvent,
    windowStart: Number(i.windowStart)
  }
  if (i.status === 'pending' && typeof i.nextAttemptAt === 'number') d.nextAttemptAt = new Date(i.nextAttemptAt).toISOString()
  for (const k of ['deliveredAt', 'failedAt', 'cancelReason'] as const) if (typeof i[k] === 'string') d[k] = i[k]
  return d
}

export function publicDelivery (r: DeliveryRecord): Delivery {
  const { event: _e, windowStart: _w, ...rest } = r
  return rest
}

const conditionFailed = (err: unknown) => (err as Error).name === 'ConditionalCheckFailedException'

export interface Lease { token: string; record: DeliveryRecord }

export type AttemptOutcome =
  | { status: 'delivered' }
  | { status: 'pending'; nextAttemptAt: number }
  | { status: 'failed' }

export function createWebhookDeliveryRepository ({ doc, tableName }: { doc: DynamoDBDocumentClient; tableName: string }) {
  return {
    /** Idempotent: 'created', or the status of the delivery that already exists. */
    async createIfAbsent (subscriptionId: string, event: DeliverableEvent, at: number): Promise<'created' | DeliveryStatus> {
      try {
        await doc.send(new PutCommand({
          TableName: tableName,
          Item: {
            ...webhookDeliveryKey(subscriptionId, event.eventId),
            ...webhookDueIndexKeys(at, subscriptionId, event.eventId),
            entity: 'WebhookDelivery',
            subscriptionId,
            eventId: event.eventId,
            webhookId: webhookIdOf(subscriptionId, event.eventId),
            event,
            status: 'pending',
            createdAt: new Date(at).toISOString(),
            windowStart: at,
            nextAttemptAt: at,
            attempts: 0,
            history: [],
            [TTL_ATTRIBUTE]: deliveryExpiry(at)
          },
          ConditionExpression: 'attribute_not_exists(PK)'
        }))
        return 'created'
      } catch (err) {
        if (!conditionFailed(err)) throw err
        return (await this.get(subscriptionId, event.eventId))?.status ?? 'pending'
      }
    },

    async get (subscriptionId: string, eventId: string): Promise<DeliveryRecord | undefined> {
      const res = await doc.send(new GetCommand({ TableName: tableName, Key: webhookDeliveryKey(subscriptionId, eventId), ConsistentRead: true }))
      return res.Item !== undefined ? toDelivery(res.Item) : undefined
    },

    /**
     * Newest first (event ids are UUIDv7, so the sort key orders by time). With a status filter,
     * DynamoDB applies Limit before the filter, so a long history could take many reads to fill a
     * page: one request reads at most MAX_PAGE_READS pages and then answers what it found, with the
     * cursor to go on from (a page may then hold fewer items than `limit`, or none).
     */
    async list (subscriptionId: string, opts: { limit: number; cursor?: string; status?: DeliveryStatus }): Promise<{ items: Delivery[]; nextCursor: string | null }> {
      const start = opts.cursor !== undefined ? decodeCursor<string>(opts.cursor, (v) => typeof v === 'string' && v.startsWith('DELIVERY#')) : undefined
      const items: Delivery[] = []
      let ExclusiveStartKey: Record<string, unknown> | undefined = start !== undefined ? { PK: webhookDeliveryPartition(subscriptionId), SK: start } : undefined
      let reads = 0
      do {
        const res = await doc.send(new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :d)',
          ExpressionAttributeValues: { ':pk': webhookDeliveryPartition(subscriptionId), ':d': 'DELIVERY#', ...(opts.status !== undefined ? { ':s': opts.status } : {}) },
          ...(opts.status !== undefined ? { FilterExpression: '#s = :s', ExpressionAttributeNames: { '#s': 'status' } } : {}),
          ScanIndexForward: false,
          Limit: opts.limit - items.length,
          ExclusiveStartKey
        }))
        for (const i of res.Items ?? []) items.push(publicDelivery(toDelivery(i)))
        ExclusiveStartKey = res.LastEvaluatedKey
        reads++
      } while (ExclusiveStartKey !== undefined && items.length < opts.limit && reads < MAX_PAGE_READS)
      return { items, nextCursor: ExclusiveStartKey !== undefined ? encodeCursor(String(ExclusiveStartKey.SK)) : null }
    },

    /**
     * Take the right to make the next attempt until `until`: only a pending delivery that is due
     * and not leased by another attempt. Undefined when someone else has it or it is not due.
     */
    async lease (subscriptionId: string, eventId: string, at: number, until: number): Promise<Lease | undefined> {
      const token = randomUUID()
      try {
        const res = await doc.send(new UpdateCommand({
          TableName: tableName,
          Key: webhookDeliveryKey(subscriptionId, eventId),
          UpdateExpression: 'SET leaseUntil = :until, leaseToken = :t',
          ConditionExpression: '#s = :pending AND nextAttemptAt <= :at AND (attribute_not_exists(leaseUntil) OR leaseUntil < :at)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':until': until, ':t': token, ':pending': 'pending', ':at': at },
          ReturnValues: 'ALL_NEW'
        }))
        return { token, record: toDelivery(res.Attributes ?? {}) }
      } catch (err) {
        if (conditionFailed(err)) return undefined
        throw err
      }
    },

    /** Record an attempt made under `lease` and move the delivery on; false when the lease was lost. */
    async recordAttempt (lease: Lease, attempt: Attempt, outcome: AttemptOutcome): Promise<boolean> {
      const { subscriptionId, eventId } = lease.record
      const history = [...lease.record.history, attempt].slice(-HISTORY_LIMIT)
      const names: Record<string, string> = { '#s': 'status', '#ttl': TTL_ATTRIBUTE }
      const values: Record<string, unknown> = { ':t': lease.token, ':s': outcome.status, ':h': history, ':one': 1, ':ttl': deliveryExpiry(Date.parse(attempt.at)) }
      let update: string
      if (outcome.status === 'pending') {
        update = 'SET #s = :s, history = :h, attempts = attempts + :one, #ttl = :ttl, nextAttemptAt = :next, GSI1PK = :gpk, GSI1SK = :gsk REMOVE leaseUntil, leaseToken'
        const due = webhookDueIndexKeys(outcome.nextAttemptAt, subscriptionId, eventId)
        Object.assign(values, { ':next': outcome.nextAttemptAt, ':gpk': due.GSI1PK, ':gsk': due.GSI1SK })
      } else {
        const field = outcome.status === 'delivered' ? 'deliveredAt' : 'failedAt'
        update = `SET #s = :s, history = :h, attempts = attempts + :one, #ttl = :ttl, ${field} = :when REMOVE leaseUntil, leaseToken, nextAttemptAt, GSI1PK, GSI1SK`
        values[':when'] = attempt.at
      }
      try {
        await doc.send(new UpdateCommand({
          TableName: tableName,
          Key: webhookDeliveryKey(subscriptionId, eventId),
          UpdateExpression: update,
          ConditionExpression: 'leaseToken = :t',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values
        }))
        return true
      } catch (err) {
        if (conditionFailed(err)) return false
        throw err
      }
    },

    /** A pending delivery whose subscription is paused or gone ends here (replayable). */
    async cancel (subscriptionId: string, eventId: string, reason: string, at: number): Promise<void> {
      try {
        await doc.send(new UpdateCommand({
          TableName: tableName,
          Key: webhookDeliveryKey(subscriptionId, eventId),
          UpdateExpression: 'SET #s = :c, cancelReason = :r, failedAt = :at, #ttl = :ttl REMOVE leaseUntil, leaseToken, nextAttemptAt, GSI1PK, GSI1SK',
          ConditionExpression: '#s = :pending',
          ExpressionAttributeNames: { '#s': 'status', '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':c': 'cancelled', ':r': reason, ':at': new Date(at).toISOString(), ':pending': 'pending', ':ttl': deliveryExpiry(at) }
        }))
      } catch (err) {
        if (!conditionFailed(err)) throw err
      }
    },

    /** Send a dead-lettered (or cancelled) delivery again, with a new retry window; same webhook-id. */
    async replay (subscriptionId: string, eventId: string, at: number): Promise<'replayed' | 'missing' | DeliveryStatus> {
      const due = webhookDueIndexKeys(at, subscriptionId, eventId)
      try {
        await doc.send(new UpdateCommand({
          TableName: tableName,
          Key: webhookDeliveryKey(subscriptionId, eventId),
          UpdateExpression: 'SET #s = :pending, windowStart = :at, nextAttemptAt = :at, GSI1PK = :gpk, GSI1SK = :gsk, #ttl = :ttl REMOVE failedAt, cancelReason',
          ConditionExpression: '#s IN (:failed, :cancelled)',
          ExpressionAttributeNames: { '#s': 'status', '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':pending': 'pending', ':at': at, ':gpk': due.GSI1PK, ':gsk': due.GSI1SK, ':failed': 'failed', ':cancelled': 'cancelled', ':ttl': deliveryExpiry(at) }
        }))
        return 'replayed'
      } catch (err) {
        if (!conditionFailed(err)) throw err
        return (await this.get(subscriptionId, eventId))?.status ?? 'missing'
      }
    },

    /** Pending deliveries due by `at`, oldest due first (GSI1, eventually consistent). */
    async listDue (at: number, limit: number): Promise<Array<{ subscriptionId: string; eventId: string }>> {
      const out: Array<{ subscriptionId: string; eventId: string }> = []
      let ExclusiveStartKey: Record<string, unknown> | undefined
      do {
        const res = await doc.send(new QueryCommand({
          TableName: tableName,
          IndexName: 'GSI1',
          KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK <= :until',
          ExpressionAttributeValues: { ':pk': webhookDuePartition, ':until': dueBy(at) },
          Limit: limit - out.length,
          ExclusiveStartKey
        }))
        for (const i of res.Items ?? []) out.push({ subscriptionId: String(i.subscriptionId), eventId: String(i.eventId) })
        ExclusiveStartKey = res.LastEvaluatedKey
      } while (ExclusiveStartKey !== undefined && out.length < limit)
      return out
    }
  }
}

export type WebhookDeliveryRepository = ReturnType<typeof createWebhookDeliveryRepository>
