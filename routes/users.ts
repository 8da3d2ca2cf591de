import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { RoleBody, UserParams, UserSchema } from '../src/schemas/auth.js'
import { problems } from '../src/schemas/common.js'

export default async function userRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.put('/:email/role', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['users'],
      summary: 'Promote or demote a user (audited; their old tokens stop working on admin routes)',
      security: [{ bearerAuth: [] }],
      params: UserParams,
      body: RoleBody,
      response: { 200: UserSchema, ...problems(400, 401, 403, 404, 409) }
    }
  }, async function setRole (request) {
    return await fastify.users.setRole(request.params.email, request.body.role, { actor: request.user.sub, requestId: request.id })
  })
}
