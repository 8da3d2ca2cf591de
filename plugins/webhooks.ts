import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createWebhookRepository, type WebhookRepository } from '../src/repositories/webhook-repository.js'
import { createWebhookDeliveryRepository, type WebhookDeliveryRepository } from '../src/repositories/webhook-delivery-repository.js'
import { createSqsDeliveryQueue, type Wakeup } from '../src/webhooks/queue.js'
import { parseWebhookUrl, resolverWithDeadline, resolveSafely, systemResolver, UnsafeUrl, type Resolver } from '../src/webhooks/address-guard.js'
import { badRequest, serviceUnavailable } from '../src/domain/errors.js'

export interface WebhookService {
  subscriptions: WebhookRepository
  deliveries: WebhookDeliveryRepository
  /**
   * Refuse (400) a URL the delivery worker would refuse: scheme, credentials, non-public address,
   * and a host that does not resolve within WEBHOOK_URL_CHECK_TIMEOUT_MS.
   */
  checkUrl(url: string, field?: string): Promise<void>
  /** Wake a delivery up now (503 when no delivery queue is configured). */
  wake(wakeup: Wakeup): Promise<void>
}

declare module 'fastify' {
  interface FastifyInstance {
    webhooks: WebhookService
  }
}

export interface WebhooksPluginOptions {
  /** Name resolution of the save-time address check (tests give one instead of real DNS). */
  resolve?: Resolver
}

/**
 * Webhook subscriptions and their deliveries for the admin routes. The fan-out and the attempts
 * run in the workers (src/webhooks/runtime.ts); the app only writes subscriptions, reads
 * deliveries and wakes a delivery for a test event or a replay.
 */
async function webhooksPlugin (fastify: FastifyInstance, opts: WebhooksPluginOptions) {
  const allowPrivateNetworks = fastify.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS
  const resolve = resolverWithDeadline(opts.resolve ?? systemResolver, fastify.config.WEBHOOK_URL_CHECK_TIMEOUT_MS)
  const queueUrl = fastify.config.WEBHOOK_QUEUE_URL
  const queue = queueUrl !== undefined ? createSqsDeliveryQueue({ sqs: fastify.sqs, queueUrl }) : undefined
  fastify.decorate('webhooks', {
    subscriptions: createWebhookRepository(fastify.store),
    deliveries: createWebhookDeliveryRepository(fastify.store),
    async checkUrl (url: string, field = '/body/url') {
      try {
        await resolveSafely(parseWebhookUrl(url, allowPrivateNetworks), { allowPrivateNetworks, resolve })
      } catch (err) {
        if (!(err instanceof UnsafeUrl)) throw err
        throw badRequest(`The webhook URL ${err.message}`, [{ path: field, message: err.message }])
      }
    },
    async wake (wakeup: Wakeup) {
      if (queue === undefined) throw serviceUnavailable('Webhook delivery is not configured on this server (WEBHOOK_QUEUE_URL)', 60)
      await queue.enqueue([wakeup])
    }
  })
}

export default fp(webhooksPlugin, { name: 'webhooks', dependencies: ['config', 'repositories', 'audit-publisher'] })
