// Route schemas compile once per distinct schema (src/schema-compilers.ts): what counts as the
// same schema, and what the evaluate surface and the whole app compile at start.
import t from 'tap'
import Fastify from 'fastify'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { schemaKey, sharedSerializerFactory } from '../src/schema-compilers.js'
import { serverOptions } from '../src/core.js'
import app from '../src/app.js'
import evaluateApp from '../src/evaluate-app.js'
import { OFFLINE_ENV } from './helper.js'

t.test('schemaKey: annotations and key order do not matter, anything else does', async (t) => {
  const a = { type: 'object', description: 'Rate limited', properties: { title: { type: 'string' }, status: { type: 'integer' } }, required: ['status'] }
  const b = { required: ['status'], properties: { status: { type: 'integer', examples: [429] }, title: { type: 'string', $comment: 'x' } }, type: 'object', title: 'Problem' }
  t.equal(schemaKey(a), schemaKey(b))
  // A property named like an annotation keyword is part of the schema.
  t.not(schemaKey({ type: 'object', properties: { description: { type: 'string' } } }), schemaKey({ type: 'object', properties: {} }))
  // Data keywords are compared whole, annotation-looking keys inside them included.
  t.not(schemaKey({ type: 'object', default: { description: 'a' } }), schemaKey({ type: 'object', default: { description: 'b' } }))
  t.not(schemaKey({ enum: ['a', 'b'] }), schemaKey({ enum: ['a', 'c'] }))
  t.not(schemaKey({ type: 'string' }), schemaKey({ type: 'string', format: 'email' }))
  t.not(schemaKey({ type: 'object', additionalProperties: false }), schemaKey({ type: 'object' }))
})

function counting () {
  const select = SerializerSelector()
  const counts = { routes: 0, compiled: 0 }
  const factory: typeof select = (externalSchemas, options) => {
    const compile = select(externalSchemas, options)
    return (route) => { counts.compiled++; return compile(route) }
  }
  const shared = sharedSerializerFactory(factory)
  const countingShared: typeof select = (externalSchemas, options) => {
    const compile = shared(externalSchemas, options)
    return (route) => { counts.routes++; return compile(route) }
  }
  return { counts, factory: countingShared }
}

for (const [name, plugin, opts] of [['the evaluate surface', evaluateApp, {}], ['the whole app', app, { docsUi: false, bootstrap: false }]] as const) {
  t.test(`${name} compiles each distinct response schema once, and still serializes by schema`, async (t) => {
    const { counts, factory } = counting()
    const fastify = Fastify({ ...serverOptions('silent'), schemaController: { compilersFactory: { buildSerializer: factory } } })
    t.teardown(() => fastify.close())
    await fastify.register(plugin as typeof app, { env: { ...OFFLINE_ENV }, ...opts })
    await fastify.ready()
    t.ok(counts.routes > 0)
    t.ok(counts.compiled < counts.routes / 2, `${counts.compiled} serializers compiled for ${counts.routes} route responses`)
    // The shared problem serializer answers for a route it was not first compiled for.
    const res = await fastify.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/x', payload: {} })
    t.equal(res.statusCode, 401)
    t.match(res.json(), { status: 401, title: String })
  })
}
