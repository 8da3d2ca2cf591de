import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createEvaluator, type Evaluator } from '../src/evaluation/evaluator.js'

declare module 'fastify' {
  interface FastifyInstance { evaluator: Evaluator }
}

async function evaluatorPlugin (fastify: FastifyInstance) {
  const evaluator = createEvaluator({ source: fastify.features, now: fastify.clock, ttlMs: fastify.config.EVAL_CACHE_TTL_MS })
  // Read-your-writes within this process: a committed change to an environment item drops it
  // from the cache at once. Other processes (other Lambda instances) see it within the TTL.
  fastify.store.onCommit(function invalidateCommitted (keys) {
    for (const k of keys) {
      if (k.PK.startsWith('ENVIRONMENT#') && k.SK.startsWith('ENV#')) {
        evaluator.invalidate(k.PK.slice('ENVIRONMENT#'.length), k.SK.slice('ENV#'.length))
      }
    }
  })
  fastify.decorate('evaluator', evaluator)
}

export default fp(evaluatorPlugin, { name: 'evaluator', dependencies: ['config', 'repositories'] })
