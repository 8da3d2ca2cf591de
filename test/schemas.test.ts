// The app's Ajv instances (plugins/validation.ts, loadConfig) skip meta-schema validation at
// start, because it is a large part of a Lambda cold start. Here, instead, every schema the app
// compiles is checked against the JSON Schema meta-schema, as Ajv's validateSchema would at start:
// the config schemas and every route's schemas (both surfaces), plus the shared ones.
import t from 'tap'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import app from '../src/app.js'
import evaluateApp from '../src/evaluate-app.js'
import { serverOptions } from '../src/core.js'
import { OFFLINE_ENV } from './helper.js'
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
