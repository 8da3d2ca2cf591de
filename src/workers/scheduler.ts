// Persists due scheduled changes. Evaluation already applies them as a pure function of the
// clock, so nothing waits on this worker for correctness; it records the change (audited as
// system:scheduler) and empties the schedule. Finds due entries with a Query on the SCHEDULE
// partition (sort key AT#{iso time}#…), never a Scan.
import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import { applySchedule } from '../domain/evaluate.js'
import { SCHEDULER_ACTOR } from '../domain/audit.js'
import type { FeatureRepository } from '../repositories/feature-repository.js'
import type { DefinitionReader } from '../repositories/definition-reader.js'
import type { Store } from '../repositories/store.js'
import type { EnvTargeting } from '../domain/model.js'

export interface SchedulerLogger { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }

export function createScheduler (deps: { store: Store; features: FeatureRepository; definitions: DefinitionReader; log: SchedulerLogger }) {
  const { store, features, definitions } = deps
  return async function applyDueSchedules (): Promise<{ applied: number; failed: number }> {
    const now = store.now()
    const due = new Map<string, { flag: string; env: string }>()
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const res = await store.doc.send(new QueryCommand({
        TableName: store.tableName,
        KeyConditionExpression: 'PK = :pk AND SK <= :until',
        ExpressionAttributeValues: { ':pk': 'SCHEDULE', ':until': `AT#${new Date(now).toISOString()}#\uffff` },
        ConsistentRead: true,
        ExclusiveStartKey
      }))
      for (const i of res.Items ?? []) due.set(`${String(i.flag)}\u0000${String(i.environment)}`, { flag: i.flag, env: i.environment })
      ExclusiveStartKey = res.LastEvaluatedKey
    } while (ExclusiveStartKey !== undefined)

    let applied = 0
    let failed = 0
    for (const { flag, env } of due.values()) {
      try {
        const def = await definitions.getDefinition(flag, env)
        if (def === undefined) continue
        const next = applySchedule(def, now)
        const targeting: EnvTargeting = {
          enabled: next.enabled,
          offVariant: next.offVariant,
          defaultServe: next.defaultServe,
          targets: next.targets,
          rules: next.rules,
          prerequisites: next.prerequisites,
          schedule: next.schedule
        }
        await features.putEnv(flag, env, targeting, { actor: SCHEDULER_ACTOR, ifMatch: undefined })
        applied++
        deps.log.info({ flag, env }, 'scheduled change applied')
      } catch (err) {
        failed++
        deps.log.warn({ err, flag, env }, 'scheduled change not applied; will retry on the next run')
      }
    }
    return { applied, failed }
  }
}
