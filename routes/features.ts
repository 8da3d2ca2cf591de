import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  CreateFeatureBody, UpdateFeatureBody, EnvConfigBody, FeatureSchema, FeatureListSchema, FeatureParams,
  FeatureEnvParams, ListFeaturesQuery, PutEnvResponse
} from '../src/schemas/features.js'
import { IfMatchHeaders, NoContent, problems } from '../src/schemas/common.js'
import { parseIfMatch, requireIfMatch, etag } from '../src/if-match.js'
import type { EnvTargeting } from '../src/domain/model.js'
import type { EnvTargetingInput } from '../src/domain/flag-input.js'
import { AppError, notFound } from '../src/domain/errors.js'
import type { FeatureWithEnvironments } from '../src/repositories/feature-repository.js'
import type { WriteMeta } from '../src/repositories/store.js'
import { requestOrigin } from '../src/request-id.js'

const SECURITY = [{ bearerAuth: [] }]

/** The id of the scheduled change the original system's `enableAt` stands for. */
const ENABLE_AT_ID = 'enable-at'

/**
 * An environment config as sent (`true`/`false` for a simple boolean flag, `enableAt` for a
 * scheduled enable) in the stored model's shape. No validation here: the schema checked the
 * shape, and the repository checks the rest once (validateFlag).
 */
function fromBody (body: EnvConfigBody | boolean): EnvTargetingInput {
  const b: EnvConfigBody = typeof body === 'boolean' ? { enabled: body } : body
  let schedule = b.schedule ?? []
  if (b.enableAt !== undefined) {
    schedule = schedule.filter((s) => s.id !== ENABLE_AT_ID)
    if (b.enableAt !== null) schedule.push({ id: ENABLE_AT_ID, at: b.enableAt, change: { enabled: true } })
  }
  return { enabled: b.enabled, offVariant: b.offVariant, defaultServe: b.defaultServe, targets: b.targets ?? [], rules: b.rules ?? [], prerequisites: b.prerequisites ?? [], schedule }
}

/** The original system's `enableAt`, read back from the schedule. */
function enableAtOf (t: Pick<EnvTargeting, 'schedule'>): string | null {
  return t.schedule.find((s) => s.id === ENABLE_AT_ID)?.at ?? null
}

export function featureView (f: FeatureWithEnvironments) {
  return {
    ...f,
    environments: Object.fromEntries(Object.entries(f.environments).map(([env, c]) => [env, { ...c, enableAt: enableAtOf(c) }]))
  }
}

function meta (request: FastifyRequest): WriteMeta {
  return { actor: request.user.sub, ...requestOrigin(request) }
}

/**
 * The repository validates the whole flag and points into it (`/environments/prod/rules/0/…`);
 * the answer must point into the request the caller sent. `rewrite` maps one pointer, or returns
 * it unchanged when it is about something else.
 */
async function pointingIntoRequest<T> (work: Promise<T>, rewrite: (path: string) => string): Promise<T> {
  try {
    return await work
  } catch (err) {
    if (!(err instanceof AppError) || err.errors === undefined || err.statusCode !== 400) throw err
    const errors = err.errors.map((e) => ({ path: rewrite(e.path), message: e.message }))
    if (errors.every((e, i) => e.path === err.errors![i].path)) throw err
    const detail = err.errors.reduce((d, e, i) => d.split(`${e.path}:`).join(`${errors[i].path}:`), err.message)
    throw new AppError(err.statusCode, err.title, detail, { type: err.type, errors, headers: err.headers })
  }
}

/** For changes to existing state: If-Match is required (428 without it). */
function guarded (request: FastifyRequest, resource: string): WriteMeta {
  return { ...meta(request), ifMatch: requireIfMatch(request.headers['if-match'], resource) }
}

export default async function featureRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const admin = [fastify.authenticate, fastify.requireRole('ADMIN')]
  const reader = [fastify.authenticate, fastify.requireRole('ADMIN', 'CLIENT')]

  fastify.post('/', {
    onRequest: admin,
    schema: {
      tags: ['features'],
      summary: 'Create a flag and its environment configs',
      security: SECURITY,
      body: CreateFeatureBody,
      response: { 201: FeatureSchema, ...problems(400, 401, 403, 409) }
    }
  }, async function createFeature (request, reply) {
    const body = request.body
    const environments = Object.fromEntries(Object.entries(body.environments).map(([env, cfg]) => [env, fromBody(cfg as EnvConfigBody | boolean)]))
    const created = await pointingIntoRequest(fastify.features.create({
      name: body.name, description: body.description, type: body.type ?? 'boolean', variants: body.variants, tags: body.tags, environments
    }, meta(request)), (path) => /^\/(environments|variants)(\/|$)/.test(path) ? `/body${path}` : path)
    reply.header('etag', etag(created.version)).header('location', `/features/${created.name}`)
    return reply.code(201).send(featureView(created))
  })

  fastify.get('/', {
    onRequest: reader,
    schema: {
      tags: ['features'],
      summary: 'List flags (paginated, by name)',
      security: SECURITY,
      querystring: ListFeaturesQuery,
      response: { 200: FeatureListSchema, ...problems(400, 401, 403) }
    }
  }, async function listFeatures (request) {
    const { include, ...query } = request.query
    const page = await fastify.features.list(query)
    if (include !== 'environments') return page
    // One read per flag of the page, in parallel; a flag deleted meanwhile is left out.
    const full = await Promise.all(page.items.map((f) => fastify.features.get(f.name)))
    return { items: full.filter((f) => f !== undefined).map(featureView), nextCursor: page.nextCursor }
  })

  fastify.get('/:flag', {
    onRequest: reader,
    schema: {
      tags: ['features'],
      summary: 'A flag with all its environment configs; ETag is its version',
      security: SECURITY,
      params: FeatureParams,
      response: { 200: FeatureSchema, ...problems(400, 401, 403, 404) }
    }
  }, async function getFeature (request, reply) {
    const f = await fastify.features.get(request.params.flag)
    if (f === undefined) throw notFound(`Feature '${request.params.flag}' not found`)
    reply.header('etag', etag(f.version))
    return featureView(f)
  })

  fastify.patch('/:flag', {
    onRequest: admin,
    schema: {
      tags: ['features'],
      summary: 'Change description, tags or variants',
      security: SECURITY,
      params: FeatureParams,
      headers: IfMatchHeaders,
      body: UpdateFeatureBody,
      response: { 200: FeatureSchema, ...problems(400, 401, 403, 404, 409, 412, 428) }
    }
  }, async function updateFeature (request, reply) {
    const f = await fastify.features.update(request.params.flag, request.body, guarded(request, `feature '${request.params.flag}'`))
    reply.header('etag', etag(f.version))
    return featureView(f)
  })

  fastify.delete('/:flag', {
    onRequest: admin,
    schema: {
      tags: ['features'],
      summary: 'Delete a flag and all its environment configs (audit history stays)',
      security: SECURITY,
      params: FeatureParams,
      headers: IfMatchHeaders,
      response: { 204: NoContent, ...problems(400, 401, 403, 404, 412, 428) }
    }
  }, async function deleteFeature (request, reply) {
    await fastify.features.delete(request.params.flag, guarded(request, `feature '${request.params.flag}'`))
    return reply.code(204).send(null)
  })

  fastify.put('/:flag/env/:env', {
    onRequest: admin,
    schema: {
      tags: ['features'],
      summary: 'Set (create or replace) a flag\'s config in one environment',
      security: SECURITY,
      params: FeatureEnvParams,
      headers: IfMatchHeaders,
      body: EnvConfigBody,
      response: { 200: PutEnvResponse, ...problems(400, 401, 403, 404, 409, 412, 428) }
    }
  }, async function putFeatureEnv (request, reply) {
    const { flag, env } = request.params
    // Without If-Match this can only create the environment's config, never replace one.
    const header = request.headers['if-match']
    const writeMeta: WriteMeta = header === undefined ? { ...meta(request), createOnly: true } : { ...meta(request), ifMatch: parseIfMatch(header) }
    const own = `/environments/${env}`
    const { config, version } = await pointingIntoRequest(fastify.features.putEnv(flag, env, fromBody(request.body), writeMeta),
      (path) => path === own ? '/params/env' : path.startsWith(`${own}/`) ? `/body${path.slice(own.length)}` : path)
    reply.header('etag', etag(version))
    return { feature: flag, environment: env, version, config: { ...config, enableAt: enableAtOf(config) } }
  })

  fastify.delete('/:flag/env/:env', {
    onRequest: admin,
    schema: {
      tags: ['features'],
      summary: 'Remove a flag\'s config from one environment',
      security: SECURITY,
      params: FeatureEnvParams,
      headers: IfMatchHeaders,
      response: { 204: NoContent, ...problems(400, 401, 403, 404, 412, 428) }
    }
  }, async function deleteFeatureEnv (request, reply) {
    await fastify.features.deleteEnv(request.params.flag, request.params.env, guarded(request, `feature '${request.params.flag}'`))
    return reply.code(204).send(null)
  })
}
