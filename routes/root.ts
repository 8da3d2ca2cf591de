// GET /: where to go from here. A browser is sent to the console (when this app serves one) or to
// the API docs; any other client gets the links as JSON.
import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'

const RootSchema = Type.Object({
  name: Type.Literal('Switchyard'),
  docs: Type.Optional(Type.String({ description: 'The browsable OpenAPI UI' })),
  openapi: Type.String(),
  console: Type.Optional(Type.String({ description: 'The web console' })),
  health: Type.String()
})

export default async function rootRoutes (fastify: FastifyInstance) {
  // Known once every route is registered: the console and the docs UI are optional parts.
  let links: { name: 'Switchyard'; docs?: string; openapi: string; console?: string; health: string } | undefined
  fastify.addHook('onReady', async function findLinks () {
    const has = (url: string) => fastify.hasRoute({ method: 'GET', url })
    links = {
      name: 'Switchyard',
      ...(has('/docs') ? { docs: '/docs' } : {}),
      openapi: '/openapi.json',
      ...(has('/console') ? { console: '/console' } : {}),
      health: '/health'
    }
  })

  fastify.get('/', {
    schema: {
      tags: ['health'],
      summary: 'Where the docs (and the console) are; browsers are redirected there',
      response: { 200: RootSchema }
    }
  }, async function root (request, reply) {
    const found = links ?? { name: 'Switchyard' as const, openapi: '/openapi.json', health: '/health' }
    const page = found.console ?? found.docs
    // Browsers list text/html in Accept; curl and fetch send */* and get the JSON.
    if (page !== undefined && (request.headers.accept ?? '').includes('text/html')) return reply.redirect(page, 303)
    return found
  })
}
