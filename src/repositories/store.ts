// The write path of DESIGN.md §4: every state change is one TransactWriteItems holding the
// changed items and an outbox item per audit event. After the commit the store tells its commit
// listeners (caches to invalidate, the audit publisher, webhooks) what was committed; it knows
// none of them. A failed commit raises the error its failed condition stands for.
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import { unmarshall } from '@aws-sdk/util-dynamodb'
import type { AuditEvent, Clock, IdGenerator } from '../domain/audit.js'
import { outboxKey } from './keys.js'
import { AppError, badRequest, serviceUnavailable } from '../domain/errors.js'
import { revisionUpdates, touchedEnvironments } from './env-revision.js'

/** DynamoDB's limit on the items of one TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number]

export interface WriteOp {
  item: TransactItem
  /** Error to raise when this item's condition fails; receives the item as it was, if any. */
  onConditionFailed?: (current: Record<string, unknown> | undefined) => Error
}

/**
 * Who writes and why: every repository write takes one. requestId/correlationId name the HTTP
 * request that made the change (its audit record carries them); workers set only actor.
 */
export interface WriteMeta {
  actor: string
  requestId?: string
  correlationId?: string
  ifMatch?: number
  /** Refuse (428) to replace an existing environment config: the caller sent no If-Match. */
  createOnly?: boolean
}

export interface ItemKey { PK: string; SK: string }

/** What one commit wrote: the keys of the items it changed and the audit events it holds. */
export interface Committed {
  keys: ItemKey[]
  events: AuditEvent[]
}

/**
 * Told of every commit, after it succeeded. A listener that returns a promise is awaited before
 * the write answers (the audit publisher sends then, so a Lambda is not frozen mid-send); a
 * listener's failure is logged, never the writer's: the change is committed.
 */
export type CommitListener = (committed: Committed) => void | Promise<void>

export interface Store {
  doc: DynamoDBDocumentClient
  tableName: string
  now: Clock
  ids: IdGenerator
  commit(ops: WriteOp[], events: AuditEvent[]): Promise<void>
  onCommitted(listener: CommitListener): void
}

export interface StoreLogger { error(obj: object, msg: string): void }

export interface StoreOptions {
  doc: DynamoDBDocumentClient
  tableName: string
  now: Clock
  ids: IdGenerator
  /** Where a commit listener's failure is reported (default: console). */
  log?: StoreLogger
  /** How long a committed event may wait for the consumer before the sweeper re-sends it. */
  sweepAgeMs?: number
}

/** `sendAfter`: when the sweeper may re-send the event if the consumer has not removed it yet. */
export function outboxItem (event: AuditEvent, createdAt: number, sweepAgeMs: number) {
  return { ...outboxKey(event.eventId), entity: 'OutboxEvent', createdAt, sendAfter: createdAt + sweepAgeMs, event }
}

export class TransactionConflict extends AppError {
  constructor (detail: string) {
    super(503, 'Service Unavailable', detail, { headers: { 'retry-after': '1' } })
  }
}

/** Attempts of a transaction DynamoDB cancelled for throttling (the SDK does not retry those), as its maxAttempts. */
const THROTTLED_TRANSACTION_ATTEMPTS = 4

function throttled (err: unknown): boolean {
  if ((err as Error).name !== 'TransactionCanceledException') return false
  return ((err as TransactionCanceledException).CancellationReasons ?? []).some((r) => r?.Code === 'ThrottlingError' || r?.Code === 'ProvisionedThroughputExceeded')
}

export function createStore ({ doc, tableName, now, ids, log = consoleLogger, sweepAgeMs = 30_000 }: StoreOptions): Store {
  const listeners: CommitListener[] = []

  /**
   * DynamoDB cancels a transaction whose item or index is throttled (reason ThrottlingError) with
   * a TransactionCanceledException, which the SDK's retry strategy does not retry: nothing was
   * written, so retry it here with jittered backoff, then answer 503 + Retry-After.
   */
  async function sendTransaction (items: TransactItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await doc.send(new TransactWriteCommand({ TransactItems: items }))
        return
      } catch (err) {
        if (!throttled(err)) throw err
        if (attempt >= THROTTLED_TRANSACTION_ATTEMPTS) throw serviceUnavailable('The data store is throttling writes; retry shortly', 1)
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1_000, 50 * 2 ** attempt)))
      }
    }
  }

  async function commit (ops: WriteOp[], events: AuditEvent[]): Promise<void> {
    const createdAt = now()
    const touched = touchedEnvironments(ops.filter((o) => o.item.ConditionCheck === undefined).map((o) => keyOf(o.item)).filter((k): k is ItemKey => k !== undefined))
    // The environment revision items (env-revision.ts), in the same transaction as the change.
    const revisions = revisionUpdates(tableName, touched, createdAt)
    const items: TransactItem[] = [
      ...ops.map((o) => o.item),
      ...revisions,
      ...events.map((e) => ({
        Put: { TableName: tableName, Item: outboxItem(e, createdAt, sweepAgeMs), ConditionExpression: 'attribute_not_exists(PK)' }
      }))
    ]
    if (items.length > MAX_TRANSACTION_ITEMS) {
      throw badRequest(`This change would touch ${items.length} items; one change can touch at most ${MAX_TRANSACTION_ITEMS} (split it: fewer environments, schedule entries or segments at once)`)
    }
    try {
      await sendTransaction(items)
    } catch (err) {
      if (err instanceof TransactionCanceledException || (err as Error).name === 'TransactionCanceledException') {
        const reasons = (err as TransactionCanceledException).CancellationReasons ?? []
        for (let i = 0; i < reasons.length; i++) {
          if (reasons[i]?.Code === 'ConditionalCheckFailed') {
            const raw = reasons[i]?.Item
            const current = raw !== undefined ? unmarshall(raw as never) : undefined
            const handler = ops[i]?.onConditionFailed
            if (handler !== undefined) throw handler(current)
          }
        }
        if (reasons.some((r) => r?.Code === 'TransactionConflict')) {
          // DynamoDB cancels transactions that overlap another one on the same item; nothing was
          // written. Version-checked writers retry on fresh state; elsewhere it is a 503.
          throw new TransactionConflict('Concurrent change in progress, retry')
        }
      }
      throw err
    }
    const revisionKeys = revisions.map((u) => u.Update.Key as unknown as ItemKey)
    await tell({ keys: [...ops.map((o) => keyOf(o.item)).filter((k): k is ItemKey => k !== undefined), ...revisionKeys], events })
  }

  /** Synchronous listeners run in registration order before any asynchronous one is awaited. */
  async function tell (committed: Committed): Promise<void> {
    const pending: Array<Promise<void>> = []
    for (const listener of listeners) {
      try {
        const result = listener(committed)
        if (result !== undefined) pending.push(result.catch((err: unknown) => { log.error({ err }, 'commit listener failed') }))
      } catch (err) {
        log.error({ err }, 'commit listener failed')
      }
    }
    await Promise.all(pending)
  }

  return { doc, tableName, now, ids, commit, onCommitted: (l) => { listeners.push(l) } }
}

const consoleLogger: StoreLogger = { error: (obj, msg) => { console.error(msg, obj) } }

/** A Put/Update/Delete/ConditionCheck asks DynamoDB for the old item when its condition fails. */
export const ALL_OLD = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }

function keyOf (item: TransactItem): ItemKey | undefined {
  const k = item.Put?.Item ?? item.Update?.Key ?? item.Delete?.Key ?? item.ConditionCheck?.Key
  return k !== undefined ? { PK: String(k.PK), SK: String(k.SK) } : undefined
}
