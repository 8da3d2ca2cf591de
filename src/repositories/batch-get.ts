// Every BatchGetItem of the table goes through batchGetAll: 100 keys a call, and keys DynamoDB
// leaves unprocessed (throttling, the 16 MB response cap) asked again with exponential backoff
// and jitter, a bounded number of times. Still unread after that, the read fails as retryable
// (503) rather than pass an item off as missing.
import { setTimeout as sleep } from 'node:timers/promises'
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { serviceUnavailable } from '../domain/errors.js'

/** BatchGetItem calls for one chunk of keys before unprocessed keys fail the read. */
export const BATCH_GET_ATTEMPTS = 6

/** DynamoDB's limit on the keys of one BatchGetItem. */
const MAX_BATCH_KEYS = 100

type Key = Record<string, unknown>
type Item = Record<string, unknown>
interface BatchGetResult { Responses?: Record<string, Item[]>; UnprocessedKeys?: Record<string, { Keys?: Key[] }> }

export interface BatchGetOptions {
  consistent?: boolean
  /** What the keys are, for the 503's detail: "flag(s) of 'prod'". */
  what: string
}

/** The items found for `keys` (in no particular order; an absent key has no item). */
export async function batchGetAll (doc: DynamoDBDocumentClient, tableName: string, keys: Key[], opts: BatchGetOptions): Promise<Item[]> {
  const out: Item[] = []
  for (let i = 0; i < keys.length; i += MAX_BATCH_KEYS) {
    let pending: Key[] | undefined = keys.slice(i, i + MAX_BATCH_KEYS)
    for (let attempt = 0; pending !== undefined && pending.length > 0; attempt++) {
      if (attempt === BATCH_GET_ATTEMPTS) throw serviceUnavailable(`The data store left ${pending.length} ${opts.what} unread; retry shortly`)
      if (attempt > 0) await sleep(Math.random() * Math.min(1_000, 25 * 2 ** attempt))
      const res: BatchGetResult = await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: opts.consistent === true } } }))
      for (const item of res.Responses?.[tableName] ?? []) out.push(item)
      pending = res.UnprocessedKeys?.[tableName]?.Keys
    }
  }
  return out
}
