// The app's two surfaces as they start, built offline (OFFLINE_ENV: no engine is reached): the whole
// app and the evaluation-only surface (EvaluateFunction). One file, one process: each of these
// checks builds both surfaces, and a test process that loads the app costs more than the checks.
//
// Schemas. The app's Ajv instances (plugins/validation.ts, loadConfig) skip meta-schema validation
// at start, because it is a large part of a Lambda cold start. Here, instead, every schema the app
// compiles is checked against the JSON Schema meta-schema, as Ajv's validateSchema would at start:
// the config schemas and every route's schemas (both surfaces), plus the shared ones. Route schemas
// compile once per distinct schema (src/schema-compilers.ts): what counts as the same schema, and
// what the evaluate surface and the whole app compile at start.
//
// Read side and write side. The evaluation-only surface is read-only: it is built with the
// definitions reader and the API keys, without the write side's repositories, the SQS client and
// the audit publisher, which the whole app registers (and its bundle without them:
// test/lambda/bundles.test.ts). (It serving evaluations is shown by test/ofrep,
// test/lambda/handlers and test/lambda/bundles.)
import t from 'tap'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import app from '../src/app.js'
import evaluateApp from '../src/evaluate-app.js'
import { serverOptions } from '../src/core.js'
import { schemaKey, sharedSerializerFactory } from '../src/schema-compilers.js'
import { OFFLINE_ENV, type Teardown } from './helper.js'
import { ConfigSchema } from '../src/config.js'
import { WorkerConfigSchema } from '../src/lambda/env.js'

const env = { ...OFFLINE_ENV }

const meta = new Ajv({ strict: false })
addFormats.default(meta)

function problemsOf (schema: unknown): string | undefined {
  return meta.validateSchema(schema as object) === true ? undefined : meta.errorsText(meta.errors)
}

/** Every schema each route declares, by "METHOD url part", and the instance's shared schemas. */
async function schemasOf (register: (f: FastifyInstance) => Promise<void>): Promise<Map<string, unknown>> {
  const fastify = Fastify(serverOptions('silent'))
  const found = new Map<string, unknown>()
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const s = (route.schema ?? {}) as Record<string, unknown>
    const name = `${String(route.method)} ${route.url}`
    for (const part of ['body', 'querystring', 'params', 'headers'] as const) if (s[part] !== undefined) found.set(`${name} ${part}`, s[part])
    for (const [code, schema] of Object.entries((s.response ?? {}) as Record<string, unknown>)) found.set(`${name} response ${code}`, schema)
  })
  try {
    await register(fastify)
    await fastify.ready()
    for (const [id, schema] of Object.entries(fastify.getSchemas())) found.set(`shared ${id}`, schema)
  } finally {
    await fastify.close()
  }
  return found
}

t.test('the checker catches a malformed schema', async (t) => {
  t.match(problemsOf({ type: 'object', properties: { a: { type: 'strng' } } }), /type/)
  t.match(problemsOf({ type: 'string', minLength: -1 }), /minLength/)
  t.equal(problemsOf({ type: 'string', minLength: 1 }), undefined)
})

t.test('the config schemas are valid JSON Schema', async (t) => {
  t.equal(problemsOf(ConfigSchema), undefined, 'ConfigSchema')
  t.equal(problemsOf(WorkerConfigSchema), undefined, 'WorkerConfigSchema')
})

t.test('every route schema of both surfaces is valid JSON Schema', async (t) => {
  const surfaces: Array<[string, (f: FastifyInstance) => Promise<void>]> = [
    ['app', async (f) => { await f.register(app, { env, docsUi: false, bootstrap: false }) }],
    ['evaluate', async (f) => { await f.register(evaluateApp, { env }) }]
  ]
  for (const [surface, register] of surfaces) {
    const schemas = await schemasOf(register)
    t.ok(schemas.size > (surface === 'app' ? 50 : 5), `${surface}: ${schemas.size} schemas found`)
    for (const [where, schema] of schemas) {
      const problem = problemsOf(schema)
      if (problem !== undefined) t.fail(`${surface}: ${where}: ${problem}`)
    }
  }
})

// ---- each distinct schema compiled once ----------------------------------------------------------

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
    await fastify.register(plugin as typeof app, { env: { ...env }, ...opts })
    await fastify.ready()
    t.ok(counts.routes > 0)
    t.ok(counts.compiled < counts.routes / 2, `${counts.compiled} serializers compiled for ${counts.routes} route responses`)
    // The shared problem serializer answers for a route it was not first compiled for.
    const res = await fastify.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/x', payload: {} })
    t.equal(res.statusCode, 401)
    t.match(res.json(), { status: 401, title: String })
  })
}

// ---- read side and write side -------------------------------------------------------------------

async function ready (t: Teardown, register: (f: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const fastify = Fastify(serverOptions('silent'))
  t.teardown(() => fastify.close())
  await register(fastify)
  await fastify.ready()
  return fastify
}

t.test('the evaluate surface has the reader, and no write side, SQS client or audit publisher', async (t) => {
  const fastify = await ready(t, async (f) => { await f.register(evaluateApp, { env }) })
  t.notOk(fastify.hasDecorator('auditPublisher'), 'no audit publisher')
  t.notOk(fastify.hasDecorator('sqs'), 'no SQS client')
  for (const repo of ['features', 'segments', 'users', 'environments', 'audit']) t.notOk(fastify.hasDecorator(repo), `no ${repo} repository`)
  t.equal(typeof fastify.definitions.getDefinition, 'function', 'the definitions reader is there')
  t.equal(typeof fastify.apiKeyVerifier?.verify, 'function', 'API keys are verified')
  t.ok(fastify.dynamo, 'the DynamoDB client is there')
  t.ok(fastify.evaluator, 'the evaluator is there')
})

t.test('the whole app keeps both', async (t) => {
  const fastify = await ready(t, async (f) => { await f.register(app, { env, docsUi: false, bootstrap: false }) })
  t.ok(fastify.hasDecorator('auditPublisher'))
  t.equal(typeof fastify.sqs.send, 'function')
  for (const repo of ['features', 'segments', 'users', 'environments', 'audit']) t.ok(fastify.hasDecorator(repo), `the ${repo} repository`)
})
