// Every item a Query matches, page after page (@aws-sdk/lib-dynamodb's paginateQuery follows
// LastEvaluatedKey). For partitions that stay small (a flag's environments, the registry, a
// segment's references); listings a client pages through keep their own limit and cursor.
import { paginateQuery, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb'

export async function queryAll (doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = []
  for await (const page of paginateQuery({ client: doc }, input)) out.push(...(page.Items ?? []))
  return out
}

/** How many items a Query matches (Select: COUNT), page after page. */
export async function countAll (doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<number> {
  let n = 0
  for await (const page of paginateQuery({ client: doc }, { ...input, Select: 'COUNT' })) n += page.Count ?? 0
  return n
}
