// Strict request validation (CONVENTIONS.md §7): bodies are never coerced and unknown
// properties are rejected, not silently dropped. Querystrings and path parameters are strings on
// the wire, so those parts may coerce ("?limit=10" → 10), but still reject unknown keys.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, FastifySchema } from 'fastify'
import { Ajv, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import sjson from 'secure-json-parse'
import { schemaKey } from '../src/schema-compilers.js'
import { badRequest } from '../src/domain/errors.js'

// validateSchema off: the route schemas are constants in the code, and checking each against the
// JSON Schema meta-schema at start compiles that meta-schema once per Ajv instance, a large part of
// a Lambda cold start. test/schemas.test.ts checks every route schema against it instead.
// verbose: a failed check carries its schema and data, so the error handler can list the allowed
// values and name a misspelled property (src/validation-errors.ts); it costs nothing on success.
const base: Options = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false, messages: true, validateSchema: false, verbose: true }

/**
 * Whether no object or array in `value` is nested more than `max` levels deep (`value` itself is
 * level 1). Iterative: a body nested thousands of levels deep must get its 400, not a stack overflow.
 */
export function withinDepth (value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return true
  const stack: unknown[] = [value]
  const depths: number[] = [1]
  while (stack.length > 0) {
    const v = stack.pop() as object
    const depth = depths.pop()!
    if (depth > max) return false
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) {
        stack.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return true
}

function buildAjv (coerceTypes: boolean) {
  const ajv = new Ajv({ ...base, coerceTypes })
  addFormats.default(ajv)
  // `maxDepth: n` (evaluation contexts: DynamoDB's own limit, 32): what is walked recursively
  // later (cache keys, the engine) is bounded here.
  ajv.addKeyword({
    keyword: 'maxDepth',
    schemaType: 'number',
    errors: true,
    validate: function maxDepth (max: number, data: unknown) {
      if (withinDepth(data, max)) return true
      ;(maxDepth as unknown as { errors: unknown[] }).errors = [{ keyword: 'maxDepth', message: `must not nest objects or arrays more than ${max} levels deep`, params: { limit: max } }]
      return false
    }
  })
  return ajv
}

/** Close every object schema that lists properties but says nothing about extra ones. */
export function closeObjects (schema: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof schema !== 'object' || schema === null || seen.has(schema)) return schema
  seen.add(schema)
  const s = schema as Record<string, unknown>
  if (s.type === 'object' && s.properties !== undefined && s.additionalProperties === undefined && s.patternProperties === undefined) {
    s.additionalProperties = false
  }
  for (const value of Object.values(s)) {
    if (Array.isArray(value)) value.forEach((v) => closeObjects(v, seen))
    else closeObjects(value, seen)
  }
  return schema
}

const BODYLESS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS'])

/**
 * Fastify's JSON parser with answers that say what is wrong: an empty body is no body on a method
 * that takes none (clients send `content-type: application/json` on every request), and a
 * `__proto__` or `constructor` key is refused for what it is, not called invalid JSON.
 */
function parseJsonBody (request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) {
  const text = body.toString()
  if (text.trim() === '') {
    if (BODYLESS.has(request.method)) return done(null, undefined)
    return done(badRequest('The body is empty: send a JSON document (content-type: application/json is set)', [{ path: '/body', message: 'is empty' }]))
  }
  try {
    return done(null, sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }))
  } catch (err) {
    const message = (err as Error).message
    if (/forbidden (prototype|constructor) property/.test(message)) {
      const key = /__proto__|\\u005[fF]/.test(text) ? '__proto__' : 'constructor'
      return done(badRequest(`The body is valid JSON but contains a '${key}' key, which is refused (it could change object prototypes on the server); no field of this API has that name, remove it`,
        [{ path: '/body', message: `contains a '${key}' key` }]))
    }
    // JSON.parse quotes the text around the fault; the sender has it, the answer need not echo it.
    return done(badRequest(`The body is not valid JSON: ${message.replace(/, ".*$/s, '')}`, [{ path: '/body', message: 'is not valid JSON' }]))
  }
}

async function validationPlugin (fastify: FastifyInstance) {
  // A JSON API: Fastify's built-in text/plain parser would hand handlers a string; make it a 415.
  fastify.removeContentTypeParser('text/plain')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody)
  const strict = buildAjv(false)
  const lenient = buildAjv(true)
  // One compiled validator per distinct schema and mode, shared by the routes that use it
  // (src/schema-compilers.ts explains why).
  const compiled = new Map<string, ValidateFunction>()
  fastify.setValidatorCompiler(({ schema, httpPart }) => {
    const body = httpPart === 'body'
    const key = `${body ? 'strict' : 'lenient'} ${schemaKey(schema)}`
    let validate = compiled.get(key)
    if (validate === undefined) {
      validate = (body ? strict : lenient).compile(closeObjects(structuredClone(schema as FastifySchema)) as object)
      compiled.set(key, validate)
    }
    return validate
  })
}

export default fp(validationPlugin, { name: 'validation' })
