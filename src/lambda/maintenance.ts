// MaintenanceFunction: an EventBridge schedule (every minute) runs the outbox sweeper, the
// scheduler and the webhook delivery sweeper, the same jobs `npm run dev` runs on a timer. All
// are idempotent, so a late or repeated run is harmless. A failed job makes the invocation fail (visible in the Errors metric);
// Lambda retries it twice, then sends the event to the MaintenanceFailures queue (template.yaml).
//
// Each run also publishes the outbox backlog (audit events committed with a change whose record
// is overdue: what the sweeper found) as the CloudWatch metric Switchyard/OutboxBacklog, by
// writing one line in the embedded metric format to the log: CloudWatch Logs extracts the metric,
// no PutMetricData call or permission needed. OutboxBacklogAlarm watches it.
import './call-sites.js' // first: before pino loads (see there)
import type { ScheduledEvent } from 'aws-lambda'
import { createWorkers } from '../workers/runtime.js'
import { workerConfig } from './env.js'
import { createLogger } from './log.js'

const config = workerConfig(process.env)
const log = createLogger(config.LOG_LEVEL, { fn: 'maintenance' })

export const workers = createWorkers({ config, log })

/** Where the embedded-metric-format lines go: stdout, which Lambda ships to the log group. */
export const metricSink = { write: (line: string) => { process.stdout.write(line + '\n') } }

/** One embedded-metric-format log line: the outbox backlog of a run, by function name. */
export function outboxBacklogLine (backlog: number, functionName: string, timestamp: number): string {
  return JSON.stringify({
    _aws: { Timestamp: timestamp, CloudWatchMetrics: [{ Namespace: 'Switchyard', Dimensions: [['FunctionName']], Metrics: [{ Name: 'OutboxBacklog', Unit: 'Count' }] }] },
    FunctionName: functionName,
    OutboxBacklog: backlog
  })
}

export async function handler (event: ScheduledEvent) {
  const result = await workers.maintain()
  const failed = Object.entries(result).filter(([, r]) => 'error' in r)
  log.info({ eventId: event.id, scheduledAt: event.time, ...result }, 'maintenance run')
  if ('found' in result.outbox) metricSink.write(outboxBacklogLine(result.outbox.found, process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'switchyard-maintenance', Date.now()))
  if (failed.length > 0) {
    throw new Error(`maintenance failed: ${failed.map(([job, r]) => `${job}: ${(r as { error: string }).error}`).join('; ')}`)
  }
  return result
}
