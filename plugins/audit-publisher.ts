import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createAuditPublisher } from '../src/workers/audit-publisher.js'

declare module 'fastify' {
  interface FastifyInstance {
    auditPublisher: ReturnType<typeof createAuditPublisher>
  }
}

async function auditPublisherPlugin (fastify: FastifyInstance) {
  fastify.decorate('auditPublisher', createAuditPublisher({
    sqs: fastify.sqs,
    queueUrl: fastify.config.AUDIT_QUEUE_URL,
    log: fastify.log
  }))
}

export default fp(auditPublisherPlugin, { name: 'audit-publisher', dependencies: ['config', 'aws', 'repositories'] })
