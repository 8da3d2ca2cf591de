import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { SegmentBody, SegmentParams, SegmentSchema, UpdateSegmentBody } from '../src/schemas/segments.js'
import { IfMatchHeaders, NoContent, problems } from '../src/schemas/common.js'
import { requireIfMatch, etag } from '../src/if-match.js'
import { notFound } from '../src/domain/errors.js'
import { requestOrigin } from '../src/request-id.js'

const SECURITY = [{ bearerAuth: [] }]
const meta = (request: FastifyRequest) => ({ actor: request.user.sub, ...requestOrigin(request) })
/** Changing or deleting a segment requires If-Match (428 without it), like flags. */
const guarded = (request: FastifyRequest & { params: { key: string } }) => ({ ...meta(request), ifMatch: requireIfMatch(request.headers['if-match'], `segment '${request.params.key}'`) })

export default async function segmentRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const admin = [fastify.authenticate, fastify.requireRole('ADMIN')]
  const reader = [fastify.authenticate, fastify.requireRole('ADMIN', 'CLIENT')]

  fastify.get('/', {
    onRequest: reader,
    schema: { tags: ['segments'], summary: 'List segments', security: SECURITY, response: { 200: Type.Object({ items: Type.Array(SegmentSchema) }), ...problems(401, 403) } }
  }, async function listSegments () {
    return { items: await fastify.segments.list() }
  })

  fastify.post('/', {
    onRequest: admin,
    schema: { tags: ['segments'], summary: 'Create a segment', security: SECURITY, body: SegmentBody, response: { 201: SegmentSchema, ...problems(400, 401, 403, 409) } }
  }, async function createSegment (request, reply) {
    const seg = await fastify.segments.create(request.body, meta(request))
    return reply.code(201).header('etag', etag(seg.version)).send(seg)
  })

  fastify.get('/:key', {
    onRequest: reader,
    schema: { tags: ['segments'], summary: 'A segment and the flag environments using it', security: SECURITY, params: SegmentParams, response: { 200: Type.Intersect([SegmentSchema, Type.Object({ usedBy: Type.Array(Type.Object({ flag: Type.String(), environment: Type.String() })) })]), ...problems(401, 403, 404) } }
  }, async function getSegment (request, reply) {
    const seg = await fastify.segments.get(request.params.key)
    if (seg === undefined) throw notFound(`Segment '${request.params.key}' not found`)
    reply.header('etag', etag(seg.version))
    return { ...seg, usedBy: await fastify.segments.usage(seg.key) }
  })

  fastify.put('/:key', {
    onRequest: admin,
    schema: { tags: ['segments'], summary: 'Replace a segment; flags using it see the change on their next evaluation', security: SECURITY, params: SegmentParams, headers: IfMatchHeaders, body: UpdateSegmentBody, response: { 200: SegmentSchema, ...problems(400, 401, 403, 404, 409, 412, 428) } }
  }, async function updateSegment (request, reply) {
    const seg = await fastify.segments.update({ ...request.body, key: request.params.key }, guarded(request))
    return reply.header('etag', etag(seg.version)).send(seg)
  })

  fastify.delete('/:key', {
    onRequest: admin,
    schema: { tags: ['segments'], summary: 'Delete a segment (409 while a flag uses it)', security: SECURITY, params: SegmentParams, headers: IfMatchHeaders, response: { 204: NoContent, ...problems(401, 403, 404, 409, 412, 428) } }
  }, async function deleteSegment (request, reply) {
    await fastify.segments.delete(request.params.key, guarded(request))
    return reply.code(204).send(null)
  })
}
