// The webhook side of the workers, built from the validated config like the rest of
// src/workers/runtime.ts: the fan-out the audit consumer calls, the delivery worker the delivery
// queue feeds (Lambda or the local dispatcher), the sweeper the maintenance job runs.
import type { SQSClient } from '@aws-sdk/client-sqs'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import type { Config } from '../config.js'
import type { Store } from '../repositories/store.js'
import { featureKey } from '../repositories/keys.js'
import { createWebhookRepository } from '../repositories/webhook-repository.js'
import { createWebhookDeliveryRepository } from '../repositories/webhook-delivery-repository.js'
import { createSqsDeliveryQueue, type DeliveryQueue } from './queue.js'
import { createFanOut } from './fan-out.js'
import { createDeliveryWorker, type WorkerLog } from './delivery-worker.js'
import { createHttpSender, type Sender } from './http-sender.js'
import { systemResolver, type Resolver } from './address-guard.js'

export type WebhookConfig = Pick<Config, 'WEBHOOK_QUEUE_URL' | 'WEBHOOK_ALLOW_PRIVATE_NETWORKS' | 'WEBHOOK_TIMEOUT_MS' | 'WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT'>

export interface WebhookSeams {
  /** Name resolution for the address guard (tests give one instead of real DNS). */
  resolve?: Resolver
  /** The HTTP attempt itself (built from the config when absent). */
  send?: Sender
  /** Randomness of the retry jitter. */
  random?: () => number
}

export function createWebhookWorkers (deps: { config: WebhookConfig; store: Store; sqs: SQSClient; log: WorkerLog } & WebhookSeams) {
  const { store, config } = deps
  const subscriptions = createWebhookRepository(store)
  const deliveries = createWebhookDeliveryRepository(store)
  const queueUrl = config.WEBHOOK_QUEUE_URL
  const queue: DeliveryQueue | undefined = queueUrl !== undefined ? createSqsDeliveryQueue({ sqs: deps.sqs, queueUrl }) : undefined
  const send = deps.send ?? createHttpSender({
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    resolve: deps.resolve ?? systemResolver
  })
  async function flagTags (flag: string): Promise<string[] | undefined> {
    const res = await store.doc.send(new GetCommand({ TableName: store.tableName, Key: featureKey(flag), ProjectionExpression: 'tags' }))
    return Array.isArray(res.Item?.tags) ? res.Item.tags.map(String) : undefined
  }
  const fanOut = queue !== undefined ? createFanOut({ subscriptions, deliveries, queue, flagTags, now: store.now }) : undefined
  const worker = queue !== undefined
    ? createDeliveryWorker({
      subscriptions,
      deliveries,
      queue,
      send,
      now: store.now,
      log: deps.log,
      random: deps.random,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      maxInFlightPerEndpoint: config.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT
    })
    : undefined
  return { subscriptions, deliveries, queue, fanOut, worker }
}

export type WebhookWorkers = ReturnType<typeof createWebhookWorkers>
