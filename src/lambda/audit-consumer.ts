// AuditConsumerFunction: the SQS event source hands it batches of audit events; the handler is
// the one the local poller calls (src/audit/consumer.ts). It answers a partial batch
// response (FunctionResponseTypes: ReportBatchItemFailures), so only the messages it could not
// persist come back, and after maxReceiveCount they land in the dead-letter queue.
import './call-sites.js' // first: before pino loads (see there)
import { createWorkers } from '../workers/runtime.js'
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { workerConfig } from './env.js'
import { createLogger } from './log.js'

const config = workerConfig(process.env)
const log = createLogger(config.LOG_LEVEL, { fn: 'audit-consumer' })

export const workers = createWorkers({ config, log })

export async function handler (event: SQSEvent): Promise<SQSBatchResponse> {
  const result = await workers.consume(event)
  if (result.batchItemFailures.length > 0) {
    log.warn({ received: event.Records.length, failed: result.batchItemFailures.map((f) => f.itemIdentifier) }, 'audit batch partially failed')
  }
  return result
}
