// npm run bench [-- --duration 10 --connections 50 --cache both|on|off --quiet-below 1.5 --max-wait 900]
//
// A benchmark, not a test (DESIGN.md §7). It starts, each as its own process exactly like
// `npm run dev` (`node --import tsx src/server.ts`, local stack in a temporary DATA_DIR,
// LOG_LEVEL=warn, a rate limit high enough never to answer 429):
//   - the service, first with the evaluation cache on (EVAL_CACHE_TTL_MS=5000, the default), then
//     restarted on the same data with it off (EVAL_CACHE_TTL_MS=0);
//   - a bare Fastify server with the same server options and one hello-world route: the ceiling.
// It loads a realistic data set through the API (1 000 flags of four types with rules, targets
// and rollouts in dev/qa/staging/prod, some on segments; 100 of them also in the environment
// `bulk100`), creates API keys, and runs autocannon from this process (the load generator is never
// the server process) for --duration s at --connections connections, after a 2 s warm-up, against:
//   (a) GET /hello on the bare server (and, for information, (a') POST /hello with the request
//       body and Authorization header of (d): what any JSON POST costs before the service's work);
//   (b) POST /features/evaluate with an API key, and with a user's JWT (an HMAC verify per request);
//   (c) OFREP single evaluation;
//   (d) OFREP bulk for the 100 flags of `bulk100`: a first fetch by a new context on every request
//       (nothing cached for it), a repeated fetch without If-None-Match, and the 304 revalidation.
// (b) and (c) rotate over 256 (flag, context) pairs drawn from the 1 000 flags.
// Before measuring it waits (polling) until the 1-minute load average is below --quiet-below.
// Prints requests/s, p50, p99 and the ratio to (a); writes bench-results/bench.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Request as CannonRequest } from 'autocannon'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  ROOT, api, cannon, expectStatus, type Api, type FlagBody, machine, pool, realisticContext, realisticFlag, startServer, waitForQuiet,
  type ChildServer, type Measured
} from './bench-support.js'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    cache: { type: 'string', default: 'both' },
    flags: { type: 'string', default: '1000' },
    'quiet-below': { type: 'string', default: '1.5' },
    'max-wait': { type: 'string', default: '900', description: 'seconds to wait for a quiet machine' },
    keep: { type: 'boolean', default: false },
    only: { type: 'string', description: 'comma-separated scenario ids (a, b-apikey, b-jwt, c, d-first, d-repeat, d-304); (a) always runs' },
    'data-dir': { type: 'string', description: 'reuse (or create and keep) this DATA_DIR: the data set is loaded once' }
  }
})
const DURATION = Number(args.duration)
const CONNECTIONS = Number(args.connections)
const WARMUP = Number(args.warmup)
const FLAGS = Number(args.flags)
const MODES = args.cache === 'both' ? ['on', 'off'] as const : [args.cache as 'on' | 'off']
const ENVS = ['dev', 'qa', 'staging', 'prod']
const BULK_ENV = 'bulk100'
const ADMIN = { email: 'bench-admin@example.com', password: 'bench admin passphrase' }
const CLIENT = { username: 'bench-client', email: 'bench-client@example.com', password: 'bench client passphrase' }
const log = (s: string) => process.stderr.write(s + '\n')

const work = await mkdtemp(join(tmpdir(), 'switchyard-bench-'))
const dataDir = args['data-dir'] !== undefined ? resolve(args['data-dir']) : join(work, 'data')
const servers: ChildServer[] = []
const baseEnv: Record<string, string> = {
  HOST: '127.0.0.1',
  PORT: '0',
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_PER_MINUTE: '1000000000',
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  BCRYPT_ROUNDS: '10'
}
// Never inherit endpoints or secrets: the bench runs on its own local stack.
for (const k of ['DYNAMODB_ENDPOINT', 'SQS_ENDPOINT', 'AUDIT_QUEUE_URL', 'JWT_SECRET', 'EVAL_CACHE_TTL_MS', 'SHED_EVENT_LOOP_DELAY_MS']) delete process.env[k]

async function startService (mode: 'on' | 'off'): Promise<ChildServer> {
  const s = await startServer(`switchyard-cache-${mode}`, 'src/server.ts', { ...baseEnv, EVAL_CACHE_TTL_MS: mode === 'on' ? '5000' : '0' }, work)
  servers.push(s)
  return s
}

async function stop (s: ChildServer) {
  await s.stop()
  servers.splice(servers.indexOf(s), 1)
}

async function loadData (url: string) {
  const { call } = api(url)
  const started = Date.now()
  const login = await expectStatus(call('POST', '/auth/login', { body: ADMIN }), 200, 'admin login')
  const admin = { authorization: `Bearer ${login.access_token as string}` }
  const flags = Array.from({ length: FLAGS }, (_, i) => realisticFlag(i, i % 10 === 0 && i / 10 < 100 ? [...ENVS, BULK_ENV] : ENVS, { segments: SEGMENTS }))
  const existing = await expectStatus(call('GET', '/features?limit=1', { headers: admin }), 200, 'list features')
  if (existing.items.length === 0) await createFlags(call, admin, flags)
  const created = Date.now()
  const devKey = await expectStatus(call('POST', '/api-keys', { headers: admin, body: { name: 'bench-dev', environment: 'dev' } }), 201, 'api key')
  const bulkKey = await expectStatus(call('POST', '/api-keys', { headers: admin, body: { name: 'bench-bulk', environment: BULK_ENV } }), 201, 'api key')
  const signup = await call('POST', '/auth/signup', { body: CLIENT })
  if (signup.status !== 201 && signup.status !== 409) throw new Error(`client signup: ${signup.status}`)
  const client = await expectStatus(call('POST', '/auth/login', { body: { email: CLIENT.email, password: CLIENT.password } }), 200, 'client login')
  const bulkCount = await expectStatus(call('POST', '/ofrep/v1/evaluate/flags', { headers: { authorization: `Bearer ${bulkKey.key as string}` }, body: {} }), 200, 'bulk check')
  if (bulkCount.flags.length !== 100) throw new Error(`${BULK_ENV} holds ${bulkCount.flags.length as number} flags, expected 100`)
  return {
    flags: flags.map((f) => f.name),
    devKey: devKey.key as string,
    bulkKey: bulkKey.key as string,
    jwt: client.access_token as string,
    loadSeconds: existing.items.length === 0 ? Math.round((created - started) / 100) / 10 : null
  }
}

const SEGMENTS = ['beta-testers', 'staff', 'vip']

async function createFlags (call: Api['call'], admin: Record<string, string>, flags: FlagBody[]) {
  await expectStatus(call('POST', '/environments', { headers: admin, body: { name: BULK_ENV, description: 'exactly 100 flags, for the bulk benchmark' } }), 201, 'create environment')
  for (const [i, key] of SEGMENTS.entries()) {
    await expectStatus(call('POST', '/segments', {
      headers: admin,
      body: { key, included: Array.from({ length: 50 }, (_, u) => `user-${u * 7 + i}`), excluded: [], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith', values: [`@corp${i}.example`] }] }] }
    }), 201, `create segment ${key}`)
  }
  await pool(flags, 8, async (f) => { await expectStatus(call('POST', '/features', { headers: admin, body: f }), 201, `create ${f.name}`) })
}

type Data = Awaited<ReturnType<typeof loadData>>

function scenarios (service: string, hello: string, data: Data, etag: string): Array<{ id: string; name: string; url: string; requests: CannonRequest[] }> {
  const json = { 'content-type': 'application/json' }
  const pairs = Array.from({ length: 256 }, (_, i) => ({ flag: data.flags[(i * 389) % data.flags.length], context: realisticContext(i * 7919) }))
  const withKey = (key: string) => ({ ...json, authorization: `Bearer ${key}` })
  const bulkBody = JSON.stringify({ context: realisticContext(42) })
  let fresh = 1_000_000
  return [
    { id: 'a', name: '(a) hello world (bare Fastify)', url: hello + '/hello', requests: [{ method: 'GET', path: '/hello' }] },
    {
      id: 'a-post', name: '(a\') hello world POST, same body + auth header (info)', url: hello + '/hello',
      requests: [{ method: 'POST', path: '/hello', headers: withKey(data.bulkKey), body: bulkBody }]
    },
    {
      id: 'b-apikey', name: '(b) POST /features/evaluate, API key', url: service,
      requests: pairs.map((p) => ({ method: 'POST', path: '/features/evaluate', headers: withKey(data.devKey), body: JSON.stringify({ feature: p.flag, environment: 'dev', context: p.context }) }))
    },
    {
      id: 'b-jwt', name: '(b) POST /features/evaluate, JWT', url: service,
      requests: pairs.map((p) => ({ method: 'POST', path: '/features/evaluate', headers: { ...json, authorization: `Bearer ${data.jwt}` }, body: JSON.stringify({ feature: p.flag, environment: 'dev', context: p.context }) }))
    },
    {
      id: 'c', name: '(c) OFREP single, API key', url: service,
      requests: pairs.map((p) => ({ method: 'POST', path: `/ofrep/v1/evaluate/flags/${p.flag}`, headers: withKey(data.devKey), body: JSON.stringify({ context: p.context }) }))
    },
    {
      id: 'd-first', name: '(d) OFREP bulk 100, first fetch (new context each request)', url: service,
      requests: [{
        method: 'POST',
        path: '/ofrep/v1/evaluate/flags',
        headers: withKey(data.bulkKey),
        setupRequest: (req: CannonRequest) => ({ ...req, body: JSON.stringify({ context: realisticContext(fresh++) }) })
      }]
    },
    { id: 'd-repeat', name: '(d) OFREP bulk 100, same context, no If-None-Match', url: service, requests: [{ method: 'POST', path: '/ofrep/v1/evaluate/flags', headers: withKey(data.bulkKey), body: bulkBody }] },
    { id: 'd-304', name: '(d) OFREP bulk 100, 304 revalidation', url: service, requests: [{ method: 'POST', path: '/ofrep/v1/evaluate/flags', headers: { ...withKey(data.bulkKey), 'if-none-match': etag }, body: bulkBody }] }
  ]
}

const EXPECTED: Record<string, string> = { 'd-304': '304' }

try {
  const box = await machine()
  log(`machine: ${box.nproc} CPUs, ${box.cpuModel}, Node ${box.node}`)
  await mkdir(dataDir, { recursive: true })
  let service = await startService(MODES[0])
  log(`service (cache ${MODES[0]}) on ${service.url}; loading ${FLAGS} flags through the API …`)
  const data = await loadData(service.url)
  log(`loaded in ${data.loadSeconds} s`)
  const hello = await startServer('hello', 'scripts/bench-hello.ts', baseEnv, work)
  servers.push(hello)

  const quiet = await waitForQuiet({ below: Number(args['quiet-below']), maxWaitMs: Number(args['max-wait']) * 1000, log })
  log(`load average before measuring: ${quiet.loadavg.map((l) => l.toFixed(2)).join(' ')}`)

  const results: Record<string, { ttlMs: number; scenarios: Array<{ id: string; name: string; ratio: number; cpuRatio: number; ok: boolean } & Measured>; memory: unknown; loadavgAfter: number[] }> = {}
  for (const mode of MODES) {
    if (!service.name.endsWith(mode)) {
      await stop(service)
      service = await startService(mode)
    }
    const { call } = api(service.url)
    const first = await call('POST', '/ofrep/v1/evaluate/flags', { headers: { authorization: `Bearer ${data.bulkKey}` }, body: { context: realisticContext(42) } })
    const etag = first.headers.get('etag') ?? ''
    const rows: Array<{ id: string; name: string; ratio: number; cpuRatio: number; ok: boolean } & Measured> = []
    let ceiling = 0
    let ceilingCpu = NaN
    const only = args.only?.split(',')
    for (const s of scenarios(service.url, hello.url, data, etag).filter((x) => only === undefined || x.id === 'a' || only.includes(x.id))) {
      log(`[cache ${mode}] ${s.name} …`)
      const m = await cannon({ url: s.url, connections: CONNECTIONS, duration: DURATION, warmupSeconds: WARMUP, requests: s.requests, server: s.id.startsWith('a') ? hello : service })
      if (s.id === 'a') { ceiling = m.rps; ceilingCpu = m.serverCpuUsPerRequest ?? NaN }
      const expected = EXPECTED[s.id] ?? '200'
      const ok = m.errors === 0 && m.timeouts === 0 && Object.keys(m.statusCodes).every((c) => c === expected)
      const cpuRatio = Math.round((ceilingCpu / (m.serverCpuUsPerRequest ?? NaN)) * 1000) / 1000
      rows.push({ id: s.id, name: s.name, ...m, ratio: Math.round((m.rps / ceiling) * 1000) / 1000, cpuRatio, ok })
      log(`   ${m.rps} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, server CPU ${m.serverCpuUsPerRequest} µs/req, ${JSON.stringify(m.statusCodes)}${ok ? '' : '  <-- unexpected statuses/errors'}`)
    }
    results[mode] = { ttlMs: mode === 'on' ? 5000 : 0, scenarios: rows, memory: await service.memory(), loadavgAfter: loadavg() }
  }

  // Report.
  const targets = (mode: string) => {
    const r = Object.fromEntries(results[mode].scenarios.map((s) => [s.id, s]))
    if (args.only !== undefined) return {}
    return {
      'b ≥ 50 % of a, p99 ≤ 20 ms (API key)': r['b-apikey'].ratio >= 0.5 && r['b-apikey'].p99 <= 20,
      'b ≥ 50 % of a, p99 ≤ 20 ms (JWT)': r['b-jwt'].ratio >= 0.5 && r['b-jwt'].p99 <= 20,
      'c ≥ 50 % of a, p99 ≤ 20 ms': r.c.ratio >= 0.5 && r.c.p99 <= 20,
      '304 ≥ 70 % of a': r['d-304'].ratio >= 0.7
    }
  }
  const pad = (s: string | number, n: number) => String(s).padStart(n)
  for (const mode of MODES) {
    process.stdout.write(`\nEvaluation cache ${mode} (EVAL_CACHE_TTL_MS=${results[mode].ttlMs}); ${CONNECTIONS} connections, ${DURATION} s each\n`)
    process.stdout.write(`${'scenario'.padEnd(62)} ${pad('req/s', 8)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('vs (a)', 7)} ${pad('CPU µs/req', 11)} ${pad('CPU vs (a)', 10)}\n`)
    for (const s of results[mode].scenarios) {
      process.stdout.write(`${s.name.padEnd(62)} ${pad(s.rps, 8)} ${pad(s.p50, 7)} ${pad(s.p99, 7)} ${pad(`${Math.round(s.ratio * 100)} %`, 7)} ${pad(s.serverCpuUsPerRequest ?? '-', 11)} ${pad(`${Math.round(s.cpuRatio * 100)} %`, 10)}${s.ok ? '' : '  (unexpected statuses/errors)'}\n`)
    }
    process.stdout.write(`service memory after the runs: ${JSON.stringify(results[mode].memory)}\n`)
    for (const [k, v] of Object.entries(targets(mode))) process.stdout.write(`  target ${k}: ${v ? 'met' : 'NOT met'}\n`)
  }
  const out = {
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    machine: box,
    quiet: { threshold: Number(args['quiet-below']), ...quiet },
    settings: { durationSeconds: DURATION, warmupSeconds: WARMUP, connections: CONNECTIONS, flags: FLAGS, environments: [...ENVS, BULK_ENV], bulkFlags: 100, logLevel: 'warn' },
    dataLoadSeconds: data.loadSeconds,
    results,
    targets: Object.fromEntries(MODES.map((m) => [m, targets(m)]))
  }
  await mkdir(join(ROOT, 'bench-results'), { recursive: true })
  await writeFile(join(ROOT, 'bench-results', 'bench.json'), JSON.stringify(out, null, 2) + '\n')
  process.stdout.write('\nwritten: bench-results/bench.json\n')
} finally {
  for (const s of [...servers].reverse()) await s.stop().catch(() => {})
  if (!args.keep) await rm(work, { recursive: true, force: true })
  else log(`kept ${work}`)
}
