// The environment revision item (DESIGN.md §8): a counter per environment, incremented inside the
// same transaction as every change to one of the environment's flag configs. store.commit adds
// the increment itself whenever a transaction touches an environment item
// (`ENVIRONMENT#{flag}` / `ENV#{env}`): a flag's config, a feature's variants copied to its
// environments, a segment's snapshot refreshed on the flags that use it, a schedule persisted by
// the scheduler, a deletion. No writer can forget it, and the sync endpoint's ETag check is one
// GetItem that sees changes made by any process.
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { envRevisionKey, parseFeatureEnvKey } from './keys.js'

export interface EnvRevision {
  environment: string
  /** 0 for an environment no change has touched since revisions exist. */
  revision: number
  /** Epoch ms of the last change (0 when none). */
  changedAt: number
  /** The flags the last change touched (a deleted flag included). */
  flags: string[]
}

interface UpdateItem {
  Update: {
    TableName: string
    Key: Record<string, string>
    UpdateExpression: string
    ExpressionAttributeNames: Record<string, string>
    ExpressionAttributeValues: Record<string, unknown>
  }
}

/** Environment → flags touched, from the keys a transaction writes. */
export function touchedEnvironments (keys: Iterable<{ PK: string; SK: string }>): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const k of keys) {
    const parsed = parseFeatureEnvKey(k)
    if (parsed === undefined) continue
    const { flag, env } = parsed
    const flags = out.get(env) ?? []
    if (!flags.includes(flag)) flags.push(flag)
    out.set(env, flags)
  }
  return out
}

/** The increments to add to a transaction that touches these environments. */
export function revisionUpdates (tableName: string, touched: Map<string, string[]>, at: number): UpdateItem[] {
  return [...touched].map(([env, flags]) => ({
    Update: {
      TableName: tableName,
      Key: envRevisionKey(env),
      UpdateExpression: 'SET #entity = :entity, #env = :env, #at = :at, #flags = :flags ADD #rev :one',
      ExpressionAttributeNames: { '#entity': 'entity', '#env': 'environment', '#at': 'changedAt', '#flags': 'flags', '#rev': 'revision' },
      ExpressionAttributeValues: { ':entity': 'EnvRevision', ':env': env, ':at': at, ':flags': flags.sort(), ':one': 1 }
    }
  }))
}

/** The current revision of an environment: one strongly consistent GetItem. */
export async function getEnvRevision (doc: DynamoDBDocumentClient, tableName: string, env: string): Promise<EnvRevision> {
  const res = await doc.send(new GetCommand({ TableName: tableName, Key: envRevisionKey(env), ConsistentRead: true }))
  const i = res.Item
  if (i === undefined) return { environment: env, revision: 0, changedAt: 0, flags: [] }
  return { environment: env, revision: Number(i.revision ?? 0), changedAt: Number(i.changedAt ?? 0), flags: Array.isArray(i.flags) ? i.flags.map(String) : [] }
}
