// The evaluation surface alone (EvaluateFunction on AWS): the shared core plugins (the store and
// the definitions reader, auth, API keys, the evaluator) plus the evaluation routes, and nothing
// else on the hot path. Read-only: none of app.ts's write side (repositories, SQS client, audit
// publisher) is built or bundled: a smaller cold start.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { registerCore, type CoreOptions } from './core.js'
import evaluateRoutes from '../routes/evaluate.js'
import ofrepRoutes from '../routes/ofrep.js'
import sdkRoutes, { LAMBDA_UNCOMPRESSED_LIMIT } from '../routes/sdk.js'

export interface EvaluateAppOptions extends CoreOptions {
  /** See routes/sdk.ts (default LAMBDA_UNCOMPRESSED_LIMIT: this surface runs on Lambda). */
  sdkMaxUncompressedBytes?: number
}

async function evaluateApp (fastify: FastifyInstance, opts: EvaluateAppOptions) {
  await registerCore(fastify, opts)
  await fastify.register(evaluateRoutes, { prefix: '/features' })
  await fastify.register(ofrepRoutes, { prefix: '/ofrep/v1' })
  // GET /sdk/v1/flags (read-only); no stream: an HTTP API cannot hold a response open.
  await fastify.register(sdkRoutes, { prefix: '/sdk/v1', maxUncompressedBytes: opts.sdkMaxUncompressedBytes ?? LAMBDA_UNCOMPRESSED_LIMIT })
}

export default fp(evaluateApp, { name: 'switchyard-evaluate' })
