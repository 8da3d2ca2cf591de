// npm run bench:lambda [-- --runs 21] [--node 24 | --node current | --node /path/to/node]
//
// A benchmark, not a test. For each Lambda function: the bundle size (npm run build:lambda's
// output, minified) and its cold init: a fresh `node` process imports the bundle, whose top level
// awaits app.ready() (what Lambda's init phase runs), median of --runs processes. Beside it, in the
// same run and interleaved with it (so machine load hits all alike), a bare Fastify +
// @fastify/aws-lambda handler bundled with the same esbuild options. Every process gets only the
// environment Lambda would give it (no NODE_EXTRA_CA_CERTS, no tsx), NODE_OPTIONS as deployed
// (--enable-source-maps), and a Lambda-like sandbox outside the repository (@aws-sdk/* and the
// function's layers beside the task root, as the runtime provides them).
//
// What init includes: EvaluateFunction and the workers make no network call during init (the
// JWT secret is passed as JWT_SECRET here; on AWS one GetSecretValue is added). ApiFunction's init
// includes its bootstrap (four conditional PutItems seeding the environment registry) against a
// local dynalite started by this script. Results go to bench-results/lambda.json.
import { spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { ROOT, buildLambdas, esbuildOptions, formatBytes, loadTemplate, type FunctionBuild, type LambdaBuild } from './build-lambda.js'
import { startLocalStack } from '../src/local/stack.js'
import { resolveNode, runtimeMajor } from './runtime-node.js'

const BARE_SOURCE = `
import Fastify from 'fastify'
import awsLambdaFastify from '@fastify/aws-lambda'
const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
app.get('/health', async () => ({ status: 'ok' }))
export const handler = awsLambdaFastify(app)
await app.ready()
`

// The same with src/lambda/call-sites.ts imported first, as the Fastify entry points do: pino's
// util.getCallSites() then leaves the source map unparsed on Node >= 22.12 (see there). A
// reference, so the ratio to the bare handler is shown both as published and like for like.
const BARE_UNMAPPED_SOURCE = `import './src/lambda/call-sites.ts'\n${BARE_SOURCE}`

// The same, plus the AWS SDK clients the app constructs at start (external, as on Lambda): the
// floor that loading the runtime's SDK puts under any handler that talks to DynamoDB and SQS.
const BARE_SDK_SOURCE = `
import Fastify from 'fastify'
import awsLambdaFastify from '@fastify/aws-lambda'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: process.env.AWS_REGION }))
const sqs = new SQSClient({ region: process.env.AWS_REGION })
const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
app.decorate('doc', doc)
app.decorate('sqs', sqs)
app.get('/health', async () => ({ status: 'ok' }))
export const handler = awsLambdaFastify(app)
await app.ready()
`

// The like-for-like floor of any handler that talks to DynamoDB: the SDK clients with the fix.
const BARE_SDK_UNMAPPED_SOURCE = `import './src/lambda/call-sites.ts'\n${BARE_SDK_SOURCE}`

const PROBE = `
import { pathToFileURL } from 'node:url'
const boot = performance.now()
await import(pathToFileURL(process.argv[2]).href)
const init = performance.now() - boot
process.stdout.write('@@INIT ' + JSON.stringify({ boot, init }) + '\\n')
process.exit(0)
`

interface Target { name: string; bundle: string; bytes: number; env: Record<string, string>; note: string }
interface Sample { boot: number; init: number; wall: number }

function stats (xs: number[]) {
  const s = [...xs].sort((a, b) => a - b)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]!
  return { median: q(0.5), p10: q(0.1), p90: q(0.9), min: s[0]!, max: s[s.length - 1]! }
}

const round = (n: number) => Math.round(n * 10) / 10
const ratio = (a: number, b: number) => Math.round(a / b * 100) / 100

async function sandbox (work: string, name: string, built: LambdaBuild, f?: FunctionBuild, bareBundle?: string): Promise<string> {
  const root = join(work, 'sandbox', name)
  await mkdir(join(root, 'node_modules'), { recursive: true })
  await symlink(join(ROOT, 'node_modules', '@aws-sdk'), join(root, 'node_modules', '@aws-sdk'), 'dir')
  if (f !== undefined) {
    await cp(f.outDir, join(root, 'task'), { recursive: true })
    for (const layerName of f.layers) {
      const layer = built.layers.find((l) => l.name === layerName)
      if (layer !== undefined) await cp(join(layer.outDir, 'nodejs', 'node_modules'), join(root, 'node_modules'), { recursive: true })
    }
    return join(root, 'task', basename(f.outFile))
  }
  await cp(join(bareBundle!, '..'), join(root, 'task'), { recursive: true })
  return join(root, 'task', basename(bareBundle!))
}

async function probe (work: string, target: Target, node: string): Promise<Sample> {
  const started = performance.now()
  const child = spawn(node, [join(work, 'probe.mjs'), target.bundle], {
    cwd: work,
    env: { PATH: process.env.PATH ?? '/usr/bin', NODE_OPTIONS: '--enable-source-maps', AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', ...target.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { out += c.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const wall = performance.now() - started
  const line = out.split('\n').find((l) => l.startsWith('@@INIT '))
  if (code !== 0 || line === undefined) throw new Error(`${target.name}: probe exited ${String(code)}\n${out}`)
  return { ...(JSON.parse(line.slice(7)) as { boot: number; init: number }), wall }
}

// The node that runs the probes: by default the major the template's Runtime names (nodejs24.x:
// Node 24, see runtime-node.ts); `--node 22` another major; `--node current` the node running this
// script; `--node /path/to/node` that binary.

async function main () {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '21' }, node: { type: 'string' } } })
  const runs = Math.max(20, Number(values.runs))
  const runtime = String(((await loadTemplate()).Globals as { Function?: { Runtime?: string } } | undefined)?.Function?.Runtime ?? '')
  const node = await resolveNode(values.node ?? await runtimeMajor() ?? 'current')
  const work = await mkdtemp(join(tmpdir(), 'switchyard-bench-lambda-'))
  const stack = await startLocalStack({ tableName: 'switchyard-bench' })
  try {
    const load: { start: number[]; end: number[] } = { start: loadavg(), end: [] }
    process.stdout.write(`building bundles into ${work} ...\n`)
    const built = await buildLambdas({ outDir: join(work, 'build') })
    const template = await loadTemplate()
    const evaluateProps = ((template.Resources as Record<string, { Metadata?: { BuildProperties?: Record<string, unknown> } }>).EvaluateFunction!.Metadata!.BuildProperties)!
    const bareOptions = esbuildOptions('Bare', evaluateProps, ROOT, join(work, 'bare'))
    delete bareOptions.entryPoints
    delete bareOptions.outdir
    const bundleBare = async (name: string, contents: string, external?: string[]) => {
      const out = join(work, name, `${name}.mjs`)
      const result = await build({ ...bareOptions, ...(external !== undefined ? { external } : {}), stdin: { contents, resolveDir: ROOT, sourcefile: `${name}.ts`, loader: 'ts' }, outfile: out })
      return { file: out, bytes: Object.entries(result.metafile!.outputs).find(([p]) => p.endsWith(`${name}.mjs`))![1].bytes }
    }
    const bare = await bundleBare('bare', BARE_SOURCE)
    const bareUnmapped = await bundleBare('bare-unmapped', BARE_UNMAPPED_SOURCE)
    // EvaluateFunction bundles its SDK clients; this reference keeps them external, from the runtime.
    const bareSdk = await bundleBare('bare-sdk', BARE_SDK_SOURCE, ['@aws-sdk/*'])
    const bareSdkUnmapped = await bundleBare('bare-sdk-unmapped', BARE_SDK_UNMAPPED_SOURCE, ['@aws-sdk/*'])
    await writeFile(join(work, 'probe.mjs'), PROBE)

    const appEnv = {
      TABLE_NAME: 'switchyard-bench',
      DYNAMODB_ENDPOINT: stack.dynamoEndpoint,
      SQS_ENDPOINT: stack.sqsEndpoint,
      AUDIT_QUEUE_URL: stack.queueUrl,
      JWT_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'info'
    }
    const { JWT_SECRET: _j, ...workerEnv } = appEnv
    const fn = (name: string) => built.functions.find((f) => f.name === name)!
    const targets: Target[] = [
      { name: 'bare Fastify + @fastify/aws-lambda', bundle: await sandbox(work, 'Bare', built, undefined, bare.file), bytes: bare.bytes, env: { LOG_LEVEL: 'info' }, note: 'one route, same esbuild options as EvaluateFunction' },
      { name: 'bare + call-sites.ts', bundle: await sandbox(work, 'BareUnmapped', built, undefined, bareUnmapped.file), bytes: bareUnmapped.bytes, env: { LOG_LEVEL: 'info' }, note: 'the bare handler importing src/lambda/call-sites.ts first, as the entry points do' },
      { name: 'bare + DynamoDB/SQS SDK clients', bundle: await sandbox(work, 'BareSdk', built, undefined, bareSdk.file), bytes: bareSdk.bytes, env: { LOG_LEVEL: 'info' }, note: 'the bare handler constructing the SDK clients the app constructs (SDK external, from the runtime)' },
      { name: 'bare + call-sites.ts + SDK clients', bundle: await sandbox(work, 'BareSdkUnmapped', built, undefined, bareSdkUnmapped.file), bytes: bareSdkUnmapped.bytes, env: { LOG_LEVEL: 'info' }, note: 'the SDK-client handler importing src/lambda/call-sites.ts first: the like-for-like floor of a handler that uses the SDK' },
      { name: 'EvaluateFunction', bundle: await sandbox(work, 'EvaluateFunction', built, fn('EvaluateFunction')), bytes: fn('EvaluateFunction').bytes, env: appEnv, note: 'evaluate-app: config, plugins, clients, routes; no network' },
      { name: 'ApiFunction', bundle: await sandbox(work, 'ApiFunction', built, fn('ApiFunction')), bytes: fn('ApiFunction').bytes, env: appEnv, note: 'full app; includes bootstrap (4 conditional PutItems to local dynalite) and loading bcrypt from the layer' },
      { name: 'AuditConsumerFunction', bundle: await sandbox(work, 'AuditConsumerFunction', built, fn('AuditConsumerFunction')), bytes: fn('AuditConsumerFunction').bytes, env: workerEnv, note: 'workers, no Fastify; no network' },
      { name: 'MaintenanceFunction', bundle: await sandbox(work, 'MaintenanceFunction', built, fn('MaintenanceFunction')), bytes: fn('MaintenanceFunction').bytes, env: workerEnv, note: 'workers, no Fastify; no network' }
    ]

    // One warm-up round (file system cache), then interleaved measured rounds.
    for (const target of targets) await probe(work, target, node.path)
    const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]))
    process.stdout.write(`measuring cold init: ${runs} fresh node processes per function, interleaved ...\n`)
    for (let i = 0; i < runs; i++) {
      for (const target of targets) samples.get(target.name)!.push(await probe(work, target, node.path))
    }
    load.end = loadavg()

    const results = targets.map((t) => {
      const s = samples.get(t.name)!
      return { name: t.name, bundleBytes: t.bytes, note: t.note, initMs: stats(s.map((x) => x.init)), processWallMs: stats(s.map((x) => x.wall)), nodeBootMs: stats(s.map((x) => x.boot)) }
    })
    const bareInit = results[0]!.initMs.median
    const bareUnmappedInit = results[1]!.initMs.median
    const bareSdkInit = results[2]!.initMs.median
    const evaluate = results.find((r) => r.name === 'EvaluateFunction')!
    const report = {
      date: new Date().toISOString(),
      command: `npm run bench:lambda -- --runs ${runs}${values.node !== undefined ? ` --node ${values.node}` : ''}`,
      runtime,
      machine: { node: node.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverage: load },
      runs,
      method: 'fresh node process per sample; init = import of the bundle until its top-level await app.ready() resolves; NODE_OPTIONS=--enable-source-maps; NODE_EXTRA_CA_CERTS unset; @aws-sdk/* resolved from a runtime-like node_modules beside the task root, except in EvaluateFunction, which bundles its SDK clients',
      results: results.map((r) => ({ ...r, initMs: Object.fromEntries(Object.entries(r.initMs).map(([k, v]) => [k, round(v)])), processWallMs: Object.fromEntries(Object.entries(r.processWallMs).map(([k, v]) => [k, round(v)])), nodeBootMs: Object.fromEntries(Object.entries(r.nodeBootMs).map(([k, v]) => [k, round(v)])), initVsBare: ratio(r.initMs.median, bareInit), initVsBareUnmapped: ratio(r.initMs.median, bareUnmappedInit), initVsBareWithSdk: ratio(r.initMs.median, bareSdkInit) })),
      targets: {
        evaluateBundle: { limitBytes: 1.5 * 1024 * 1024, actualBytes: evaluate.bundleBytes, met: evaluate.bundleBytes <= 1.5 * 1024 * 1024 },
        evaluateInit: { limitRatio: 1.5, actualRatio: ratio(evaluate.initMs.median, bareInit), met: evaluate.initMs.median <= 1.5 * bareInit, ratioToBareWithCallSitesFix: ratio(evaluate.initMs.median, bareUnmappedInit) }
      }
    }
    await mkdir(join(ROOT, 'bench-results'), { recursive: true })
    await writeFile(join(ROOT, 'bench-results', 'lambda.json'), JSON.stringify(report, null, 2) + '\n')

    const lines = [
      '',
      `Lambda bundles and cold init (median of ${runs} fresh processes; node ${node.version}, ${cpus().length} CPUs, load ${load.start.map((l) => l.toFixed(1)).join('/')} -> ${load.end.map((l) => l.toFixed(1)).join('/')})`,
      '',
      `  ${'function'.padEnd(36)} ${'bundle'.padStart(10)} ${'init median'.padStart(12)} ${'p10-p90'.padStart(16)} ${'vs bare'.padStart(8)} ${'vs +SDK'.padStart(8)} ${'process'.padStart(10)}`
    ]
    for (const r of report.results) {
      lines.push(`  ${r.name.padEnd(36)} ${formatBytes(r.bundleBytes).padStart(10)} ${`${r.initMs.median} ms`.padStart(12)} ${`${r.initMs.p10}-${r.initMs.p90}`.padStart(16)} ${`${r.initVsBare.toFixed(2)}x`.padStart(8)} ${`${r.initVsBareWithSdk.toFixed(2)}x`.padStart(8)} ${`${r.processWallMs.median} ms`.padStart(10)}`)
    }
    lines.push('', `  EvaluateFunction bundle ${formatBytes(evaluate.bundleBytes)} (target <= 1.50 MB): ${report.targets.evaluateBundle.met ? 'met' : 'MISSED'}`)
    lines.push(`  EvaluateFunction init ${report.targets.evaluateInit.actualRatio.toFixed(2)}x the bare handler (target <= 1.5x): ${report.targets.evaluateInit.met ? 'met' : 'MISSED'}`)
    lines.push(`  like for like (the bare handler with call-sites.ts too): ${report.targets.evaluateInit.ratioToBareWithCallSitesFix.toFixed(2)}x`)
    lines.push('', '  init = import + app.ready() inside the process; process = spawn to exit, node start-up included.')
    lines.push('  ApiFunction init includes its bootstrap writes to a local dynalite; the others make no network call.', '  written to bench-results/lambda.json', '')
    process.stdout.write(lines.join('\n'))
  } finally {
    await stack.close()
    await rm(work, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:lambda failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
