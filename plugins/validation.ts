// Strict request validation (CONVENTIONS.md §7): bodies are never coerced and unknown
// properties are rejected, not silently dropped. Querystrings and path parameters are strings on
// the wire, so those parts may coerce ("?limit=10" → 10), but still reject unknown keys.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { Ajv, type Options, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import { schemaKey } from '../src/schema-compilers.js'

// validateSchema off: the route schemas are constants in the code, and checking each against the
// JSON Schema meta-schema at start compiles that meta-schema once per Ajv instance, a large part of
// a Lambda cold start. test/schemas.test.ts checks every route schema against it instead.
const base: Options = { allErrors: false, removeAdditional: false, useDefaults: true, strict: false, messages: true, validateSchema: false }

function buildAjv (coerceTypes: boolean) {
  const ajv = new Ajv({ ...base, coerceTypes })
  addFormats.default(ajv)
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

async function validationPlugin (fastify: FastifyInstance) {
  // A JSON API: Fastify's built-in text/plain parser would hand handlers a string; make it a 415.
  fastify.removeContentTypeParser('text/plain')
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
