import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { DOCUMENT_SECURITY_HEADERS } from './security-headers.js'

async function swaggerPlugin (fastify: FastifyInstance, opts: { ui?: boolean }) {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Switchyard',
        version: '0.1.0',
        description: 'Feature flags: admin API, evaluation, OpenFeature Remote Evaluation Protocol (OFREP) and audit. Errors are RFC 9457 application/problem+json.'
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key', description: 'A JWT from POST /auth/login, or an API key (sy_…)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An environment-scoped API key' }
        }
      },
      tags: [
        { name: 'auth', description: 'Sign up, log in' },
        { name: 'features', description: 'Flags and their per-environment targeting (ADMIN writes)' },
        { name: 'evaluation', description: 'Evaluate flags for a context' },
        { name: 'ofrep', description: 'OpenFeature Remote Evaluation Protocol' },
        { name: 'sdk', description: 'Rules download and change stream for in-process providers (server API keys)' },
        { name: 'environments', description: 'The environment registry' },
        { name: 'segments', description: 'Reusable audiences' },
        { name: 'audit', description: 'Audit history' },
        { name: 'users', description: 'Roles' },
        { name: 'api-keys', description: 'Service credentials' },
        { name: 'health', description: 'Liveness and readiness' }
      ]
    }
  })
  if (opts.ui !== false) {
    // The UI is a document: helmet's set (plugins/security-headers.ts), not the JSON API's.
    const documentHeaders = fastify.securityHeaders(DOCUMENT_SECURITY_HEADERS)
    await fastify.register(swaggerUi, { routePrefix: '/docs', uiHooks: { onRequest: documentHeaders } })
  }
  fastify.get('/openapi.json', { schema: { hide: true } }, async function openapiDocument () {
    return fastify.swagger()
  })
}

export default fp(swaggerPlugin, { name: 'swagger', dependencies: ['security-headers'] })
