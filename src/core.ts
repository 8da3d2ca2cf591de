// The plugins every Switchyard surface shares, registered in layers (CONVENTIONS.md §2):
// config and external clients, then app plugins. Routes are added by app.ts / evaluate-app.ts.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import underPressure from '@fastify/under-pressure'
import configPlugin from '../plugins/config.js'
import securityHeadersPlugin from '../plugins/security-headers.js'
import validationPlugin from '../plugins/validation.js'
import errorHandlerPlugin, { sendProblem } from '../plugins/error-handler.js'
import awsPlugin, { type AwsPluginOptions } from '../plugins/aws.js'
import storePlugin, { type StorePluginOptions } from '../plugins/store.js'
import authPlugin, { type AuthPluginOptions } from '../plugins/auth.js'
import apiKeysPlugin from '../plugins/api-keys.js'
import evaluatorPlugin from '../plugins/evaluator.js'
import { ProblemSchema } from './schemas/common.js'
import { serviceUnavailable } from './domain/errors.js'
import { sharedSerializerFactory } from './schema-compilers.js'
import { SummarisingLogController } from './access-log.js'
import { requestLogger } from './request-logger.js'
import { lambdaRequestId, serverRequestId } from './request-id.js'

export interface CoreOptions extends AwsPluginOptions, StorePluginOptions, AuthPluginOptions {
  env?: Record<string, string | undefined>
}

/** CORS_ORIGINS as src/cors.ts takes it: true (reflect any origin) for `*`, else the list. */
export function corsOrigin (setting: string): true | string[] {
  const origins = setting.split(',').map((o) => o.trim()).filter((o) => o !== '')
  return origins.includes('*') ? true : origins
}

/** Response headers browsers may read (ETag for OFREP polling, Retry-After, Location, the request and correlation ids). */
export const CORS_EXPOSED_HEADERS = 'etag, retry-after, location, x-request-id, x-correlation-id'

// On AWS, API Gateway's CorsConfiguration (template.yaml) answers instead of this plugin;
// `npm run check:template` proves it has these same methods, headers and max age.
export const CORS_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'if-match', 'if-none-match', 'x-api-key', 'x-environment', 'x-request-id', 'x-correlation-id']
export const CORS_MAX_AGE_SECONDS = 600

export async function registerCore (fastify: FastifyInstance, opts: CoreOptions): Promise<void> {
  await fastify.register(configPlugin, { env: opts.env })
  await fastify.register(validationPlugin)
  await fastify.register(errorHandlerPlugin)
  fastify.addSchema(ProblemSchema)
  // The OWASP REST set on API answers, document headers on /docs, the request ids and CORS, in
  // one hook (plugins/security-headers.ts).
  await fastify.register(securityHeadersPlugin, {
    cors: {
      origins: corsOrigin(fastify.config.CORS_ORIGINS),
      methods: CORS_METHODS,
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAgeSeconds: CORS_MAX_AGE_SECONDS
    }
  })
  // Shed load (503 + Retry-After) when the event loop is badly delayed, instead of timing out
  // every request. Utilization is not used: a busy, healthy server runs near 100 %.
  // Boot (route schema compilation) stalls the loop for a second or more; the samples covering it
  // measure start-up, not load, so shedding starts two sample windows after ready.
  const now = opts.now ?? Date.now
  let shedAfter = Number.POSITIVE_INFINITY
  fastify.addHook('onReady', async function armLoadShedding () { shedAfter = now() + 2_000 })
  await fastify.register(underPressure, {
    maxEventLoopDelay: fastify.config.SHED_EVENT_LOOP_DELAY_MS,
    sampleInterval: 1_000,
    pressureHandler: () => { if (now() >= shedAfter) throw serviceUnavailable('Server is overloaded; retry shortly', 1) },
    exposeStatusRoute: false
  })
  await fastify.register(awsPlugin, { dynamo: opts.dynamo })
  // The store and the definitions reader only: the write side's repositories, SQS client and
  // audit publisher are registered by app.ts, so that this file, which the EvaluateFunction
  // bundles, imports none of them.
  await fastify.register(storePlugin, { now: opts.now, ids: opts.ids })
  await fastify.register(authPlugin, { jwtSecretSource: opts.jwtSecretSource })
  await fastify.register(apiKeysPlugin)
  await fastify.register(evaluatorPlugin)
}

/**
 * Fastify answers a malformed URL (400) or a path parameter over maxParamLength (414) itself,
 * before routing, the hooks and the error handler: keep those RFC 9457 too, with the headers
 * every answer carries (no onRequest hook sets them here). The URL is not echoed back.
 */
function frameworkError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode === 414 ? 414 : 400
  // Absent only on an instance without the core plugins.
  if (typeof request.server.fixedHeaders === 'function') request.server.fixedHeaders(request, reply)
  void sendProblem(reply, {
    type: 'about:blank',
    title: status === 414 ? 'URI Too Long' : 'Bad Request',
    status,
    detail: status === 414 ? 'A path parameter is longer than the server accepts' : 'The request URL is not valid (malformed percent-encoding?)',
    requestId: request.id
  })
}

/** The long-running server's connection limits (ignored on Lambda, where nothing listens). */
export interface HttpLimits {
  /** Whole request (headers and body) received within this (408 after). */
  requestTimeoutMs: number
  /** Headers received within this, counted from the connection or the previous answer. */
  headersTimeoutMs: number
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number
  /** Requests served on one connection before it is closed (Connection: close on the last). */
  maxRequestsPerSocket: number
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, maxRequestsPerSocket: 1_000 }

/** Fastify server options shared by the local server and the Lambda functions. */
export function serverOptions (logLevel: string, limits: HttpLimits = DEFAULT_HTTP_LIMITS, shape: 'server' | 'lambda' = 'server') {
  return {
    logger: {
      level: logLevel,
      redact: {
        paths: [
          'req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie',
          '*.password', '*.passwordHash', '*.secret', '*.access_token', '*.token', '*.JWT_SECRET', '*.ADMIN_PASSWORD'
        ],
        censor: '[redacted]'
      }
    },
    // The evaluation routes log a per-minute summary instead of two lines per request (src/access-log.ts).
    logController: new SummarisingLogController(),
    // request.log is made when something logs (src/request-logger.ts).
    childLoggerFactory: requestLogger,
    bodyLimit: 1024 * 1024,
    // The server's own request ids, never a client's (src/request-id.ts).
    requestIdHeader: false as const,
    genReqId: shape === 'lambda' ? lambdaRequestId : serverRequestId,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    schemaController: { compilersFactory: { buildSerializer: sharedSerializerFactory() } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
    frameworkErrors: frameworkError,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // How often Node looks for connections over those timeouts (default every 30 s).
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      // A repeated Authorization header is joined with ', ' (so it is no credential at all), as
      // API Gateway joins repeated headers, instead of Node keeping the first one.
      joinDuplicateHeaders: true
    }
  }
}
