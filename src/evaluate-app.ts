// The evaluation surface alone (EvaluateFunction on AWS): the shared core plugins plus the
// evaluation routes, and nothing else on the hot path. Read-only: it never writes, so the core is
// registered read-only, without app.ts's SQS client and audit publisher (neither built nor
// bundled: a smaller cold start).
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { registerCore, type CoreOptions } from './core.js'
import evaluateRoutes from '../routes/evaluate.js'
import ofrepRoutes from '../routes/ofrep.js'

async function evaluateApp (fastify: FastifyInstance, opts: CoreOptions) {
  await registerCore(fastify, { ...opts, readOnly: true })
  await fastify.register(evaluateRoutes, { prefix: '/features' })
  await fastify.register(ofrepRoutes, { prefix: '/ofrep/v1' })
}

export default fp(evaluateApp, { name: 'switchyard-evaluate' })
