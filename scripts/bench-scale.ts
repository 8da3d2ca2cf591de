// npm run bench:scale [-- --flags 10000 --duration 5 --connections 50]
//
// Scale check of issue 7 (a benchmark, not a test). Two processes, both `src/server.ts` started
// like `npm run dev` (`node --import tsx`, temporary DATA_DIRs, LOG_LEVEL=warn):
//   - the store: a dev server owning the local stack (dynalite on LevelDB, local SQS). The flags are
//     written straight into its dynalite with BatchWriteItem, using the feature repository's own
//     item shapes (see batchLoad in bench-support.ts) — 100 flags in 4 environments, then --flags
//     (10 000) in 4 environments;
//   - the service under test: a dev server pointed at the store's dynalite (DYNAMODB_ENDPOINT), so
//     its CPU and memory are the service's alone, as on AWS where DynamoDB is remote. Its JS heap is
//     capped at 512 MB (half the EvaluateFunction's memory): V8 then collects as it would under a
//     memory limit instead of growing lazily on this 24 GB machine, and a leak would fail the run.
// At both sizes, on the service:
//   - single evaluation (POST /features/evaluate, API key) with the cache on and off (restarted with
//     EVAL_CACHE_TTL_MS=0): requests/s, p50, p99, CPU per request — unchanged if a flag is O(1);
//   - listing: every page of GET /features?limit=100 (page latency p50/max, total);
//   - OFREP bulk over a whole environment: the first answer streams the environment page by page
//     from GSI1 into the environment snapshot (held whole only within its byte budget), the repeat
//     and the 304 come from the bulk cache, new contexts are evaluated from the snapshot;
//   - memory of the service after each step: resident (VmRSS, peak VmHWM) and its live JS heap
//     after the last full GC (from --trace-gc; RSS alone includes garbage V8 has not collected
//     yet and allocator slack), and the store's RSS.
// Results: a table on stdout and bench-results/bench-scale.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { performance } from 'node:perf_hooks'
import {
  ROOT, api, batchLoad, cannon, devDynamoEndpoint, expectStatus, machine, pool, realisticContext, realisticFlag, round1,
  startServer, waitForQuiet, type ChildServer, type Measured
} from './bench-support.js'

const { values: args } = parseArgs({
  options: {
    flags: { type: 'string', default: '10000' },
    small: { type: 'string', default: '100' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    'quiet-below': { type: 'string', default: '1.5' },
    'max-wait': { type: 'string', default: '600' }
  }
})
const LARGE = Number(args.flags)
const SMALL = Number(args.small)
const DURATION = Number(args.duration)
const CONNECTIONS = Number(args.connections)
const ENVS = ['dev', 'qa', 'staging', 'prod']
const TABLE = 'switchyard'
const ADMIN = { email: 'scale-admin@example.com', password: 'scale admin passphrase' }
const log = (s: string) => process.stderr.write(s + '\n')

const work = await mkdtemp(join(tmpdir(), 'switchyard-scale-'))
const storeDir = join(work, 'store')
const serviceDir = join(work, 'service')
for (const k of ['DYNAMODB_ENDPOINT', 'SQS_ENDPOINT', 'AUDIT_QUEUE_URL', 'JWT_SECRET', 'EVAL_CACHE_TTL_MS']) delete process.env[k]
const baseEnv: Record<string, string> = {
  HOST: '127.0.0.1',
  PORT: '0',
  TABLE_NAME: TABLE,
  LOG_LEVEL: 'warn',
  RATE_LIMIT_PER_MINUTE: '1000000000',
  ADMIN_EMAIL: ADMIN.email,
  ADMIN_PASSWORD: ADMIN.password,
  BCRYPT_ROUNDS: '10'
}
let store: ChildServer | undefined
let service: ChildServer | undefined
let dynamoEndpoint = ''

async function startStore (): Promise<ChildServer> {
  await store?.stop()
  store = await startServer('store', 'src/server.ts', { ...baseEnv, DATA_DIR: storeDir }, work)
  dynamoEndpoint = await devDynamoEndpoint(storeDir)
  return store
}

async function startService (cache: boolean): Promise<ChildServer> {
  await service?.stop()
  service = await startServer(`service-cache-${cache ? 'on' : 'off'}`, 'src/server.ts', {
    ...baseEnv, DATA_DIR: serviceDir, DYNAMODB_ENDPOINT: dynamoEndpoint, EVAL_CACHE_TTL_MS: cache ? '5000' : '0'
  }, work, ['--trace-gc', '--max-old-space-size=512'])
  return service
}

async function adminHeaders (url: string) {
  const login = await expectStatus(api(url).call('POST', '/auth/login', { body: ADMIN }), 200, 'admin login')
  return { authorization: `Bearer ${login.access_token as string}` }
}

const flagName = (i: number) => `flag-${String(i).padStart(5, '0')}`

/** Evaluate every flag once in each environment (fills the cache as a client population would). */
async function touchAll (url: string, keys: Record<string, string>, count: number) {
  const { call } = api(url)
  const jobs = ENVS.flatMap((env) => Array.from({ length: count }, (_, i) => ({ env, flag: flagName(i) })))
  await pool(jobs, 8, async ({ env, flag }) => {
    await expectStatus(call('POST', '/features/evaluate', { headers: { authorization: `Bearer ${keys[env]}` }, body: { feature: flag, environment: env, context: realisticContext(1) } }), 200, `evaluate ${flag}`)
  })
}

async function singleEval (s: ChildServer, prodKey: string, count: number) {
  // Spread over the whole environment: 1 000 (flag, context) pairs with flags evenly apart.
  const n = Math.min(1_000, count)
  const requests = Array.from({ length: n }, (_, i) => ({
    method: 'POST',
    path: '/features/evaluate',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${prodKey}` },
    body: JSON.stringify({ feature: flagName(Math.floor(i * count / n)), environment: 'prod', context: realisticContext(i * 7919) })
  }))
  return await cannon({ url: s.url, connections: CONNECTIONS, duration: DURATION, warmupSeconds: 2, requests, server: s })
}

/**
 * Same process, same data, same minutes: evaluations over the first 100 flags and over 1 000
 * flags spread across all of them, alternated (A B A B), so machine noise hits both alike.
 */
async function hotVersusSpread (s: ChildServer, prodKey: string, count: number) {
  const out: Record<string, unknown[]> = { flags100: [], [`flags${count}`]: [] }
  for (let round = 0; round < 2; round++) {
    out.flags100.push(await singleEval(s, prodKey, Math.min(100, count)))
    out[`flags${count}`].push(await singleEval(s, prodKey, count))
  }
  return out
}

async function listing (url: string, admin: Record<string, string>) {
  const { call } = api(url)
  const pageMs: number[] = []
  let cursor: string | null = null
  let total = 0
  let largest = 0
  const t0 = performance.now()
  do {
    const t = performance.now()
    const page = await expectStatus(call('GET', `/features?limit=100${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: admin }), 200, 'list')
    pageMs.push(performance.now() - t)
    total += page.items.length as number
    largest = Math.max(largest, page.items.length as number)
    cursor = page.nextCursor
  } while (cursor !== null)
  const sorted = [...pageMs].sort((a, b) => a - b)
  return { pages: pageMs.length, total, largestPage: largest, pageP50Ms: round1(sorted[Math.floor(sorted.length / 2)]), pageMaxMs: round1(sorted[sorted.length - 1]), totalMs: Math.round(performance.now() - t0) }
}

async function bulk (url: string, key: string) {
  const { call } = api(url)
  const headers = { authorization: `Bearer ${key}` }
  const body = { context: realisticContext(5) }
  let t = performance.now()
  const first = await call('POST', '/ofrep/v1/evaluate/flags', { headers, body })
  const firstMs = performance.now() - t
  if (first.status !== 200) throw new Error(`bulk: ${first.status}`)
  t = performance.now()
  await call('POST', '/ofrep/v1/evaluate/flags', { headers, body })
  const repeatMs = performance.now() - t
  t = performance.now()
  const revalidated = await call('POST', '/ofrep/v1/evaluate/flags', { headers: { ...headers, 'if-none-match': first.headers.get('etag') ?? '' }, body })
  const revalidateMs = performance.now() - t
  // More contexts: each is evaluated anew (streamed when the environment is large); the bulk
  // cache is bounded by bytes, so memory stays bounded.
  const contexts = 20
  t = performance.now()
  for (let u = 0; u < contexts; u++) await expectStatus(call('POST', '/ofrep/v1/evaluate/flags', { headers, body: { context: realisticContext(100 + u) } }), 200, 'bulk')
  const newContextMs = (performance.now() - t) / contexts
  return {
    flags: first.body.flags.length as number,
    bodyKiB: Math.round(JSON.stringify(first.body).length / 1024),
    firstMs: round1(firstMs),
    repeatMs: round1(repeatMs),
    revalidateStatus: revalidated.status,
    revalidateMs: round1(revalidateMs),
    newContextMs: round1(newContextMs)
  }
}

async function createKeys (url: string, admin: Record<string, string>) {
  const keys: Record<string, string> = {}
  for (const env of ENVS) keys[env] = (await expectStatus(api(url).call('POST', '/api-keys', { headers: admin, body: { name: `scale-${env}`, environment: env } }), 201, 'api key')).key
  return keys
}

async function measureAt (count: number, keys: Record<string, string>) {
  const out: Record<string, unknown> = { flags: count, environments: ENVS.length }
  let s = await startService(true)
  const admin = await adminHeaders(s.url)
  out.memoryAtStart = await s.memory()
  log(`[${count} flags] filling the cache: every flag once in each environment …`)
  const t = performance.now()
  await touchAll(s.url, keys, count)
  out.touchAllSeconds = round1((performance.now() - t) / 1000)
  out.memoryAfterTouchingAll = await s.memory()
  log(`[${count} flags] single evaluation, cache on …`)
  out.evaluateCacheOn = await singleEval(s, keys.prod, count)
  if (count > SMALL) {
    log(`[${count} flags] cache on: 100 hot flags vs 1 000 spread over ${count}, alternated …`)
    out.hotVersusSpreadCacheOn = await hotVersusSpread(s, keys.prod, count)
  }
  log(`[${count} flags] listing …`)
  out.listing = await listing(s.url, admin)
  log(`[${count} flags] OFREP bulk over prod …`)
  out.bulk = await bulk(s.url, keys.prod)
  out.memoryAfterBulk = await s.memory()
  s = await startService(false)
  log(`[${count} flags] single evaluation, cache off …`)
  out.evaluateCacheOff = await singleEval(s, keys.prod, count)
  if (count > SMALL) {
    log(`[${count} flags] cache off: 100 flags vs 1 000 spread over ${count}, alternated …`)
    out.hotVersusSpreadCacheOff = await hotVersusSpread(s, keys.prod, count)
  }
  out.memoryCacheOff = await s.memory()
  out.storeMemory = await store!.memory()
  return out
}

try {
  const box = await machine()
  await mkdir(storeDir, { recursive: true })
  await mkdir(serviceDir, { recursive: true })
  const st = await startStore()
  log(`store (dev server with the local stack) on ${st.url}, dynalite on ${dynamoEndpoint}`)
  const keys = await createKeys(st.url, await adminHeaders(st.url))
  const flags = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => realisticFlag(from + k, ENVS))

  let t = performance.now()
  const small = await batchLoad({ endpoint: dynamoEndpoint, tableName: TABLE, flags: flags(0, SMALL) })
  log(`loaded ${SMALL} flags × ${ENVS.length} environments (${small.items} items) in ${round1((performance.now() - t) / 1000)} s`)
  const quiet = await waitForQuiet({ below: Number(args['quiet-below']), maxWaitMs: Number(args['max-wait']) * 1000, log })
  const atSmall = await measureAt(SMALL, keys)

  t = performance.now()
  const large = await batchLoad({ endpoint: dynamoEndpoint, tableName: TABLE, flags: flags(SMALL, LARGE) })
  const loadSeconds = round1((performance.now() - t) / 1000)
  log(`loaded ${LARGE - SMALL} more flags × ${ENVS.length} environments (${large.items} items) in ${loadSeconds} s`)
  const quiet2 = await waitForQuiet({ below: Number(args['quiet-below']), maxWaitMs: Number(args['max-wait']) * 1000, log })
  const atLarge = await measureAt(LARGE, keys)

  // undefined until V8 has run a full (mark-compact) collection: a small heap may not have needed one
  const heap = (mib: number | undefined) => mib === undefined ? 'no full GC yet' : `${mib} MiB`
  const row = (label: string, m: Record<string, any>) => {
    const on = m.evaluateCacheOn
    const off = m.evaluateCacheOff
    return [
      `${label}`,
      `  single evaluation, cache on : ${on.rps} req/s, p50 ${on.p50} ms, p99 ${on.p99} ms, server CPU ${on.serverCpuUsPerRequest} µs/req`,
      `  single evaluation, cache off: ${off.rps} req/s, p50 ${off.p50} ms, p99 ${off.p99} ms, server CPU ${off.serverCpuUsPerRequest} µs/req`,
      `  listing (limit 100)         : ${m.listing.pages} pages, ${m.listing.total} flags, page p50 ${m.listing.pageP50Ms} ms, max ${m.listing.pageMaxMs} ms, all ${m.listing.totalMs} ms`,
      `  OFREP bulk (prod)           : ${m.bulk.flags} flags, ${m.bulk.bodyKiB} KiB; first ${m.bulk.firstMs} ms, repeat ${m.bulk.repeatMs} ms, 304 ${m.bulk.revalidateMs} ms, new context ${m.bulk.newContextMs} ms`,
      `  service RSS                 : start ${m.memoryAtStart.rssMiB} MiB, every flag cached ${m.memoryAfterTouchingAll.rssMiB} MiB, after bulk ${m.memoryAfterBulk.rssMiB} MiB (peak ${m.memoryAfterBulk.peakRssMiB} MiB); cache off ${m.memoryCacheOff.rssMiB} MiB`,
      `  service live heap (last GC) : every flag cached ${heap(m.memoryAfterTouchingAll.liveHeapMiB)}, after bulk ${heap(m.memoryAfterBulk.liveHeapMiB)}; cache off ${heap(m.memoryCacheOff.liveHeapMiB)}`,
      `  store RSS (dev server + dynalite): ${m.storeMemory.rssMiB} MiB (peak ${m.storeMemory.peakRssMiB} MiB)`,
      ...(['hotVersusSpreadCacheOn', 'hotVersusSpreadCacheOff'] as const).filter((k) => m[k] !== undefined).map((k) =>
        `  ${k === 'hotVersusSpreadCacheOn' ? 'cache on ' : 'cache off'}, alternated      : ` + Object.entries(m[k] as Record<string, Measured[]>)
          .map(([set, runs]) => `${set}: ${runs.map((r) => `${r.rps} req/s p99 ${r.p99} ms ${r.serverCpuUsPerRequest} µs`).join(' | ')}`).join('; '))
    ].join('\n')
  }
  process.stdout.write(`\n${row(`${SMALL} flags × ${ENVS.length} environments`, atSmall)}\n${row(`${LARGE} flags × ${ENVS.length} environments`, atLarge)}\n`)
  const out = {
    command: `npm run bench:scale -- ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString(),
    machine: box,
    quiet: [quiet, quiet2],
    settings: { durationSeconds: DURATION, connections: CONNECTIONS, environments: ENVS, loadSecondsLarge: loadSeconds },
    results: [atSmall, atLarge]
  }
  await mkdir(join(ROOT, 'bench-results'), { recursive: true })
  await writeFile(join(ROOT, 'bench-results', 'bench-scale.json'), JSON.stringify(out, null, 2) + '\n')
  process.stdout.write('\nwritten: bench-results/bench-scale.json\n')
} finally {
  await service?.stop().catch(() => {})
  await store?.stop().catch(() => {})
  await rm(work, { recursive: true, force: true })
}
