import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { createAuditPublisher, publishCommitted, type AuditPublisher } from '../src/audit/publisher.js'
import { createSqsClient } from '../src/aws-sqs.js'

declare module 'fastify' {
  interface FastifyInstance {
    sqs: SQSClient
    auditPublisher: AuditPublisher
  }
}

export interface AuditPublisherPluginOptions {
  /** A seam for tests and fault injection; the plugin builds a real client when absent. */
  sqs?: SQSClient
}

/**
 * The write side's SQS client and the audit publisher on it, which listens to the store's commits
 * and sends their audit events. Registered by the whole app only: the read-only evaluate surface
 * has neither.
 */
async function auditPublisherPlugin (fastify: FastifyInstance, opts: AuditPublisherPluginOptions) {
  const sqs = opts.sqs ?? createSqsClient(fastify.config)
  fastify.decorate('sqs', sqs)
  const publisher = createAuditPublisher({ sqs, queueUrl: fastify.config.AUDIT_QUEUE_URL, log: fastify.log })
  fastify.decorate('auditPublisher', publisher)
  fastify.store.onCommitted(publishCommitted(publisher))
  fastify.addHook('onClose', async () => {
    // Only destroy what this plugin created; an injected client belongs to the caller.
    if (opts.sqs === undefined) sqs.destroy()
  })
}

export default fp(auditPublisherPlugin, { name: 'audit-publisher', dependencies: ['config', 'store'] })
