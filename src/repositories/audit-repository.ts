import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { AuditEvent } from '../domain/audit.js'
import { auditKey, auditPartition, outboxKey, outboxPartition, TTL_ATTRIBUTE } from './keys.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { countAll } from './query-all.js'

export interface AuditRecord {
  eventId: string
  action: string
  actor: string
  timestamp: string
  feature?: string
  environment?: string
  before: unknown
  after: unknown
  requestId?: string
  correlationId?: string
}

/**
 * `retentionDays` > 0: each record carries expiresAt, its timestamp plus that many days in epoch
 * seconds, and DynamoDB's TTL deletes it after then. 0 (the default): records live forever.
 */
export function createAuditRepository ({ doc, tableName, retentionDays = 0 }: { doc: DynamoDBDocumentClient; tableName: string; retentionDays?: number }) {
  const expiry = (timestamp: string) => retentionDays > 0 ? { [TTL_ATTRIBUTE]: Math.floor(Date.parse(timestamp) / 1000) + retentionDays * 86_400 } : {}
  return {
    /** Idempotent: a second delivery of the same event finds the record and writes nothing. */
    async put (event: AuditEvent): Promise<'created' | 'duplicate'> {
      try {
        await doc.send(new PutCommand({
          TableName: tableName,
          Item: { ...auditKey(event.subject, event.timestamp, event.eventId), entity: 'AuditLog', ...event, ...expiry(event.timestamp) },
          ConditionExpression: 'attribute_not_exists(PK)'
        }))
        return 'created'
      } catch (err) {
        if ((err as Error).name === 'ConditionalCheckFailedException') return 'duplicate'
        throw err
      }
    },

    async list (subject: string, opts: { order: 'asc' | 'desc'; limit: number; cursor?: string }): Promise<{ items: AuditRecord[]; nextCursor: string | null }> {
      const start = opts.cursor !== undefined ? decodeCursor<string>(opts.cursor) : undefined
      const res = await doc.send(new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :logs)',
        ExpressionAttributeValues: { ':pk': auditPartition(subject), ':logs': 'LOGS#' },
        ScanIndexForward: opts.order === 'asc',
        Limit: opts.limit,
        ExclusiveStartKey: start !== undefined ? { PK: auditPartition(subject), SK: start } : undefined
      }))
      const items = (res.Items ?? []).map((i) => {
        const r: AuditRecord = { eventId: i.eventId, action: i.action, actor: i.actor, timestamp: i.timestamp, before: i.before ?? null, after: i.after ?? null }
        if (i.feature !== undefined) r.feature = i.feature
        if (i.environment !== undefined) r.environment = i.environment
        if (i.requestId !== undefined) r.requestId = i.requestId
        if (i.correlationId !== undefined) r.correlationId = i.correlationId
        return r
      })
      return { items, nextCursor: res.LastEvaluatedKey !== undefined ? encodeCursor(res.LastEvaluatedKey.SK) : null }
    },

    /** Outbox: events committed whose audit record the consumer has not confirmed, due for (re)send. */
    async listOutbox (dueBy: number, limit = 100): Promise<AuditEvent[]> {
      const out: AuditEvent[] = []
      let ExclusiveStartKey: Record<string, unknown> | undefined
      do {
        const res = await doc.send(new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk',
          FilterExpression: 'sendAfter <= :due',
          ExpressionAttributeValues: { ':pk': outboxPartition, ':due': dueBy },
          ConsistentRead: true,
          ExclusiveStartKey
        }))
        for (const i of res.Items ?? []) out.push(i.event as AuditEvent)
        ExclusiveStartKey = res.LastEvaluatedKey
      } while (ExclusiveStartKey !== undefined && out.length < limit)
      return out.slice(0, limit)
    },

    /** Push back the next resend; a no-op when the consumer already removed the item. */
    async deferOutbox (eventId: string, sendAfter: number): Promise<void> {
      try {
        await doc.send(new UpdateCommand({
          TableName: tableName,
          Key: outboxKey(eventId),
          UpdateExpression: 'SET sendAfter = :t',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':t': sendAfter }
        }))
      } catch (err) {
        if ((err as Error).name !== 'ConditionalCheckFailedException') throw err
      }
    },

    async countOutbox (): Promise<number> {
      return await countAll(doc, { TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': outboxPartition }, ConsistentRead: true })
    },

    async deleteOutbox (eventId: string): Promise<void> {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: outboxKey(eventId) }))
    }
  }
}

export type AuditRepository = ReturnType<typeof createAuditRepository>
