// One page of a GSI1 listing that a client pages through with limit and cursor (API keys, users).
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { encodeCursor } from './cursor.js'

type Item = Record<string, unknown>

/**
 * Items of GSI1 partition `pk` after `startKey`, in index order, keeping those `keep` accepts. A
 * filter can leave a DynamoDB page short, so it reads on until `limit` items are kept or the
 * partition ends. The next cursor is `cursorOf` the last item read (kept or not).
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
  } while (ExclusiveStartKey !== undefined && items.length < q.limit)
  return { items, nextCursor: ExclusiveStartKey !== undefined && last !== undefined ? encodeCursor(last) : null }
}
