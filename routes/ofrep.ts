// OpenFeature Remote Evaluation Protocol (OFREP), registered under /ofrep/v1 on both surfaces
// (the whole API and the EvaluateFunction). Any OpenFeature SDK with an OFREP provider can
// evaluate Switchyard flags through it. See docs/OPENFEATURE.md.
//
// - The environment comes from the API key; a user token (ADMIN or CLIENT JWT) names it with the
//   X-Environment header or the `environment` query parameter.
// - Errors the protocol defines (400 invalid request/context, 404 flag not found) answer in OFREP's
//   shape, so SDKs surface the right error code; 401/403/429/5xx keep the service-wide
//   problem+json (OFREP defines no body for them; SDKs act on the status alone).
// - Bulk evaluation reads the environment's flags with paginated GSI1 Queries (never a Scan) and
//   answers an ETag over the evaluated result; If-None-Match with it gives 304. The serialized
//   answer and its ETag are cached per (environment, context) until a write in the environment
//   or EVAL_CACHE_TTL_MS (src/evaluation/evaluator.ts), so a revalidation costs a lookup.
import { createHash } from 'node:crypto'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  OfrepBulkEvaluationFailure, OfrepBulkEvaluationSuccess, OfrepConfiguration, OfrepEvaluationFailure,
  OfrepEvaluationRequest, OfrepEvaluationSuccess, OfrepFlagNotFound, OfrepFlagParams, OfrepHeaders, OfrepQuery,
  type OfrepErrorCode
} from '../src/schemas/ofrep.js'
import { problems } from '../src/schemas/common.js'
import { forbidden } from '../src/domain/errors.js'
import { ENV_NAME_PATTERN, FLAG_NAME_PATTERN, type EvaluationResult, type FlagDefinition } from '../src/domain/model.js'
import { TtlLru } from '../src/lib/ttl-lru.js'
import { ifNoneMatchMatches } from '../src/if-match.js'
import { canonicalJson, contextKey, type EvaluatedFlag, type RenderedBulk } from '../src/evaluation/evaluator.js'

const SECURITY: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { apiKey: [] }]
const ENV_RE = new RegExp(ENV_NAME_PATTERN)
const FLAG_RE = new RegExp(FLAG_NAME_PATTERN)
const Type304 = { type: 'null', description: 'Not modified: the evaluated result still has the ETag sent in If-None-Match' } as const

/** A request OFREP answers with 400 and an error code (thrown by handlers, shaped by the error handler). */
export class OfrepRequestError extends Error {
  constructor (readonly errorCode: Exclude<OfrepErrorCode, 'FLAG_NOT_FOUND'>, message: string) {
    super(message)
    this.name = 'OfrepRequestError'
  }
}

type OfrepResult =
  | { key: string; value: unknown; reason: string; variant?: string; metadata: Record<string, string | number | boolean> }
  | { key: string; errorCode: Exclude<OfrepErrorCode, 'FLAG_NOT_FOUND'>; errorDetails: string }

/** Map an engine result to OFREP, keeping the engine's value, variant and reason as they are. */
export function toOfrep (key: string, definition: FlagDefinition | undefined, r: EvaluationResult): OfrepResult {
  if (r.reason === 'ERROR' || r.errorCode !== undefined) {
    const code = r.errorCode ?? 'GENERAL'
    // TYPE_MISMATCH is an SDK-side code, and a missing flag is the caller's 404 (never an entry of
    // a bulk answer, which lists the flags that exist): anything else unexpected is GENERAL.
    const errorCode = code === 'TYPE_MISMATCH' || code === 'FLAG_NOT_FOUND' ? 'GENERAL' : code
    return { key, errorCode, errorDetails: r.errorMessage ?? `Evaluation of '${key}' failed (${code})` }
  }
  const metadata: Record<string, string | number | boolean> = {}
  if (definition !== undefined) {
    metadata.environment = definition.environment
    metadata.version = definition.version
  }
  if (r.ruleId !== undefined) metadata.ruleId = r.ruleId
  const out: OfrepResult = { key, value: r.value, reason: r.reason, metadata }
  if (r.variant !== undefined) out.variant = r.variant
  return out
}

/**
 * The bulk body as fast-json-stringify should write it: the documented 200 schema's items are a
 * union (success | failure), which fast-json-stringify resolves by running a validator on every
 * item (three times slower than JSON.stringify for 100 flags); this flat form of the same members
 * serializes without one. The documented schema stays the route's response schema.
 */
const BulkSerialization = {
  type: 'object',
  properties: {
    flags: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key'],
        properties: {
          key: { type: 'string' },
          value: {},
          reason: { type: 'string' },
          variant: { type: 'string' },
          metadata: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
          errorCode: { type: 'string' },
          errorDetails: { type: 'string' }
        }
      }
    }
  }
}

/**
 * Serialize a bulk answer once (it is cached, with its ETag, per environment and context). Object
 * values are given sorted keys first, so the bytes — and the ETag, a hash of them — do not depend
 * on the order storage returned the keys in: every instance answers equal results with one ETag.
 */
function renderBulk (serialize: (body: { flags: OfrepResult[] }) => string) {
  return function render (results: EvaluatedFlag[]): RenderedBulk {
    const flags = results.map(({ definition, result }) => {
      const out = toOfrep(definition.flag, definition, result)
      if ('value' in out && out.value !== null && typeof out.value === 'object') out.value = JSON.parse(canonicalJson(out.value))
      return out
    })
    const body = serialize({ flags })
    return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"` }
  }
}

function headerValue (request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name]
  if (Array.isArray(v)) throw new OfrepRequestError('GENERAL', `Send the ${name} header once`)
  return v
}

export default async function ofrepRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()

  // Registered environments, for user tokens naming one (API keys were checked when created).
  const registered = new TtlLru<boolean>({ ttlMs: 60_000, maxEntries: 1_000, now: fastify.clock })
  async function environmentExists (env: string): Promise<boolean> {
    const known = await registered.get(env, async () => await fastify.definitions.environmentExists(env))
    if (!known) registered.delete(env) // an environment registered a moment later must work at once
    return known
  }

  async function environmentOf (request: FastifyRequest): Promise<string> {
    const p = request.user
    const query = request.query as { environment?: unknown }
    const named = headerValue(request, 'x-environment') ?? (typeof query.environment === 'string' ? query.environment : undefined)
    if (p.kind === 'apiKey') {
      if (named !== undefined && named !== p.environment) throw forbidden(`This API key is for '${p.environment}', not '${named}'`)
      return p.environment
    }
    if (named === undefined || named === '') {
      throw new OfrepRequestError('GENERAL', 'Name the environment with the X-Environment header or the environment query parameter (API keys carry their own)')
    }
    if (!ENV_RE.test(named) || !(await environmentExists(named))) {
      throw new OfrepRequestError('GENERAL', `Environment '${named}' is not registered`)
    }
    return named
  }

  // The body is optional in OFREP: a bare POST (or an empty JSON body) evaluates with an empty context.
  const parseJson = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, function parseOfrepJson (request, body, done) {
    if (typeof body === 'string' && body.trim() === '') return done(null, {})
    parseJson(request, body as string, done)
  })
  fastify.addHook('preValidation', function defaultOfrepBody (request, _reply, done) {
    if (request.body === undefined || request.body === null) request.body = {}
    done()
  })

  fastify.setErrorHandler(function handleOfrepError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const failure = ofrepFailure(err)
    if (failure === undefined) throw err // everything else: the service-wide problem+json handler
    const params = request.params as { key?: string } | undefined
    const single = typeof params?.key === 'string'
    return reply.code(400).type('application/json; charset=utf-8')
      .send(single ? { key: params.key, ...failure } : failure)
  })

  fastify.post('/evaluate/flags/:key', {
    // Authentication, then the per-credential rate limit (429 + Retry-After).
    onRequest: [fastify.authenticate, fastify.requireEvaluationAccess, fastify.evaluationRateLimit],
    config: { accessLog: 'summary' },
    schema: {
      tags: ['ofrep'],
      summary: 'OFREP: evaluate one flag (server SDKs)',
      security: SECURITY,
      params: OfrepFlagParams,
      body: OfrepEvaluationRequest,
      querystring: OfrepQuery,
      headers: OfrepHeaders,
      response: { 200: OfrepEvaluationSuccess, 400: OfrepEvaluationFailure, 404: OfrepFlagNotFound, ...problems(401, 403, 429) }
    }
  }, async function ofrepEvaluateFlag (request, reply) {
    const env = await environmentOf(request)
    const key = request.params.key
    const context = request.body.context ?? {}
    const { result, definition } = FLAG_RE.test(key)
      ? fastify.evaluator.evaluateCached(key, env, context) ?? await fastify.evaluator.evaluate(key, env, context)
      : { result: { value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' } as EvaluationResult, definition: undefined }
    if (result.errorCode === 'FLAG_NOT_FOUND') {
      return reply.code(404).send({ key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `Flag '${key}' is not configured in environment '${env}'` })
    }
    const out = toOfrep(key, definition, result)
    return reply.code('errorCode' in out ? 400 : 200).send(out)
  })

  fastify.post('/evaluate/flags', {
    // Authentication, then the per-credential rate limit (429 + Retry-After).
    onRequest: [fastify.authenticate, fastify.requireEvaluationAccess, fastify.evaluationRateLimit],
    config: { accessLog: 'summary' },
    schema: {
      tags: ['ofrep'],
      summary: 'OFREP: evaluate every flag of the environment (web/mobile SDKs); ETag + If-None-Match → 304',
      security: SECURITY,
      body: OfrepEvaluationRequest,
      querystring: OfrepQuery,
      headers: OfrepHeaders,
      response: { 200: OfrepBulkEvaluationSuccess, 304: Type304, 400: OfrepBulkEvaluationFailure, ...problems(401, 403, 429) }
    }
  }, async function ofrepEvaluateAll (request, reply) {
    const env = await environmentOf(request)
    const context = request.body.context ?? {}
    const ctxKey = contextKey(context)
    // Revalidation of a cached answer: the context's JSON as the key and a map lookup; no
    // evaluation, no read.
    const answer = fastify.evaluator.peekBulk(env, ctxKey) ??
      await fastify.evaluator.bulk(env, context, renderBulk(reply.compileSerializationSchema(BulkSerialization) as (body: { flags: OfrepResult[] }) => string), ctxKey)
    reply.header('etag', answer.etag)
    if (ifNoneMatchMatches(request.headers['if-none-match'], answer.etag)) return reply.notModified()
    // Serialized once, when it was rendered (fast-json-stringify, BulkSerialization).
    return reply.type('application/json; charset=utf-8').send(answer.body)
  })

  fastify.get('/configuration', {
    onRequest: [fastify.authenticate, fastify.requireEvaluationAccess],
    schema: {
      tags: ['ofrep'],
      summary: 'OFREP: what this server supports (optional extension)',
      security: SECURITY,
      response: { 200: OfrepConfiguration, ...problems(401, 403) }
    }
  }, async function ofrepConfiguration () {
    return {
      name: 'Switchyard',
      capabilities: {
        cacheInvalidation: { polling: { enabled: true, minPollingIntervalMs: 1_000 } },
        flagEvaluation: { supportedTypes: ['boolean', 'string', 'int', 'float', 'object'] }
      }
    }
  })
}

/** The OFREP 400 body for an error, or undefined when OFREP defines no shape for it. */
function ofrepFailure (err: FastifyError): { errorCode: Exclude<OfrepErrorCode, 'FLAG_NOT_FOUND'>; errorDetails: string } | undefined {
  if (err instanceof OfrepRequestError) return { errorCode: err.errorCode, errorDetails: err.message }
  if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return { errorCode: 'PARSE_ERROR', errorDetails: 'The body is not valid JSON' }
  }
  if (err.validation !== undefined) {
    const where = (err as FastifyError & { validationContext?: string }).validationContext ?? 'body'
    const first = err.validation[0]
    const params = (first?.params ?? {}) as Record<string, unknown>
    const path = `${first?.instancePath ?? ''}${typeof params.additionalProperty === 'string' ? `/${params.additionalProperty}` : ''}`
    const detail = typeof params.additionalProperty === 'string' ? `unknown property '${params.additionalProperty}'` : (first?.message ?? 'is invalid')
    if (where !== 'body') return { errorCode: 'GENERAL', errorDetails: `Invalid ${where}: ${path || '/'} ${detail}` }
    const inContext = first?.instancePath === '/context' || (first?.instancePath ?? '').startsWith('/context/')
    return { errorCode: inContext ? 'INVALID_CONTEXT' : 'PARSE_ERROR', errorDetails: `Invalid request body: ${path || '/'} ${detail}` }
  }
  return undefined
}
