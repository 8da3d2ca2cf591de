import { PutCommand } from '@aws-sdk/lib-dynamodb'
import type { Store, WriteMeta } from './store.js'
import { environmentKey, environmentsPartition } from './keys.js'
import { auditOrigin, buildAuditEvent } from '../domain/audit.js'
import { conflict } from '../domain/errors.js'
import { queryAll } from './query-all.js'

export interface Environment { name: string; description: string; createdAt: string; createdBy: string }

export const DEFAULT_ENVIRONMENTS = ['dev', 'qa', 'staging', 'prod']

export function createEnvironmentRepository (store: Store) {
  const { doc, tableName, now, ids } = store
  return {
    async list (): Promise<Environment[]> {
      const items = await queryAll(doc, { TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': environmentsPartition }, ConsistentRead: true })
      return items.map((i) => ({ name: i.name as string, description: (i.description as string | undefined) ?? '', createdAt: i.createdAt as string, createdBy: i.createdBy as string }))
    },

    async create (input: { name: string; description?: string }, meta: WriteMeta): Promise<Environment> {
      const env: Environment = { name: input.name, description: input.description ?? '', createdAt: new Date(now()).toISOString(), createdBy: meta.actor }
      const event = buildAuditEvent({ subject: `environment:${env.name}`, environment: env.name, action: 'ENVIRONMENT_REGISTERED', actor: meta.actor, before: null, after: env, ...auditOrigin(meta) }, ids, now)
      await store.commit([{
        item: { Put: { TableName: tableName, Item: { ...environmentKey(env.name), entity: 'Environment', ...env }, ConditionExpression: 'attribute_not_exists(PK)' } },
        onConditionFailed: () => conflict(`Environment '${env.name}' already exists`)
      }], [event])
      return env
    },

    /** Seed the default registry; idempotent, so every start may call it. */
    async ensureDefaults (): Promise<void> {
      const at = new Date(now()).toISOString()
      for (const name of DEFAULT_ENVIRONMENTS) {
        try {
          await doc.send(new PutCommand({
            TableName: tableName,
            Item: { ...environmentKey(name), entity: 'Environment', name, description: '', createdAt: at, createdBy: 'system:bootstrap' },
            ConditionExpression: 'attribute_not_exists(PK)'
          }))
        } catch (err) {
          if ((err as Error).name !== 'ConditionalCheckFailedException') throw err
        }
      }
    }
  }
}

export type EnvironmentRepository = ReturnType<typeof createEnvironmentRepository>
