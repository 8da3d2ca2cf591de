import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { EnvName } from '../src/domain/model.js'
import { problems } from '../src/schemas/common.js'
import { requestOrigin } from '../src/request-id.js'

const EnvironmentSchema = Type.Object({ name: Type.String(), description: Type.String(), createdAt: Type.String(), createdBy: Type.String() })
const CreateEnvironmentBody = Type.Object({ name: EnvName, description: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false })

export default async function environmentRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.get('/', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN', 'CLIENT')],
    schema: { tags: ['environments'], summary: 'The environment registry', security: [{ bearerAuth: [] }], response: { 200: Type.Object({ items: Type.Array(EnvironmentSchema) }), ...problems(401, 403) } }
  }, async function listEnvironments () {
    return { items: await fastify.environments.list() }
  })
  fastify.post('/', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: { tags: ['environments'], summary: 'Register an environment', security: [{ bearerAuth: [] }], body: CreateEnvironmentBody, response: { 201: EnvironmentSchema, ...problems(400, 401, 403, 409) } }
  }, async function createEnvironment (request, reply) {
    const env = await fastify.environments.create(request.body, { actor: request.user.sub, ...requestOrigin(request) })
    return reply.code(201).send(env)
  })
}
