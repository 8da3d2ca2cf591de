import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { FeatureEnvParams } from '../src/schemas/features.js'
import { EvaluationContextSchema } from '../src/schemas/evaluate.js'
import { problems } from '../src/schemas/common.js'
import { notFound } from '../src/domain/errors.js'

const ExplainBody = Type.Object({ context: Type.Optional(EvaluationContextSchema) }, { additionalProperties: false })
const ExplainResponse = Type.Object({
  result: Type.Unsafe<object>({ type: 'object', additionalProperties: true, description: '{value, variant, reason, ruleId?, errorCode?}' }),
  trace: Type.Array(Type.Unsafe<object>({ type: 'object', additionalProperties: true }), { description: 'Each step tried, in order, with why it matched or not' })
})

export default async function explainRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.post('/:flag/env/:env/explain', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['evaluation'],
      summary: 'Evaluate with a trace: which targets, rules and clauses were tried and why each matched or not',
      security: [{ bearerAuth: [] }],
      params: FeatureEnvParams,
      body: ExplainBody,
      response: { 200: ExplainResponse, ...problems(400, 401, 403, 404) }
    }
  }, async function explainFlag (request) {
    const { flag, env } = request.params
    const explanation = await fastify.evaluator.explain(flag, env, request.body.context ?? {})
    if (explanation === undefined) throw notFound(`Feature '${flag}' has no config in '${env}'`)
    return explanation
  })
}
