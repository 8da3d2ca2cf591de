// MaintenanceFunction: an EventBridge schedule (every minute) runs the outbox sweeper and the
// scheduler, the same jobs `npm run dev` runs on a timer. Both are idempotent, so a late or
// repeated run is harmless. A failed job makes the invocation fail (visible in the Errors metric);
// the template turns async retries off because the next tick is the retry.
import { createWorkers } from '../workers/runtime.js'
import { workerConfig } from './env.js'
import { createLogger } from './log.js'

/** The EventBridge "Scheduled Event" document (only the fields used here). */
export interface ScheduledEvent { id?: string; 'detail-type'?: string; source?: string; time?: string; resources?: string[] }

const config = workerConfig(process.env)
const log = createLogger(config.LOG_LEVEL, { fn: 'maintenance' })

export const workers = createWorkers({ config, log })

export async function handler (event: ScheduledEvent) {
  const result = await workers.maintain()
  const failed = Object.entries(result).filter(([, r]) => 'error' in r)
  log.info({ eventId: event.id, scheduledAt: event.time, ...result }, 'maintenance run')
  if (failed.length > 0) {
    throw new Error(`maintenance failed: ${failed.map(([job, r]) => `${job}: ${(r as { error: string }).error}`).join('; ')}`)
  }
  return result
}
