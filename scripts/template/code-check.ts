// Cross-checks of the template against the code: every Fastify route of the app each HTTP function
// runs is reached through an HttpApi event of a function that serves it (API Gateway's most-specific
// route wins), and no event points at a function that serves nothing there; each function's
// handler is exported by its bundle (built with scripts/build-lambda.ts); every config value
// without a default is set by the template or by the entry point (JWT_SECRET through
// JWT_SECRET_ARN); literal values and parameter AllowedValues pass the config schema; the table and
// queues match the local stack's (src/local/provision.ts).
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { ROOT, buildLambdas } from '../build-lambda.js'
import { isIntrinsic, isObject, type Json } from './json.js'
import { httpApiRoutes, samplePath, selectRoute } from './routes.js'

export type Surface = 'api' | 'evaluate' | 'worker'

/** Which code each Lambda entry point runs. */
export const ENTRY_SURFACES: Record<string, Surface> = {
  'src/lambda/api.ts': 'api',
  'src/lambda/evaluate.ts': 'evaluate',
  'src/lambda/audit-consumer.ts': 'worker',
  'src/lambda/maintenance.ts': 'worker',
  'src/lambda/webhook-delivery.ts': 'worker'
}

/** Environment variables the entry points read besides the config schema's. */
export const ENTRY_VARIABLES: Record<string, { surfaces: Surface[]; provides?: string; why: string }> = {
  JWT_SECRET_ARN: { surfaces: ['api', 'evaluate'], provides: 'JWT_SECRET', why: 'src/lambda/env.ts reads the secret from Secrets Manager' },
  JWT_SECRET_GENERATION: { surfaces: ['api', 'evaluate'], why: 'changing it after a rotation makes new containers read the new secret' },
  NODE_OPTIONS: { surfaces: ['api', 'evaluate', 'worker'], why: 'read by node itself' }
}

/** Set by the Lambda runtime; a template may not set them. */
const RESERVED_VARIABLES = /^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_EXECUTION_ENV|AWS_LAMBDA_.*|_HANDLER|_X_AMZN_TRACE_ID|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ)$/
const RUNTIME_PROVIDED = ['AWS_REGION']

export interface RouteTable { method: string; url: string }

export interface CodeFacts {
  routes: Record<'api' | 'evaluate', RouteTable[]>
  /** JSON schema of the configuration each surface validates. */
  schemas: Record<Surface, { properties: Record<string, Json>; required?: string[] }>
}

/** Builds both app surfaces on a bare Fastify (no listen, no bootstrap) and records their routes. */
export async function collectCodeFacts (): Promise<CodeFacts> {
  const { default: Fastify } = await import('fastify')
  const { default: app } = await import('../../src/app.js')
  const { default: evaluateApp } = await import('../../src/evaluate-app.js')
  const { ConfigSchema } = await import('../../src/config.js')
  const { WorkerConfigSchema } = await import('../../src/lambda/env.js')
  // Endpoints nobody listens on: building the apps must not need the network.
  const env = {
    TABLE_NAME: 'switchyard-check',
    AWS_REGION: 'us-east-1',
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    SQS_ENDPOINT: 'http://127.0.0.1:9',
    AUDIT_QUEUE_URL: 'http://127.0.0.1:9/000000000000/audit',
    JWT_SECRET: 'x'.repeat(48),
    LOG_LEVEL: 'silent'
  }
  async function routesOf (register: (f: import('fastify').FastifyInstance) => Promise<void>): Promise<RouteTable[]> {
    const fastify = Fastify({ logger: false })
    const routes: RouteTable[] = []
    fastify.addHook('onRoute', (r) => {
      for (const m of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method: String(m).toUpperCase(), url: r.url })
    })
    await register(fastify)
    await fastify.ready()
    await fastify.close()
    return routes
  }
  const api = await routesOf(async (f) => { await f.register(app, { env, docsUi: false, bootstrap: false }) })
  const evaluate = await routesOf(async (f) => { await f.register(evaluateApp, { env }) })
  const config = ConfigSchema as unknown as CodeFacts['schemas']['api']
  return { routes: { api, evaluate }, schemas: { api: config, evaluate: config, worker: WorkerConfigSchema as unknown as CodeFacts['schemas']['worker'] } }
}

function surfaceOf (fn: Json): Surface | undefined {
  const entry = (((fn.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints as string[] | undefined)?.[0]
  return entry === undefined ? undefined : ENTRY_SURFACES[entry.replace(/^\.\//, '')]
}

function functionEnv (template: Json, fn: Json): Json {
  const globalVars = (((template.Globals as Json | undefined)?.Function as Json | undefined)?.Environment as Json | undefined)?.Variables as Json | undefined
  const own = ((fn.Properties as Json | undefined)?.Environment as Json | undefined)?.Variables as Json | undefined
  return { ...(globalVars ?? {}), ...(own ?? {}) }
}

/** Values a template expression can take, when knowable offline (literals and parameter AllowedValues). */
function possibleValues (template: Json, value: unknown): unknown[] | undefined {
  if (!isIntrinsic(value)) return [value]
  const ref = (value as Json).Ref
  if (typeof ref === 'string') {
    const param = ((template.Parameters ?? {}) as Record<string, Json>)[ref]
    if (param?.AllowedValues !== undefined) return param.AllowedValues as unknown[]
    if (param?.Default !== undefined) return [param.Default]
  }
  return undefined
}

export function checkCrossReference (template: Json, facts: CodeFacts): string[] {
  const problems: string[] = []
  const resources = (template.Resources ?? {}) as Record<string, Json>
  const routes = httpApiRoutes(template)
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function')
  const surfaces = new Map(functions.map(([name, fn]) => [name, surfaceOf(fn)]))

  for (const [name, fn] of functions) {
    const surface = surfaces.get(name)
    const entry = (((fn.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints as string[] | undefined)?.[0]
    if (surface === undefined) problems.push(`${name}: entry point ${String(entry)} is not one of ${Object.keys(ENTRY_SURFACES).join(', ')}`)
    if (surface === 'worker' && routes.some((r) => r.function === name)) problems.push(`${name}: a worker function has HttpApi events`)
  }

  // Every route of every HTTP surface reaches a function serving it.
  const serves = (surface: Surface | undefined, method: string, url: string) =>
    surface !== undefined && surface !== 'worker' && facts.routes[surface].some((r) => r.method === method && r.url.replace(/\/$/, '') === url.replace(/\/$/, ''))
  for (const surface of ['api', 'evaluate'] as const) {
    if (![...surfaces.values()].includes(surface)) continue
    for (const r of facts.routes[surface]) {
      if (r.method === 'HEAD' || r.method === 'OPTIONS') continue // HEAD mirrors GET; CORS preflights are answered by the HttpApi
      const path = samplePath(r.url)
      const hit = selectRoute(routes, r.method, path)
      if (hit === undefined) {
        problems.push(`route ${r.method} ${r.url} (${surface}) is not reachable: no HttpApi event matches ${r.method} ${path}`)
        continue
      }
      const target = surfaces.get(hit.route.function)
      if (!serves(target, r.method, r.url)) {
        problems.push(`route ${r.method} ${r.url} (${surface}) is routed by "${hit.route.method} ${hit.route.path}" to ${hit.route.function}, whose app (${String(target)}) does not serve it`)
      }
    }
  }
  // ...and no event sends traffic to a function that serves nothing under it.
  for (const route of routes) {
    const surface = surfaces.get(route.function)
    if (surface === undefined || surface === 'worker') continue
    const served = facts.routes[surface].some((r) => {
      if (r.method === 'HEAD' || r.method === 'OPTIONS') return false
      if (route.method !== 'ANY' && route.method !== r.method) return false
      const hit = selectRoute(routes, r.method, samplePath(r.url))
      return hit?.route === route
    })
    if (!served) problems.push(`${route.function}.Events.${route.event}: "${route.method} ${route.path}" reaches no route of the ${surface} app`)
  }

  // Configuration: required values present, names known, literal values valid.
  const ajv = new Ajv({ strict: false, coerceTypes: true, allErrors: true })
  addFormats.default(ajv)
  for (const [name, fn] of functions) {
    const surface = surfaces.get(name)
    if (surface === undefined) continue
    const schema = facts.schemas[surface]
    const env = functionEnv(template, fn)
    const provided = new Set([...Object.keys(env), ...RUNTIME_PROVIDED])
    for (const key of Object.keys(env)) {
      if (RESERVED_VARIABLES.test(key)) problems.push(`${name}: sets ${key}, which the Lambda runtime reserves`)
      const entryVar = ENTRY_VARIABLES[key]
      if (entryVar !== undefined) {
        if (!entryVar.surfaces.includes(surface)) problems.push(`${name}: sets ${key}, which its entry point (${surface}) does not read`)
        if (entryVar.provides !== undefined) provided.add(entryVar.provides)
        continue
      }
      const prop = schema.properties[key]
      if (prop === undefined) {
        problems.push(`${name}: sets ${key}, which neither the ${surface} config schema nor its entry point knows`)
        continue
      }
      const values = possibleValues(template, env[key])
      if (values !== undefined) {
        const validate = ajv.compile(prop)
        for (const v of values) if (!validate(typeof v === 'number' ? String(v) : v)) problems.push(`${name}: ${key}=${JSON.stringify(v)} fails the config schema (${ajv.errorsText(validate.errors)})`)
      }
    }
    for (const key of schema.required ?? []) {
      if (schema.properties[key]?.default !== undefined) continue
      if (!provided.has(key)) problems.push(`${name}: the ${surface} config requires ${key}, which neither the template nor the entry point provides`)
    }
  }
  return problems
}

/** The table and queue settings the local stack uses, compared with the template's. */
export async function checkInfrastructure (template: Json): Promise<string[]> {
  const problems: string[] = []
  const resources = (template.Resources ?? {}) as Record<string, Json>
  const { tableDefinition, AUDIT_MAX_RECEIVE_COUNT } = await import('../../src/local/provision.js')
  const local = tableDefinition('x')
  const table = Object.values(resources).find((r) => r.Type === 'AWS::DynamoDB::Table')?.Properties as Json | undefined
  if (table === undefined) problems.push('no AWS::DynamoDB::Table')
  else {
    const norm = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => isObject(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x)
    for (const key of ['AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'BillingMode'] as const) {
      if (norm(table[key]) !== norm(local[key])) problems.push(`Table.${key} differs from src/local/provision.ts: ${norm(table[key])} vs ${norm(local[key])}`)
    }
  }
  const queues = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue')
  const consumers = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function').flatMap(([name, fn]) => {
    const events = ((fn.Properties as Json | undefined)?.Events ?? {}) as Record<string, Json>
    return Object.values(events).filter((e) => e.Type === 'SQS').map((e) => ({ name, fn, props: (e.Properties ?? {}) as Json }))
  })
  for (const c of consumers) {
    const q = (c.props.Queue as Json | undefined)?.['Fn::GetAtt']
    const queueName = Array.isArray(q) ? String(q[0]) : typeof q === 'string' ? q.split('.')[0]! : undefined
    const queue = queues.find(([n]) => n === queueName)?.[1]?.Properties as Json | undefined
    if (queue === undefined) {
      problems.push(`${c.name}: SQS event source does not name a queue of this template`)
      continue
    }
    const timeout = Number((c.fn.Properties as Json).Timeout ?? ((template.Globals as Json | undefined)?.Function as Json | undefined)?.Timeout ?? 3)
    if (Number(queue.VisibilityTimeout ?? 30) < 6 * timeout) problems.push(`${queueName}: VisibilityTimeout ${String(queue.VisibilityTimeout ?? 30)} s is below 6 x ${c.name}'s timeout (${timeout} s)`)
    const redrive = queue.RedrivePolicy as Json | undefined
    if (Number(redrive?.maxReceiveCount) !== AUDIT_MAX_RECEIVE_COUNT) problems.push(`${queueName}: RedrivePolicy.maxReceiveCount ${String(redrive?.maxReceiveCount)} differs from the local stack's ${AUDIT_MAX_RECEIVE_COUNT}`)
    if (!((c.props.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures')) problems.push(`${c.name}: SQS event source without FunctionResponseTypes ReportBatchItemFailures (the handler answers batchItemFailures)`)
  }
  // The bcrypt layer must carry the version the code is tested with.
  for (const [name, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Serverless::LayerVersion') continue
    // Only package layers pin versions; ConsoleLayer is static files (scripts/template/console-check.ts).
    if (!String((r.Metadata as Json | undefined)?.BuildMethod ?? '').startsWith('nodejs')) continue
    const dir = resolve(ROOT, String((r.Properties as Json).ContentUri))
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
    for (const [pkg, version] of Object.entries(manifest.dependencies ?? {})) {
      const installed = (JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
      if (installed !== version) problems.push(`${name}: layer pins ${pkg}@${version}, the project uses ${installed}`)
    }
  }
  return problems
}

/** Builds the bundles into a temporary directory (build-lambda fails on a missing handler export). */
export async function checkBuild (template: Json): Promise<string[]> {
  const problems: string[] = []
  for (const [name, r] of Object.entries((template.Resources ?? {}) as Record<string, Json>)) {
    if (r.Type !== 'AWS::Serverless::Function') continue
    const entries = (((r.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints as string[] | undefined) ?? []
    for (const e of entries) await stat(resolve(ROOT, String((r.Properties as Json).CodeUri ?? '.'), e)).catch(() => problems.push(`${name}: entry point ${e} does not exist`))
  }
  if (problems.length > 0) return problems
  const out = await mkdtemp(join(tmpdir(), 'switchyard-check-'))
  try {
    await buildLambdas({ outDir: out, template })
  } catch (err) {
    problems.push(`build: ${(err as Error).message}`)
  } finally {
    await rm(out, { recursive: true, force: true })
  }
  return problems
}
