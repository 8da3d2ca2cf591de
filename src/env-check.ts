// Checks an environment map against a flat TypeBox object schema (ConfigSchema and its slices)
// with the rules Ajv applied with { coerceTypes, useDefaults, removeAdditional, allErrors }:
// the same coercions (Ajv's, except that 'Infinity' is refused), defaults, limits and formats
// (ajv-formats' own checks).
//
// Why not Ajv: compiling a validator costs a Lambda cold start about 50 ms (the first compile
// also warms up Ajv's code generator), for a schema of a few flat properties checked once.
// This interprets the few keywords such a schema uses, and refuses any other keyword, so a schema
// change it cannot honour fails the first test that loads the config, not production.
// test/config.test.ts compares it with Ajv on thousands of generated environments.
import { fullFormats } from 'ajv-formats/dist/formats.js'

export interface EnvProperty {
  type?: 'string' | 'integer' | 'number' | 'boolean'
  anyOf?: Array<{ const: unknown; type?: string }>
  default?: unknown
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  format?: string
  description?: string
}

export interface EnvSchema { properties: Record<string, unknown>; required?: string[] }

const KNOWN = new Set(['type', 'anyOf', 'default', 'minLength', 'maxLength', 'minimum', 'maximum', 'format', 'description', 'title'])

function unsupported (key: string, what: string): never {
  throw new Error(`env schema: ${key} uses ${what}, which src/env-check.ts does not implement`)
}

/** Ajv's coerceTypes rules (lib/compile/validate/dataType.ts) for the scalar types used here. */
function coerce (value: unknown, type: string): unknown {
  switch (type) {
    case 'integer':
    case 'number':
      if (typeof value === 'number') return value
      if (typeof value === 'boolean' || value === null) return Number(value)
      // Ajv: data && data == +data (loose equality, so ' 12' and '0x10' coerce) && integral for
      // integer. One deliberate difference: 'Infinity' is not a number here; Ajv (without
      // strictNumbers) took it for an integer and RATE_LIMIT_PER_MINUTE=Infinity was accepted.
      // eslint-disable-next-line eqeqeq -- Ajv's loose comparison, described above
      if (typeof value === 'string' && value !== '' && (value as unknown) == +value && Number.isFinite(+value) && (type === 'number' || +value % 1 === 0)) return +value
      return value
    case 'string':
      if (typeof value === 'number' || typeof value === 'boolean') return String(value)
      if (value === null) return ''
      return value
    case 'boolean':
      if (value === 'false' || value === 0 || value === null) return false
      if (value === 'true' || value === 1) return true
      return value
    default:
      return value
  }
}

function hasType (value: unknown, type: string): boolean {
  switch (type) {
    case 'integer': return typeof value === 'number' && Number.isFinite(value) && value % 1 === 0
    case 'number': return typeof value === 'number' && Number.isFinite(value)
    case 'string': return typeof value === 'string'
    case 'boolean': return typeof value === 'boolean'
    default: return false
  }
}

function formatOk (name: string, key: string, value: string): boolean {
  // ajv-formats gives a format as a RegExp, a function, or an object whose `validate` is either.
  const format = (fullFormats as Record<string, unknown>)[name]
  const test = typeof format === 'object' && format !== null && !(format instanceof RegExp) ? (format as { validate?: unknown }).validate : format
  if (test instanceof RegExp) return test.test(value)
  if (typeof test === 'function') return (test as (s: string) => boolean)(value)
  return unsupported(key, `format "${name}"`)
}

/** Problems with one property's value (after coercion), in Ajv's words. */
function check (key: string, p: EnvProperty, value: unknown): { value: unknown; problem?: string } {
  for (const k of Object.keys(p)) if (!KNOWN.has(k)) unsupported(key, `"${k}"`)
  if (p.anyOf !== undefined) {
    const literals = p.anyOf.map((b) => {
      if (Object.keys(b).some((k) => k !== 'const' && k !== 'type') || !('const' in b)) unsupported(key, 'an anyOf that is not a union of literals')
      return b.const
    })
    for (const b of p.anyOf) {
      const v = b.type !== undefined ? coerce(value, b.type) : value
      if (v === b.const) return { value: v }
    }
    return { value, problem: `${key} must be one of ${literals.join(', ')}` }
  }
  if (p.type === undefined) unsupported(key, 'no type')
  const v = coerce(value, p.type)
  if (!hasType(v, p.type)) return { value: v, problem: `${key} must be ${p.type}` }
  if (typeof v === 'string') {
    const length = [...v].length // code points, as Ajv counts
    if (p.minLength !== undefined && length < p.minLength) return { value: v, problem: `${key} must NOT have fewer than ${p.minLength} characters` }
    if (p.maxLength !== undefined && length > p.maxLength) return { value: v, problem: `${key} must NOT have more than ${p.maxLength} characters` }
    if (p.format !== undefined && !formatOk(p.format, key, v)) return { value: v, problem: `${key} must match format "${p.format}"` }
  } else if (p.minLength !== undefined || p.maxLength !== undefined || p.format !== undefined) {
    unsupported(key, 'string keywords on a non-string type')
  }
  if (typeof v === 'number') {
    if (p.minimum !== undefined && v < p.minimum) return { value: v, problem: `${key} must be >= ${p.minimum}` }
    if (p.maximum !== undefined && v > p.maximum) return { value: v, problem: `${key} must be <= ${p.maximum}` }
  } else if (p.minimum !== undefined || p.maximum !== undefined) {
    unsupported(key, 'number keywords on a non-number type')
  }
  return { value: v }
}

/**
 * The checked, coerced map (only the schema's keys, defaults applied), or every problem found.
 * Problems name the setting and the rule, never the value (JWT_SECRET is one of them).
 */
export function checkEnv (schema: EnvSchema, env: Record<string, string | undefined>): { ok: true; value: Record<string, unknown> } | { ok: false; problems: string[] } {
  const required = new Set(schema.required ?? [])
  const out: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [key, raw] of Object.entries(schema.properties)) {
    const p = raw as EnvProperty
    const given = env[key]
    const value = given !== undefined ? given : p.default
    if (value === undefined) {
      if (required.has(key)) problems.push(`${key} is required`)
      continue
    }
    const result = check(key, p, value)
    if (result.problem !== undefined) problems.push(result.problem)
    else out[key] = result.value
  }
  return problems.length === 0 ? { ok: true, value: out } : { ok: false, problems }
}
