import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { EvaluateBody, EvaluationResponse } from '../src/schemas/evaluate.js'
import { problems } from '../src/schemas/common.js'
import { forbidden, notFound } from '../src/domain/errors.js'
import type { EvaluationResult } from '../src/domain/model.js'

export function isEnabled (type: string | undefined, r: EvaluationResult): boolean {
  if (type === 'boolean') return r.value === true
  return r.reason !== 'DISABLED' && r.reason !== 'ERROR'
}

/** Which of the two names is wrong (only on the 404 path: two reads the answer is worth). */
async function whatIsMissing (fastify: FastifyInstance, feature: string, environment: string) {
  const [env, flag] = await Promise.all([fastify.definitions.environmentExists(environment), fastify.definitions.featureExists(feature)])
  if (!env) {
    return notFound(`Environment '${environment}' is not registered (see GET /environments)`, [{ path: '/body/environment', message: 'unknown environment' }])
  }
  if (!flag) return notFound(`Feature '${feature}' does not exist (see GET /features)`, [{ path: '/body/feature', message: 'unknown feature' }])
  return notFound(`Feature '${feature}' has no config in '${environment}': add one with PUT /features/${feature}/env/${environment}`, [{ path: '/body/environment', message: `no config of '${feature}' here` }])
}

export default async function evaluateRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.post('/evaluate', {
    // Authentication, then the per-credential rate limit (429 + Retry-After).
    onRequest: [fastify.authenticate, fastify.requireEvaluationAccess, fastify.evaluationRateLimit],
    // A per-minute summary instead of two log lines per request (src/access-log.ts).
    config: { accessLog: 'summary' },
    schema: {
      tags: ['evaluation'],
      summary: 'Evaluate one flag for a context',
      security: [{ bearerAuth: [] }, { apiKey: [] }],
      body: EvaluateBody,
      response: { 200: EvaluationResponse, ...problems(400, 401, 403, 404, 429) }
    }
  }, async function evaluateFlag (request) {
    const { feature, environment, context } = request.body
    const p = request.user
    if (p.kind === 'apiKey' && p.environment !== environment) throw forbidden(`This API key is for '${p.environment}', not '${environment}'`)
    const { result, definition } = fastify.evaluator.evaluateCached(feature, environment, context ?? {}) ??
      await fastify.evaluator.evaluate(feature, environment, context ?? {})
    if (result.errorCode === 'FLAG_NOT_FOUND') throw await whatIsMissing(fastify, feature, environment)
    return { feature, environment, enabled: isEnabled(definition?.type, result), ...result }
  })
}
