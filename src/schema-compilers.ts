// Route schemas compile once per distinct schema, not once per route and status code. Fastify
// compiles a response serializer for every (route, status) pair, and most routes share the same
// few problem documents (401, 403, 429 ...), which differ only in their description; compiling
// each again was most of the evaluate surface's schema work at start (24 serializers for 10
// distinct ones), part of every Lambda cold start. The key ignores what is only documentation.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'

/** Schema keywords that only annotate (never change what validates or how it serializes). */
const ANNOTATIONS = new Set(['description', 'title', '$comment', 'examples', 'example'])
/** Keywords whose value is data, not a schema: kept whole, never looked into. */
const DATA = new Set(['default', 'const', 'enum'])
/** Keywords whose value maps names to subschemas: the names are data, the values schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'])

function normalize (schema: unknown, seen: WeakSet<object>): unknown {
  if (Array.isArray(schema)) return schema.map((s) => normalize(s, seen))
  if (typeof schema !== 'object' || schema === null) return schema
  if (seen.has(schema)) throw new Error('schemaKey: circular schema')
  seen.add(schema)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(schema).sort()) {
    const value = (schema as Record<string, unknown>)[key]
    if (ANNOTATIONS.has(key)) continue
    if (DATA.has(key)) {
      out[key] = value
    } else if (SCHEMA_MAPS.has(key) && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.keys(value).sort().map((name) => [name, normalize((value as Record<string, unknown>)[name], seen)]))
    } else {
      out[key] = normalize(value, seen)
    }
  }
  seen.delete(schema)
  return out
}

/** A key equal for two schemas exactly when they differ at most in annotations and key order. */
export function schemaKey (schema: unknown): string {
  return JSON.stringify(normalize(schema, new WeakSet()))
}

type SerializerFactory = ReturnType<typeof SerializerSelector>
type RouteSerializerCompiler = ReturnType<SerializerFactory>

/**
 * Fastify's default serializer compiler (fast-json-stringify), with compiled serializers shared
 * between routes whose response schemas are the same. Fastify calls the factory once per set of
 * shared schemas (encapsulation context), so each cache only ever sees one set of $ref targets.
 */
export function sharedSerializerFactory (select: SerializerFactory = SerializerSelector()): SerializerFactory {
  return function buildSerializer (externalSchemas, options) {
    const compile = select(externalSchemas, options)
    const compiled = new Map<string, ReturnType<RouteSerializerCompiler>>()
    return function compileShared (route) {
      const key = schemaKey(route.schema)
      let serializer = compiled.get(key)
      if (serializer === undefined) {
        serializer = compile(route)
        compiled.set(key, serializer)
      }
      return serializer
    }
  }
}
