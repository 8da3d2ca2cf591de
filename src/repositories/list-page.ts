// One page of a GSI1 listing that a client pages through with limit and cursor (API keys, users).
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { encodeCursor } from './cursor.js'

type Item = Record<string, unknown>

/** The most Query pages one listing request reads (a filter that keeps few items must not read a whole partition). */
export const MAX_PAGE_READS = 10

/**
 * Items of GSI1 partition `pk` after `startKey`, in index order, keeping those `keep` accepts. A
 * filter can leave a DynamoDB page short, so it reads on until `limit` items are kept, the
 * partition ends or MAX_PAGE_READS pages were read (the answer may then hold fewer than `limit`
 * items, or none, with a cursor). The next cursor is `cursorOf` the last item read (kept or not).
 */
export async function gsi1Page<T> (doc: DynamoDBDocumentClient, tableName: string, q: {
  pk: string
  limit: number
  startKey: Item | undefined
  keep: (item: Item) => boolean
  map: (item: Item) => T
  cursorOf: (item: Item) => string
}): Promise<{ items: T[]; nextCursor: string | null }> {
  const items: T[] = []
  let ExclusiveStartKey = q.startKey
  let last: string | undefined
  let reads = 0
  do {
    const res = await doc.send(new QueryCommand({
      TableName: tableName,
      IndexName: 'GSI1',
      KeyConditionExpression: 'GSI1PK = :pk',
      ExpressionAttributeValues: { ':pk': q.pk },
      Limit: q.limit - items.length,
      ExclusiveStartKey
    }))
    for (const i of res.Items ?? []) {
      last = q.cursorOf(i)
      if (q.keep(i)) items.push(q.map(i))
    }
    ExclusiveStartKey = res.LastEvaluatedKey
    reads++
  } while (ExclusiveStartKey !== undefined && items.length < q.limit && reads < MAX_PAGE_READS)
  return { items, nextCursor: ExclusiveStartKey !== undefined && last !== undefined ? encodeCursor(last) : null }
}
