// Service credentials (ADMIN only). The secret is in the 201 response and nowhere else.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  ApiKeyAuditList, ApiKeyAuditQuery, ApiKeyListSchema, ApiKeyParams, ApiKeySchema, CreateApiKeyBody, CreatedApiKeySchema, ListApiKeysQuery
} from '../src/schemas/api-keys.js'
import { NoContent, problems } from '../src/schemas/common.js'
import { notFound } from '../src/domain/errors.js'
import { requestOrigin } from '../src/request-id.js'

const SECURITY = [{ bearerAuth: [] }]

export default async function apiKeyRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()

  fastify.post('/', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['api-keys'],
      summary: 'Create an API key for one environment; the secret is shown once',
      security: SECURITY,
      body: CreateApiKeyBody,
      response: { 201: CreatedApiKeySchema, ...problems(400, 401, 403) }
    }
  }, async function createApiKey (request, reply) {
    const created = await fastify.apiKeys.create(request.body, { actor: request.user.sub, ...requestOrigin(request) })
    // The response carries a credential: no cache may keep it.
    reply.header('cache-control', 'no-store').header('location', `/api-keys/${created.id}`)
    return reply.code(201).send(created)
  })

  fastify.get('/', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['api-keys'],
      summary: 'List API keys in creation order (never their secrets)',
      security: SECURITY,
      querystring: ListApiKeysQuery,
      response: { 200: ApiKeyListSchema, ...problems(400, 401, 403) }
    }
  }, async function listApiKeys (request) {
    return await fastify.apiKeys.list(request.query)
  })

  fastify.get('/:id', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['api-keys'],
      summary: 'One API key (never its secret)',
      security: SECURITY,
      params: ApiKeyParams,
      response: { 200: ApiKeySchema, ...problems(400, 401, 403, 404) }
    }
  }, async function getApiKey (request) {
    const key = await fastify.apiKeys.get(request.params.id)
    if (key === undefined) throw notFound(`API key '${request.params.id}' not found`)
    return key
  })

  fastify.get('/:id/audit', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['api-keys', 'audit'],
      summary: 'Audit history of an API key (creation, revocation); eventually consistent',
      security: SECURITY,
      params: ApiKeyParams,
      querystring: ApiKeyAuditQuery,
      response: { 200: ApiKeyAuditList, ...problems(400, 401, 403) }
    }
  }, async function listApiKeyAudit (request) {
    return await fastify.audit.list(`apikey:${request.params.id}`, request.query)
  })

  fastify.delete('/:id', {
    onRequest: [fastify.authenticate, fastify.requireRole('ADMIN')],
    schema: {
      tags: ['api-keys'],
      summary: 'Revoke an API key (audited; effective at once on this process, within seconds elsewhere)',
      security: SECURITY,
      params: ApiKeyParams,
      response: { 204: NoContent, ...problems(400, 401, 403, 404) }
    }
  }, async function revokeApiKey (request, reply) {
    await fastify.apiKeys.revoke(request.params.id, { actor: request.user.sub, ...requestOrigin(request) })
    return reply.code(204).send(null)
  })
}
