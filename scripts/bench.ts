// npm run bench [-- --duration 10 --rounds 5 --connections 50 --modes on,off --store separate --quiet-below 1.5 --max-wait 900 --profile DIR]
//
// A benchmark, not a test (DESIGN.md §7). Every request goes through Fastify: there is one
// request pipeline. It starts, each as its own process exactly like `npm run dev`
// (`node --import tsx src/server.ts`, local stack in a temporary DATA_DIR, the default
// LOG_LEVEL=info, a rate limit high enough never to answer 429):
//   - the store (--store separate, the default): a dev server owning the local stack, whose
//     dynalite the service uses through DYNAMODB_ENDPOINT, so that the service's CPU is its own, as
//     on AWS where DynamoDB is remote (and as bench:scale runs). With --store in-process the service
//     owns the stack itself, as `npm run dev` does: every read it makes then also costs its own
//     event loop dynalite's share of the read;
//   - the service in up to two modes, restarted on the same data between them:
//       on  — as `npm run dev` runs it: evaluation cache on (EVAL_CACHE_TTL_MS=5000, the default);
//       off — cache off (EVAL_CACHE_TTL_MS=0): every evaluation reads the store;
//   - the ceiling: a bare Fastify server with the same server options and a hello-world POST
//     route that parses the JSON body and answers {hello: 'world'} (scripts/bench-hello.ts), in its
//     own process, at LOG_LEVEL=warn (no per-request log lines: the cheapest Fastify POST).
// It loads a realistic data set through the API (1 000 flags of four types with rules, targets
// and rollouts in dev/qa/staging/prod, some on segments; 100 of them also in the environment
// `bulk100`), creates API keys, and runs autocannon from this process (the load generator is never
// the server process) at --connections connections, after a 2 s warm-up, against each scenario.
// The machine is a shared VM whose speed drifts by tens of percent over minutes, so each scenario
// is measured in --rounds slices of --duration/--rounds seconds, each right after a slice of its
// ceiling (--ceiling-slice seconds, 1 by default): the same requests — method, headers and bodies
// — sent to the hello-world POST. The ratio reported is the median of the per-slice ratios
// (requests/s is over all slices). The ceiling slice is short so that the service's cache
// sees traffic as a service in steady use does: during a pause of 2 s every cached flag passed its
// refresh-ahead point (drawn in the last 50-15 % of the 5 s TTL) unread.
// Each connection starts at its own place in a scenario's list of requests (bench-support's
// spreadRequests), not all at the first (--lockstep keeps autocannon's behaviour for comparison).
// Scenarios:
//   (a) the ceilings, for information: GET /hello, and the POST ceiling of (d) (its body and
//       Authorization header);
//   (b) POST /features/evaluate with an API key, and with a user's JWT;
//   (c) OFREP single evaluation;
//   (d) OFREP bulk for the 100 flags of `bulk100`: a first fetch by a new context on every request
//       (nothing cached for it), a repeated fetch without If-None-Match, and the 304 revalidation.
// (b) and (c) rotate over 256 (flag, context) pairs drawn from the 1 000 flags.
// Before measuring it waits (polling) until the 1-minute load average is below --quiet-below.
// Prints requests/s, p50, p99 and the ratio to the ceiling; writes bench-results/bench.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { Request as CannonRequest } from 'autocannon'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  ROOT, api, cannon, devDynamoEndpoint, expectStatus, type Api, type FlagBody, machine, pool, realisticContext, realisticFlag, startServer, waitForQuiet,
  type ChildServer, type Measured
} from './bench-support.js'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    'ceiling-slice': { type: 'string', default: '1', description: 'seconds of (a) before each slice of a scenario' },
    modes: { type: 'string', default: 'on,off' },
    flags: { type: 'string', default: '1000' },
    'quiet-below': { type: 'string', default: '1.5' },
    'max-wait': { type: 'string', default: '900', description: 'seconds to wait for a quiet machine' },
    keep: { type: 'boolean', default: false },
    only: { type: 'string', description: 'comma-separated scenario ids (a-post, b-apikey, b-jwt, c, d-first, d-repeat, d-304)' },
    'data-dir': { type: 'string', description: 'reuse (or create and keep) this DATA_DIR: the data set is loaded once' },
    store: { type: 'string', default: 'separate', description: 'separate (a store process, as DynamoDB is remote on AWS) or in-process (as npm run dev)' },
    profile: { type: 'string', description: 'write V8 CPU profiles of the service (one per thread; not the ceiling) into DIR/<mode>/' },
    lockstep: { type: 'boolean', default: false, description: "start every connection at a scenario's first request (autocannon's default) instead of spreading them over its list" }
  }
})
const DURATION = Number(args.duration)
const CONNECTIONS = Number(args.connections)
const WARMUP = Number(args.warmup)
const FLAGS = Number(args.flags)
const ROUNDS = Number(args.rounds)
const CEILING_SLICE = Number(args['ceiling-slice'])
if (args.store !== 'separate' && args.store !== 'in-process') throw new Error('--store: separate or in-process')
const SEPARATE_STORE = args.store === 'separate'
type Mode = 'on' | 'off'
const MODES = args.modes.split(',') as Mode[]
if (MODES.some((m) => !['on', 'off'].includes(m))) throw new Error('--modes: a comma-separated list of on, off')
const MODE_ENV: Record<Mode, Record<string, string>> = {
  on: { EVAL_CACHE_TTL_MS: '5000' },
  off: { EVAL_CACHE_TTL_MS: '0' }
}
const MODE_NAME: Record<Mode, string> = {
  on: 'cache on (npm run dev, LOG_LEVEL=info)',
  off: 'cache off (EVAL_CACHE_TTL_MS=0)'
}
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
  LOG_LEVEL: 'info',
  RATE_LIMIT_PER_MINUTE: '1000000000',
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  BCRYPT_ROUNDS: '10'
}
// Never inherit endpoints or secrets: the bench runs on its own local stack.
for (const k of ['DYNAMODB_ENDPOINT', 'SQS_ENDPOINT', 'AUDIT_QUEUE_URL', 'JWT_SECRET', 'EVAL_CACHE_TTL_MS', 'SHED_EVENT_LOOP_DELAY_MS', 'LOG_LEVEL']) delete process.env[k]

let storeEnv: Record<string, string> = {}

/** --store separate: the process owning the local stack (its data in DATA_DIR); the service uses its dynalite. */
async function startStore (): Promise<void> {
  if (!SEPARATE_STORE) return
  const store = await startServer('store', 'src/server.ts', baseEnv, work)
  servers.push(store)
  storeEnv = { DATA_DIR: join(dataDir, 'service'), DYNAMODB_ENDPOINT: await devDynamoEndpoint(dataDir) }
}

async function startService (mode: Mode): Promise<ChildServer> {
  const profile = args.profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(args.profile), mode)}`, '--cpu-prof-interval=250'] : []
  const s = await startServer(`switchyard-${mode}`, 'src/server.ts', { ...baseEnv, ...storeEnv, ...MODE_ENV[mode] }, work, profile)
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
    { id: 'a', name: '(a) hello world GET (bare Fastify)', url: hello + '/hello', requests: [{ method: 'GET', path: '/hello' }] },
    {
      id: 'a-post',
      name: '(a) hello world POST, the body + auth header of (d)',
      url: hello + '/hello',
      requests: [{ method: 'POST', path: '/hello', headers: withKey(data.bulkKey), body: bulkBody }]
    },
    {
      id: 'b-apikey',
      name: '(b) POST /features/evaluate, API key',
      url: service,
      requests: pairs.map((p) => ({ method: 'POST', path: '/features/evaluate', headers: withKey(data.devKey), body: JSON.stringify({ feature: p.flag, environment: 'dev', context: p.context }) }))
    },
    {
      id: 'b-jwt',
      name: '(b) POST /features/evaluate, JWT',
      url: service,
      requests: pairs.map((p) => ({ method: 'POST', path: '/features/evaluate', headers: { ...json, authorization: `Bearer ${data.jwt}` }, body: JSON.stringify({ feature: p.flag, environment: 'dev', context: p.context }) }))
    },
    {
      id: 'c',
      name: '(c) OFREP single, API key',
      url: service,
      requests: pairs.map((p) => ({ method: 'POST', path: `/ofrep/v1/evaluate/flags/${p.flag}`, headers: withKey(data.devKey), body: JSON.stringify({ context: p.context }) }))
    },
    {
      id: 'd-first',
      name: '(d) OFREP bulk 100, first fetch (new context each request)',
      url: service,
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

const median = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const round3 = (n: number) => Math.round(n * 1000) / 1000

/** Slices of one scenario as one measurement: requests/s over their total time, median p50/p99, CPU per request. */
function combine (slices: Measured[], seconds: number): Measured {
  const requests = slices.reduce((n, m) => n + m.requests, 0)
  const statusCodes: Record<string, number> = {}
  for (const m of slices) for (const [c, n] of Object.entries(m.statusCodes)) statusCodes[c] = (statusCodes[c] ?? 0) + n
  const cpu = slices.reduce((n, m) => n + (m.serverCpuUsPerRequest ?? NaN) * m.requests, 0)
  return {
    rps: Math.round(requests / seconds),
    serverCpuUsPerRequest: Math.round(cpu / requests * 10) / 10,
    p50: median(slices.map((m) => m.p50)),
    p99: median(slices.map((m) => m.p99)),
    requests,
    statusCodes,
    errors: slices.reduce((n, m) => n + m.errors, 0),
    timeouts: slices.reduce((n, m) => n + m.timeouts, 0)
  }
}

try {
  const box = await machine()
  log(`machine: ${box.nproc} CPUs, ${box.cpuModel}, Node ${box.node}`)
  await mkdir(dataDir, { recursive: true })
  await startStore()
  let service = await startService(MODES[0])
  log(`service (cache ${MODES[0]}) on ${service.url}; loading ${FLAGS} flags through the API …`)
  const data = await loadData(service.url)
  log(`loaded in ${data.loadSeconds} s`)
  const hello = await startServer('hello', 'scripts/bench-hello.ts', { ...baseEnv, LOG_LEVEL: 'warn' }, work)
  servers.push(hello)

  const quiet = await waitForQuiet({ below: Number(args['quiet-below']), maxWaitMs: Number(args['max-wait']) * 1000, log })
  log(`load average before measuring: ${quiet.loadavg.map((l) => l.toFixed(2)).join(' ')}`)

  const results: Record<string, { name: string; env: Record<string, string>; scenarios: Array<{ id: string; name: string; ratio: number; cpuRatio: number; ok: boolean } & Measured>; memory: unknown; loadavgAfter: number[] }> = {}
  for (const mode of MODES) {
    if (!service.name.endsWith(mode)) {
      await stop(service)
      service = await startService(mode)
    }
    const { call } = api(service.url)
    const first = await call('POST', '/ofrep/v1/evaluate/flags', { headers: { authorization: `Bearer ${data.bulkKey}` }, body: { context: realisticContext(42) } })
    const etag = first.headers.get('etag') ?? ''
    type Row = { id: string; name: string; ratio: number; cpuRatio: number; ok: boolean; ceilingRps?: number; slices: Array<{ rps: number; ceilingRps: number }> } & Measured
    const rows: Row[] = []
    const only = args.only?.split(',')
    const all = scenarios(service.url, hello.url, data, etag)
    // Cache off, requests take seconds: one slice, or a slice would end before its requests do.
    const rounds = mode === 'off' ? 1 : ROUNDS
    const slice = DURATION / rounds
    for (const s of all.filter((x) => only === undefined || only.includes(x.id) || x.id === 'a')) {
      log(`[${mode}] ${s.name} …`)
      if (s.id.startsWith('a')) {
        // The ceilings alone, for information.
        const m = await cannon({ url: s.url, connections: CONNECTIONS, duration: DURATION / ROUNDS, warmupSeconds: WARMUP, requests: s.requests, server: hello })
        rows.push({ id: s.id, name: s.name, ...m, ratio: NaN, cpuRatio: NaN, ok: m.errors === 0 && m.timeouts === 0, slices: [] })
        log(`   ${m.rps} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, server CPU ${m.serverCpuUsPerRequest} µs/req`)
        continue
      }
      // The ceiling of this scenario: its requests (method, headers, bodies) to the hello-world POST.
      const ceiling = s.requests.map((r) => ({ ...r, path: '/hello' }))
      // Steady state, as a service in use is: every distinct request of the scenario sent once
      // (its flag cached) before the warm-up, and again before each slice (a safety net: with the
      // short slices of (a) they are hits). Without it a slice could measure a cold fill, each new
      // flag one store read.
      const prime = async () => {
        if (s.requests.length > 1 && mode !== 'off') await pool(s.requests, 8, async (r) => { await fetch(s.url + (r.path as string), { method: r.method, headers: r.headers as Record<string, string>, body: r.body as string }).then(async (res) => await res.arrayBuffer()) })
      }
      await prime()
      const spread = !args.lockstep
      await cannon({ url: s.url, connections: CONNECTIONS, duration: WARMUP, warmupSeconds: 0, requests: s.requests, spread })
      const pairs: Array<{ a: Measured; s: Measured }> = []
      for (let r = 0; r < rounds; r++) {
        const a = await cannon({ url: hello.url + '/hello', connections: CONNECTIONS, duration: CEILING_SLICE, warmupSeconds: 0, requests: ceiling, server: hello, spread })
        await prime()
        const m = await cannon({ url: s.url, connections: CONNECTIONS, duration: slice, warmupSeconds: 0, requests: s.requests, server: service, spread })
        pairs.push({ a, s: m })
      }
      const m = combine(pairs.map((p) => p.s), DURATION)
      const expected = EXPECTED[s.id] ?? '200'
      const ok = m.errors === 0 && m.timeouts === 0 && Object.keys(m.statusCodes).every((c) => c === expected)
      const ratio = round3(median(pairs.map((p) => p.s.rps / p.a.rps)))
      const cpuRatio = round3(median(pairs.map((p) => (p.a.serverCpuUsPerRequest ?? NaN) / (p.s.serverCpuUsPerRequest ?? NaN))))
      const ceilingRps = Math.round(median(pairs.map((p) => p.a.rps)))
      rows.push({ id: s.id, name: s.name, ...m, ratio, cpuRatio, ok, ceilingRps, slices: pairs.map((p) => ({ rps: p.s.rps, ceilingRps: p.a.rps })) })
      log(`   ${m.rps} req/s (${Math.round(ratio * 100)} % of its hello-world POST, ${ceilingRps} req/s, in the same slices), p50 ${m.p50} ms, p99 ${m.p99} ms, server CPU ${m.serverCpuUsPerRequest} µs/req, ${JSON.stringify(m.statusCodes)}${ok ? '' : '  <-- unexpected statuses/errors'}`)
    }
    results[mode] = { name: MODE_NAME[mode], env: MODE_ENV[mode], scenarios: rows, memory: await service.memory(), loadavgAfter: loadavg() }
  }

  // Report.
  const targets = (mode: string) => {
    const r = Object.fromEntries(results[mode].scenarios.map((s) => [s.id, s]))
    if (args.only !== undefined) return {}
    return {
      '(b) ≥ 0.50 of its hello-world POST, p99 ≤ 20 ms (API key)': r['b-apikey'].ratio >= 0.5 && r['b-apikey'].p99 <= 20,
      '(b) ≥ 0.50 of its hello-world POST, p99 ≤ 20 ms (JWT)': r['b-jwt'].ratio >= 0.5 && r['b-jwt'].p99 <= 20,
      '(c) ≥ 0.50 of its hello-world POST, p99 ≤ 20 ms': r.c.ratio >= 0.5 && r.c.p99 <= 20,
      '304 ≥ 0.60 of its hello-world POST': r['d-304'].ratio >= 0.6
    }
  }
  const pad = (s: string | number, n: number) => String(s).padStart(n)
  for (const mode of MODES) {
    process.stdout.write(`\n${results[mode].name}; ${CONNECTIONS} connections, ${DURATION} s each in ${mode === 'off' ? 1 : ROUNDS} slice(s) interleaved with its hello-world POST; store ${SEPARATE_STORE ? 'in its own process' : 'in the service process'}\n`)
    process.stdout.write(`${'scenario'.padEnd(62)} ${pad('req/s', 8)} ${pad('p50 ms', 7)} ${pad('p99 ms', 7)} ${pad('ratio', 6)} ${pad('CPU µs/req', 11)} ${pad('CPU ratio', 10)}\n`)
    const ratio = (x: number) => Number.isNaN(x) ? '-' : x.toFixed(2)
    for (const s of results[mode].scenarios) {
      process.stdout.write(`${s.name.padEnd(62)} ${pad(s.rps, 8)} ${pad(s.p50, 7)} ${pad(s.p99, 7)} ${pad(ratio(s.ratio), 6)} ${pad(s.serverCpuUsPerRequest ?? '-', 11)} ${pad(ratio(s.cpuRatio), 10)}${s.ok ? '' : '  (unexpected statuses/errors)'}\n`)
    }
    process.stdout.write('ratio: requests/s over those of the same requests to the hello-world POST, median of the per-slice ratios; CPU ratio: its CPU per request over the scenario\'s\n')
    process.stdout.write(`service memory after the runs: ${JSON.stringify(results[mode].memory)}\n`)
    for (const [k, v] of Object.entries(targets(mode))) process.stdout.write(`  target ${k}: ${v ? 'met' : 'NOT met'}\n`)
  }
  const out = {
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    machine: box,
    quiet: { threshold: Number(args['quiet-below']), ...quiet },
    settings: { durationSeconds: DURATION, rounds: ROUNDS, ceilingSliceSeconds: CEILING_SLICE, store: args.store, warmupSeconds: WARMUP, connections: CONNECTIONS, flags: FLAGS, environments: [...ENVS, BULK_ENV], bulkFlags: 100, logLevel: 'info', ceilingLogLevel: 'warn' },
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
