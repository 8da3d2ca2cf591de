// Persists due scheduled changes. Evaluation already applies them as a pure function of the
// clock, so nothing waits on this worker for correctness; it records the change (audited as
// system:scheduler) and empties the schedule. Finds due entries with a Query on the SCHEDULE
// partition (sort key AT#{iso time}#…), never a Scan. Each environment is re-read and decided in
// the repository (features.applyDueSchedule): an entry found here is only a hint that something
// may be due, so a stale or duplicate hint (a cancelled schedule, a tick delivered twice) applies
// nothing.
import { SCHEDULER_ACTOR } from '../domain/audit.js'
import type { FeatureRepository } from '../repositories/feature-repository.js'
import type { Store } from '../repositories/store.js'
import { queryAll } from '../repositories/query-all.js'
import { dueBy, schedulePartition } from '../repositories/keys.js'

export interface SchedulerLogger { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }

export function createScheduler (deps: { store: Store; features: FeatureRepository; log: SchedulerLogger }) {
  const { store, features } = deps
  return async function applyDueSchedules (): Promise<{ applied: number; failed: number }> {
    const now = store.now()
    const entries = await queryAll(store.doc, {
      TableName: store.tableName,
      KeyConditionExpression: 'PK = :pk AND SK <= :until',
      ExpressionAttributeValues: { ':pk': schedulePartition, ':until': dueBy(now) },
      ConsistentRead: true
    })
    const due = new Map<string, { flag: string; env: string }>()
    for (const i of entries) due.set(`${String(i.flag)}\u0000${String(i.environment)}`, { flag: String(i.flag), env: String(i.environment) })

    let applied = 0
    let failed = 0
    for (const { flag, env } of due.values()) {
      try {
        const outcome = await features.applyDueSchedule(flag, env, now, { actor: SCHEDULER_ACTOR })
        if (!outcome.applied) continue
        applied++
        deps.log.info({ flag, env, version: outcome.version }, 'scheduled change applied')
      } catch (err) {
        failed++
        deps.log.warn({ err, flag, env }, 'scheduled change not applied; will retry on the next run')
      }
    }
    return { applied, failed }
  }
}
