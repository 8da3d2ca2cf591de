import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ListUsersQuery, RoleBody, UserListSchema, UserParams, UserSchema } from '../src/schemas/auth.js'
import { problems } from '../src/schemas/common.js'
import { requestOrigin } from '../src/request-id.js'

export default async function userRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.get('/', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['users'],
      summary: 'List accounts by email, with their roles (paginated; ?role= to filter)',
      security: [{ bearerAuth: [] }],
      querystring: ListUsersQuery,
      response: { 200: UserListSchema, ...problems(400, 401, 403) }
    }
  }, async function listUsers (request) {
    return await fastify.users.list(request.query)
  })

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
    return await fastify.users.setRole(request.params.email, request.body.role, { actor: request.user.sub, ...requestOrigin(request) })
  })
}
