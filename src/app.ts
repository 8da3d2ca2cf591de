// The whole Switchyard API as one Fastify plugin, built from a typed config (CONVENTIONS.md §1).
// server.ts listens; lambda/api.ts hands it to @fastify/aws-lambda.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { SQSClient } from '@aws-sdk/client-sqs'
import rateLimit from '@fastify/rate-limit'
import { registerCore, type CoreOptions } from './core.js'
import repositoriesPlugin from '../plugins/repositories.js'
import { API_KEY_PREFIX, presentedCredential } from '../plugins/auth.js'
import auditPublisherPlugin from '../plugins/audit-publisher.js'
import swaggerPlugin from '../plugins/swagger.js'
import bootstrapPlugin from '../plugins/bootstrap.js'
import authRoutes from '../routes/auth.js'
import featureRoutes from '../routes/features.js'
import evaluateRoutes from '../routes/evaluate.js'
import auditRoutes from '../routes/audit.js'
import environmentRoutes from '../routes/environments.js'
import userRoutes from '../routes/users.js'
import healthRoutes from '../routes/health.js'
import apiKeyRoutes from '../routes/api-keys.js'
import ofrepRoutes from '../routes/ofrep.js'
import segmentRoutes from '../routes/segments.js'
import explainRoutes from '../routes/explain.js'
import consoleRoutes from '../routes/console.js'
import sdkRoutes from '../routes/sdk.js'
import webhooksPlugin, { type WebhooksPluginOptions } from '../plugins/webhooks.js'
import webhookRoutes from '../routes/webhooks.js'
import rootRoutes from '../routes/root.js'

export interface AppOptions extends CoreOptions {
  /** Seed environments and the ADMIN_EMAIL account on ready (default true). */
  bootstrap?: boolean
  /** Serve the Swagger UI at /docs (default true). */
  docsUi?: boolean
  /** A seam for tests and fault injection: the write side's SQS client (built when absent). */
  sqs?: SQSClient
  /** The built console directory (default: dist/console, see routes/console.ts). */
  consoleDir?: string
  /**
   * Serve GET /sdk/v1/stream (default false): only a long-running server can hold responses
   * open (src/local/dev.ts turns it on); an HTTP API in front of Lambda cannot.
   */
  sdkStream?: boolean
  /** Seams of the webhook routes (name resolution of the save-time URL check). */
  webhooks?: WebhooksPluginOptions
}

async function app (fastify: FastifyInstance, opts: AppOptions) {
  await registerCore(fastify, opts)
  // Per-route limits (login and signup, routes/auth.ts). Evaluation has its own limiter
  // (plugins/evaluator.ts), so the evaluate surface neither registers nor bundles this one.
  await fastify.register(rateLimit, {
    global: false,
    // Per service credential when one is sent (the key id part of an API key), else per address.
    keyGenerator: function rateLimitKey (request) {
      const presented = presentedCredential(request.headers)
      const key = presented?.kind === 'apiKey' && presented.secret.startsWith(API_KEY_PREFIX) ? presented.secret.split('_').slice(0, 3).join('_') : undefined
      return key !== undefined ? `key:${key}` : `ip:${request.ip}`
    }
  })
  // The write side: its repositories, and the SQS client and audit publisher that listen to commits.
  await fastify.register(repositoriesPlugin)
  await fastify.register(auditPublisherPlugin, { sqs: opts.sqs })
  await fastify.register(webhooksPlugin, opts.webhooks ?? {})
  await fastify.register(swaggerPlugin, { ui: opts.docsUi })
  if (opts.bootstrap !== false) await fastify.register(bootstrapPlugin)

  await fastify.register(authRoutes, { prefix: '/auth' })
  await fastify.register(evaluateRoutes, { prefix: '/features' })
  await fastify.register(featureRoutes, { prefix: '/features' })
  await fastify.register(auditRoutes, { prefix: '/features' })
  await fastify.register(explainRoutes, { prefix: '/features' })
  await fastify.register(segmentRoutes, { prefix: '/segments' })
  await fastify.register(environmentRoutes, { prefix: '/environments' })
  await fastify.register(userRoutes, { prefix: '/users' })
  await fastify.register(healthRoutes, { prefix: '/health' })
  await fastify.register(apiKeyRoutes, { prefix: '/api-keys' })
  await fastify.register(ofrepRoutes, { prefix: '/ofrep/v1' })
  await fastify.register(consoleRoutes, { prefix: '/console', dir: opts.consoleDir })
  // The rules for in-process providers, and on the long-running server their change stream
  // (on AWS the template routes /sdk/v1/flags to the EvaluateFunction).
  await fastify.register(sdkRoutes, { prefix: '/sdk/v1', stream: opts.sdkStream === true })
  await fastify.register(webhookRoutes, { prefix: '/webhooks' })
  await fastify.register(rootRoutes)
}

export default fp(app, { name: 'switchyard' })
