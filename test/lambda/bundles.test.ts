// The deployable artifacts, not the sources: `npm run build:lambda`'s bundles, built here, copied
// to a directory outside the repository laid out like a Lambda sandbox (the function's files as
// the task root; next to it only what the runtime and the function's layers provide: @aws-sdk/*
// (except for the EvaluateFunction, which bundles its SDK clients and must not need the runtime's)
// and, for the ApiFunction, the BcryptLayer's node_modules), loaded by a fresh `node` process and
// handed real event documents against a local stack, once with the node running this suite and
// once with the Node major of the template's runtime (nodejs24.x: Node 24, scripts/runtime-node.ts)
// when that is another: one build, run where Lambda runs it. The JWT secret comes from a Secrets
// Manager endpoint over HTTP, through JWT_SECRET_ARN, exactly as on AWS.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { ROOT, buildLambdas, isBuiltin, type FunctionBuild } from '../../scripts/build-lambda.js'
import { resolveNode, runtimeMajor } from '../../scripts/runtime-node.js'
import { startStack, testEnv, ADMIN } from '../helper.js'
import { buildAuditEvent } from '../../src/domain/audit.js'
import { httpEvent, lambdaContext, scheduledEvent, sqsEvent } from './events.js'
import { startFakeSecretsManager } from './fake-secrets-manager.js'

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:switchyard-test/jwt-signing-secret-Q1w2E3'
const SECRET = 'Pq7Rk2Lm9Nx4Vb8Ct3Zw6Ys1Hd5Gf0Ja8Ue2Io7Kp4Mn9Lq3Rt6Vx1Bz5Cy0Dw8E'

const work = await mkdtemp(join(tmpdir(), 'switchyard-bundles-'))
t.teardown(() => rm(work, { recursive: true, force: true }))
if (work.startsWith(ROOT)) throw new Error('the sandbox must be outside the repository')

const built = await buildLambdas({ outDir: join(work, 'build') })
const major = await runtimeMajor()
if (major === undefined) throw new Error('template.yaml names no nodejsNN.x runtime')
// Fetching the runtime's binary the first time takes a while (about 30 MB from the registry).
t.setTimeout(300_000)
const NODES = [{ path: process.execPath, version: process.version }]
if (process.versions.node.split('.')[0] !== major) NODES.push(await resolveNode(major))
const fn = (name: string): FunctionBuild => {
  const f = built.functions.find((x) => x.name === name)
  if (f === undefined) throw new Error(`no ${name} in the build`)
  return f
}

/** EvaluateFunction bundles the SDK clients it uses (cold start); the others use the runtime's SDK. */
const BUNDLES_SDK = new Set(['EvaluateFunction'])

t.test('the build: one bundle per function, bcrypt only where its layer is', async (t) => {
  t.same(built.functions.map((f) => f.name).sort(), ['ApiFunction', 'AuditConsumerFunction', 'EvaluateFunction', 'MaintenanceFunction', 'WebhookDeliveryFunction'])
  for (const f of built.functions) {
    t.ok(f.exports.includes('handler'), `${f.name} exports its handler`)
    t.notOk(f.packages.includes('bcrypt'), `${f.name} does not bundle bcrypt`)
    if (BUNDLES_SDK.has(f.name)) {
      for (const p of ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-secrets-manager']) t.ok(f.packages.includes(p), `${f.name} bundles ${p}`)
      // Left to the runtime: only the credential providers the SDK's default chain imports on
      // demand after the environment provider, never on Lambda (credentials in the environment).
      const fromRuntime = f.imports.filter((i) => !isBuiltin(i.path))
      t.same(fromRuntime.filter((i) => i.kind !== 'dynamic-import'), [], `${f.name} loads nothing from the runtime's SDK when it starts`)
      t.same([...new Set(fromRuntime.map((i) => i.path))].sort(), [
        '@aws-sdk/credential-provider-http', '@aws-sdk/credential-provider-ini', '@aws-sdk/credential-provider-process',
        '@aws-sdk/credential-provider-sso', '@aws-sdk/credential-provider-web-identity', '@smithy/credential-provider-imds'
      ], `${f.name} leaves only the on-demand credential providers to the runtime`)
      // Node 22's ES module facade of node:http loads undici (~25 ms of init): only a dynamic import may name it.
      t.same(f.imports.filter((i) => /^(node:)?http$/.test(i.path) && i.kind === 'import-statement'), [], `${f.name} has no static import of node:http`)
    } else {
      t.notOk(f.packages.some((p) => p.startsWith('@aws-sdk/')), `${f.name} leaves the SDK to the runtime`)
    }
  }
  t.same(fn('ApiFunction').externals, ['bcrypt'])
  t.same(fn('ApiFunction').layers, ['BcryptLayer', 'ConsoleLayer'], 'bcrypt, and the console files (test/lambda/console.test.ts)')
  t.same(fn('EvaluateFunction').externals, [], 'EvaluateFunction does not import bcrypt at all')
  t.notOk(fn('EvaluateFunction').packages.includes('@aws-sdk/client-sqs'), 'EvaluateFunction never writes: it does not bundle the SQS client')
  // Read side and write side apart: the EvaluateFunction's module graph holds the definitions
  // reader and the API keys, and none of the write side (repositories, flag validation, audit).
  const evaluateSources = fn('EvaluateFunction').sources
  for (const reader of ['src/repositories/definition-reader.ts', 'plugins/api-keys.ts', 'src/repositories/store.ts']) {
    t.ok(evaluateSources.includes(reader), `EvaluateFunction bundles ${reader}`)
  }
  const writeSide = [
    'src/repositories/feature-repository.ts', 'src/repositories/feature-items.ts', 'src/repositories/segment-repository.ts',
    'src/repositories/user-repository.ts', 'src/repositories/environment-repository.ts', 'src/repositories/audit-repository.ts',
    'src/repositories/create-repositories.ts', 'plugins/repositories.ts', 'src/domain/validate-flag.ts', 'plugins/audit-publisher.ts'
  ]
  t.same(evaluateSources.filter((s) => writeSide.includes(s) || s.startsWith('src/audit/')), [], 'EvaluateFunction carries no write-side code')
  t.ok(fn('ApiFunction').sources.includes('src/repositories/feature-repository.ts'), 'the ApiFunction does (the check can see it)')
  t.ok(fn('EvaluateFunction').bytes <= 1.5 * 1024 * 1024, `EvaluateFunction is ${fn('EvaluateFunction').bytes} bytes minified (target <= 1.5 MB)`)
  const layer = built.layers.find((l) => l.name === 'BcryptLayer')
  t.same(layer?.packages, ['bcrypt', 'node-gyp-build'])
})

/**
 * A Lambda-like sandbox for one function: task root plus what the runtime and its layers provide.
 * A function that bundles its SDK gets no runtime SDK beside it, so the test proves it needs none.
 */
const sandboxes = new Map<string, Promise<string>>()
async function sandbox (f: FunctionBuild): Promise<string> {
  let made = sandboxes.get(f.name)
  if (made === undefined) sandboxes.set(f.name, made = makeSandbox(f))
  return await made
}

async function makeSandbox (f: FunctionBuild): Promise<string> {
  const root = join(work, 'sandbox', f.name)
  const task = join(root, 'task')
  await mkdir(join(root, 'node_modules'), { recursive: true })
  await cp(f.outDir, task, { recursive: true })
  if (!BUNDLES_SDK.has(f.name)) await symlink(join(ROOT, 'node_modules', '@aws-sdk'), join(root, 'node_modules', '@aws-sdk'), 'dir')
  for (const layerName of f.layers) {
    const layer = built.layers.find((l) => l.name === layerName)
    if (layer !== undefined) await cp(join(layer.outDir, 'nodejs', 'node_modules'), join(root, 'node_modules'), { recursive: true })
  }
  return join(task, basename(f.outFile))
}

const DRIVER = `
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
const [bundle, eventsFile, contextFile] = process.argv.slice(2)
const started = performance.now()
const mod = await import(pathToFileURL(bundle).href)
const initMs = performance.now() - started
const context = JSON.parse(readFileSync(contextFile, 'utf8'))
const results = []
let token = ''
for (const raw of JSON.parse(readFileSync(eventsFile, 'utf8'))) {
  // A later event may carry the token an earlier login answered (same container).
  const event = JSON.parse(JSON.stringify(raw).replaceAll('__TOKEN__', token))
  try {
    const res = await mod.handler(event, context)
    if (typeof res?.body === 'string' && res.body.includes('access_token')) token = JSON.parse(res.body).access_token
    results.push({ ok: res })
  } catch (err) { results.push({ error: String(err) }) }
}
const req = createRequire(bundle)
const where = (name) => { try { return req.resolve(name) } catch { return null } }
const callSites = globalThis.callSiteCalls ?? null
process.stdout.write('\\n@@RESULT ' + JSON.stringify({ initMs, results, bcrypt: where('bcrypt'), fastify: where('fastify'), sdk: where('@aws-sdk/client-dynamodb'), callSites }) + '\\n')
process.exit(0)
`

interface DriverResult { initMs: number; results: Array<{ ok?: unknown; error?: string }>; bcrypt: string | null; fastify: string | null; sdk: string | null; callSites: unknown[] | null; output: string }

// Preloaded (--import) before a bundle: records how the bundle calls util.getCallSites (which
// pino calls for every logger; Node 20 has none, so this provides one). src/lambda/call-sites.ts
// must wrap it before pino loads, so that every call asks for unmapped call sites (a mapped one
// parses the bundle's whole source map under --enable-source-maps: ~100 ms of a cold start).
const CALL_SITES_RECORDER = `
import util from 'node:util'
const original = util.getCallSites
globalThis.callSiteCalls = []
util.getCallSites = (frames, options) => {
  globalThis.callSiteCalls.push({ frames: frames ?? null, options: options ?? null })
  return original !== undefined ? original(frames, options) : []
}
`

async function runInFreshNode (node: string, bundle: string, events: unknown[], env: Record<string, string>): Promise<DriverResult> {
  const dir = await mkdtemp(join(work, `run-${basename(bundle)}-`))
  await writeFile(join(dir, 'driver.mjs'), DRIVER)
  await writeFile(join(dir, 'call-sites-recorder.mjs'), CALL_SITES_RECORDER)
  await writeFile(join(dir, 'events.json'), JSON.stringify(events))
  await writeFile(join(dir, 'context.json'), JSON.stringify(lambdaContext))
  const child = spawn(node, [join(dir, 'driver.mjs'), bundle, join(dir, 'events.json'), join(dir, 'context.json')], {
    cwd: dir,
    // Only what Lambda would set: no inherited NODE_OPTIONS (tsx), no node_modules on a path.
    env: { PATH: process.env.PATH ?? '/usr/bin', NODE_OPTIONS: `--enable-source-maps --import=${join(dir, 'call-sites-recorder.mjs')}`, AWS_REGION: 'us-east-1', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const line = output.split('\n').find((l) => l.startsWith('@@RESULT '))
  if (code !== 0 || line === undefined) throw new Error(`fresh node exited ${String(code)}:\n${output}`)
  return { ...(JSON.parse(line.slice('@@RESULT '.length)) as Omit<DriverResult, 'output'>), output }
}

async function answersRealEvents (t: Test, node: { path: string; version: string }): Promise<void> {
  const stack = await startStack(t)
  const secrets = await startFakeSecretsManager({ [ARN]: SECRET })
  t.teardown(() => secrets.close())
  const { JWT_SECRET: _local, ...base } = testEnv(stack, { LOG_LEVEL: 'info' })
  const appEnv = { ...base, JWT_SECRET_ARN: ARN, AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }
  const { ADMIN_EMAIL: _e, ADMIN_PASSWORD: _p, ...workerEnv } = base
  type Res = { statusCode: number; headers: Record<string, string>; body: string }

  // ApiFunction: the init phase seeds the admin (bcrypt hash in the layer's native addon); login
  // verifies the password (bcrypt compare) and signs with the secret from Secrets Manager.
  const api = await sandbox(fn('ApiFunction'))
  const login = httpEvent({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: { email: ADMIN.email, password: ADMIN.password }, base64: true })
  const health = httpEvent({ method: 'GET', path: '/health' })
  t.equal(login.functionName, 'ApiFunction')
  // ...and creates a flag with the token, which the EvaluateFunction's bundle then evaluates.
  const create = httpEvent({ method: 'POST', path: '/features', headers: { authorization: 'Bearer __TOKEN__', 'content-type': 'application/json' }, body: { name: 'bundle-flag', environments: { dev: true } } })
  const apiRun = await runInFreshNode(node.path, api, [health.event, login.event, create.event], appEnv)
  const [healthRes, loginRes, createRes] = apiRun.results.map((r) => r.ok as Res)
  t.equal(healthRes?.statusCode, 200, healthRes?.body ?? apiRun.output)
  t.equal(loginRes?.statusCode, 200, loginRes?.body ?? apiRun.output)
  t.equal(createRes?.statusCode, 201, createRes?.body ?? apiRun.output)
  const token = (JSON.parse(loginRes!.body) as { access_token: string }).access_token
  t.ok(apiRun.bcrypt?.startsWith(join(work, 'sandbox', 'ApiFunction', 'node_modules', 'bcrypt')), `bcrypt resolves to the layer copy (${String(apiRun.bcrypt)})`)
  t.equal(apiRun.fastify, null, 'nothing resolves from the repository: fastify is only inside the bundle')

  const evaluate = await sandbox(fn('EvaluateFunction'))
  const ev = httpEvent({ method: 'POST', path: '/features/evaluate', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: { feature: 'bundle-flag', environment: 'dev', context: { targetingKey: 'u-1' } } })
  t.equal(ev.functionName, 'EvaluateFunction')
  const evRun = await runInFreshNode(node.path, evaluate, [ev.event, ev.event], appEnv)
  for (const r of evRun.results) {
    const res = r.ok as Res
    t.equal(res.statusCode, 200, res.body)
    t.match(JSON.parse(res.body), { feature: 'bundle-flag', enabled: true, value: true })
  }
  t.equal(evRun.bcrypt, null, 'no bcrypt anywhere near the EvaluateFunction')
  for (const [name, run] of [['ApiFunction', apiRun], ['EvaluateFunction', evRun]] as const) {
    t.ok((run.callSites?.length ?? 0) > 0, `${name}: pino asked for its call sites`)
    t.same(run.callSites, run.callSites?.map(() => ({ frames: null, options: { sourceMap: false } })), `${name}: always unmapped (src/lambda/call-sites.ts ran before pino loaded)`)
  }
  t.equal(evRun.sdk, null, 'no runtime SDK beside the EvaluateFunction: its DynamoDB and Secrets Manager clients are the bundled ones')
  t.not(apiRun.sdk, null, 'the ApiFunction resolves its SDK from the runtime copy beside it')

  t.equal(secrets.calls.length, 2, 'one GetSecretValue per container (2 processes, 5 requests)')
  for (const run of [apiRun, evRun]) t.notOk(run.output.includes(SECRET), 'the secret is never logged')
  t.match(apiRun.output, /"msg":"request completed"/, 'the ApiFunction did log (LOG_LEVEL=info)')
  t.notMatch(evRun.output, /"msg":"(incoming request|request completed)"/, 'evaluations are summarised per minute, not logged one by one (src/access-log.ts)')

  // AuditConsumerFunction: no JWT secret, no Secrets Manager; a poison message is reported.
  const consumer = await sandbox(fn('AuditConsumerFunction'))
  const good = buildAuditEvent({ subject: 'bundle-audit', action: 'FEATURE_CREATED', actor: ADMIN.email, before: null, after: { name: 'bundle-audit' } }, { eventId: () => '0190d6a4-2222-7000-8000-000000000001' }, Date.now)
  const batch = sqsEvent([JSON.stringify(good), 'not json'])
  const consumerRun = await runInFreshNode(node.path, consumer, [batch], workerEnv)
  t.same(consumerRun.results[0]?.ok, { batchItemFailures: [{ itemIdentifier: batch.Records[1]!.messageId }] }, consumerRun.output)

  // MaintenanceFunction: a scheduled event runs both jobs.
  const maintenance = await sandbox(fn('MaintenanceFunction'))
  const maintenanceRun = await runInFreshNode(node.path, maintenance, [scheduledEvent()], workerEnv)
  t.match(maintenanceRun.results[0]?.ok, { outbox: { found: Number, sent: Number }, schedules: { applied: Number, failed: 0 } }, maintenanceRun.output)
  t.equal(secrets.calls.length, 2, 'the workers never asked for the secret')
}

for (const node of NODES) {
  t.test(`the bundles answer real events from a fresh node ${node.version} process outside the repository`, (t) => answersRealEvents(t, node))
}
