// WebhookDeliveryFunction: the delivery queue's SQS event source hands it batches of wake-ups
// ({subscriptionId, eventId}); the handler is the one the local dispatcher calls
// (src/webhooks/delivery-worker.ts): one attempt per wake-up under a lease, the records of a batch
// concurrently, a partial batch response for the ones whose outcome could not be recorded.
import { createWorkers } from '../workers/runtime.js'
import type { SqsEvent, SqsBatchResponse } from '../audit/consumer.js'
import { workerConfig } from './env.js'
import { createLogger } from './log.js'

const config = workerConfig(process.env)
const log = createLogger(config.LOG_LEVEL, { fn: 'webhook-delivery' })

export const workers = createWorkers({ config, log })
const worker = workers.webhooks.worker
if (worker === undefined) throw new Error('WEBHOOK_QUEUE_URL is not set: the delivery function has nothing to deliver with')
const deliver = worker

export async function handler (event: SqsEvent): Promise<SqsBatchResponse> {
  const result = await deliver.handleBatch(event)
  if (result.batchItemFailures.length > 0) {
    log.warn({ received: event.Records.length, failed: result.batchItemFailures.map((f) => f.itemIdentifier) }, 'webhook batch partially failed')
  }
  return result
}
