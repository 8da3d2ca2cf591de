// The background handlers, built from a validated config without Fastify: the Lambda entry points
// and the local dev workers construct them the same way.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SQSClient } from '@aws-sdk/client-sqs'
import type { Config } from '../config.js'
import { createDocumentClient } from '../aws.js'
import { createSqsClient } from '../aws-sqs.js'
import { createStore } from '../repositories/store.js'
import { createRepositories } from '../repositories/create-repositories.js'
import { createAuditConsumer, type ConsumerLogger } from '../audit/consumer.js'
import { createAuditPublisher, publishCommitted } from '../audit/publisher.js'
import { createOutboxSweeper } from '../audit/outbox-sweeper.js'
import { createScheduler } from './scheduler.js'
import { v7 as uuidv7 } from 'uuid'
import { createWebhookWorkers, type WebhookSeams } from '../webhooks/runtime.js'

export interface WorkerLogger extends ConsumerLogger { warn(obj: object, msg: string): void }

/** What the workers read from the config: no JWT secret, they never sign (see src/lambda/env.ts). */
export type WorkerConfig = Pick<Config, 'TABLE_NAME' | 'AWS_REGION' | 'DYNAMODB_ENDPOINT' | 'SQS_ENDPOINT' | 'AUDIT_QUEUE_URL' | 'OUTBOX_SWEEP_AGE_MS' |
  'WEBHOOK_QUEUE_URL' | 'WEBHOOK_ALLOW_PRIVATE_NETWORKS' | 'WEBHOOK_TIMEOUT_MS' | 'WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT'> & Partial<Pick<Config, 'AUDIT_RETENTION_DAYS'>>

export interface WorkerDeps {
  config: WorkerConfig
  log: WorkerLogger
  dynamo?: DynamoDBDocumentClient
  sqs?: SQSClient
  now?: () => number
  /** Seams of the webhook delivery (name resolution, the HTTP attempt, jitter). */
  webhooks?: WebhookSeams
}

export function createWorkers (deps: WorkerDeps) {
  const now = deps.now ?? Date.now
  const doc = deps.dynamo ?? createDocumentClient(deps.config)
  const sqs = deps.sqs ?? createSqsClient(deps.config)
  const tableName = deps.config.TABLE_NAME
  const store = createStore({ doc, tableName, now, ids: { eventId: () => uuidv7() }, log: deps.log, sweepAgeMs: deps.config.OUTBOX_SWEEP_AGE_MS })
  const { audit, features } = createRepositories(store, { auditRetentionDays: deps.config.AUDIT_RETENTION_DAYS })
  const publisher = createAuditPublisher({ sqs, queueUrl: deps.config.AUDIT_QUEUE_URL, log: deps.log })
  store.onCommitted(publishCommitted(publisher))
  const webhooks = createWebhookWorkers({ config: deps.config, store, sqs, log: deps.log, ...deps.webhooks })
  const consume = createAuditConsumer({ audit, log: deps.log, afterPersist: webhooks.fanOut })
  const sweep = createOutboxSweeper({ audit, publishOrThrow: publisher.publishOrThrow, now, minAgeMs: deps.config.OUTBOX_SWEEP_AGE_MS })
  const schedule = createScheduler({ store, features, log: deps.log })
  return {
    doc,
    sqs,
    audit,
    consume,
    sweep,
    schedule,
    webhooks,
    /** The MaintenanceFunction's work: the jobs run together, one failing does not stop another. */
    async maintain () {
      const [outbox, schedules, deliveries] = await Promise.allSettled([sweep(), schedule(), webhooks.worker?.sweep() ?? Promise.resolve({ woken: 0 })])
      return {
        outbox: outbox.status === 'fulfilled' ? outbox.value : { error: String(outbox.reason) },
        schedules: schedules.status === 'fulfilled' ? schedules.value : { error: String(schedules.reason) },
        webhooks: deliveries.status === 'fulfilled' ? deliveries.value : { error: String(deliveries.reason) }
      }
    },
    destroy () {
      if (deps.dynamo === undefined) doc.destroy()
      if (deps.sqs === undefined) sqs.destroy()
    }
  }
}

export type Workers = ReturnType<typeof createWorkers>
