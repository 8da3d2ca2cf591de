import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { createEvaluator, type Evaluator } from '../src/evaluation/evaluator.js'
import { createRateLimiter, rateLimitHeaders, type RateLimiter } from '../src/evaluation/rate-limiter.js'
import { tooManyRequests } from '../src/domain/errors.js'
import type { Principal } from './auth.js'

declare module 'fastify' {
  interface FastifyInstance {
    evaluator: Evaluator
    /** The evaluation routes' budget per credential (RATE_LIMIT_PER_MINUTE), shared by the REST and OFREP evaluation routes. */
    evaluationLimiter: RateLimiter
    /** onRequest hook for evaluation routes, after authentication: count the request against its credential. */
    evaluationRateLimit: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  }
}

/** The rate-limit key of an authenticated principal: one budget per API key, or per user. */
export function evaluationRateKey (p: Principal): string {
  return p.kind === 'apiKey' ? `apikey:${p.keyId}` : `user:${p.sub}`
}

async function evaluatorPlugin (fastify: FastifyInstance) {
  const evaluator = createEvaluator({ source: fastify.definitions, now: fastify.clock, ttlMs: fastify.config.EVAL_CACHE_TTL_MS })
  // Read-your-writes within this process: a committed change to an environment item drops it
  // from the cache at once. Other processes (other Lambda instances) see it within the TTL.
  fastify.store.onCommitted(function invalidateCommitted ({ keys }) {
    for (const k of keys) {
      if (k.PK.startsWith('ENVIRONMENT#') && k.SK.startsWith('ENV#')) {
        evaluator.invalidate(k.PK.slice('ENVIRONMENT#'.length), k.SK.slice('ENV#'.length))
      }
    }
  })
  fastify.decorate('evaluator', evaluator)

  const limiter = createRateLimiter({ max: fastify.config.RATE_LIMIT_PER_MINUTE, windowMs: 60_000, now: fastify.clock })
  fastify.decorate('evaluationLimiter', limiter)
  // Principals are cached objects (the API-key and token caches hand out the same one while it
  // is valid): their key is built once, not as a new string to hash on every request.
  const rateKeys = new WeakMap<Principal, string>()
  const limitText = String(fastify.config.RATE_LIMIT_PER_MINUTE)
  // Synchronous: it runs on every evaluation. Per credential, not per IP: many services behind
  // one NAT do not share a budget, and two keys of one environment have one each.
  fastify.decorate('evaluationRateLimit', function evaluationRateLimit (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const p = request.user
    let key = rateKeys.get(p)
    if (key === undefined) rateKeys.set(p, key = evaluationRateKey(p))
    const state = limiter.hit(key)
    if (!state.allowed) {
      reply.headers(rateLimitHeaders(state))
      return done(tooManyRequests(`Rate limit of ${state.limit} evaluations a minute exceeded for this credential; retry in ${state.resetSeconds} s`, state.resetSeconds))
    }
    // rateLimitHeaders(state) set one by one: no object to build and walk on every request.
    reply.header('x-ratelimit-limit', limitText).header('x-ratelimit-remaining', String(state.remaining)).header('x-ratelimit-reset', String(state.resetSeconds))
    done()
  })
}

export default fp(evaluatorPlugin, { name: 'evaluator', dependencies: ['config', 'store'] })
