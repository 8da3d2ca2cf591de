import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { FlagName } from '../src/domain/model.js'
import { problems } from '../src/schemas/common.js'
import { AuditRecordSchema } from '../src/schemas/audit.js'

const AuditQuery = Type.Object({
  order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc', description: 'asc = oldest first' }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Type.Optional(Type.String({ maxLength: 2048 }))
})

export default async function auditRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.get('/:flag/audit', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['audit'],
      summary: 'Audit history of a flag (readable after the flag is deleted); eventually consistent',
      security: [{ bearerAuth: [] }],
      params: Type.Object({ flag: FlagName }),
      querystring: AuditQuery,
      response: { 200: Type.Object({ items: Type.Array(AuditRecordSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }), ...problems(400, 401, 403) }
    }
  }, async function listAudit (request) {
    return await fastify.audit.list(request.params.flag, request.query)
  })
}
