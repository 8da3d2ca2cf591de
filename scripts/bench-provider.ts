// npm run bench:provider — in-process evaluation (switchyard/openfeature) measured in one run
// against the dev server as a child process (docs/PERFORMANCE.md, "In-process provider"):
//  1. evaluation through the OpenFeature client: this provider (in-process) beside the OFREP
//     provider over HTTP, on a flag of 5 rules × 3 clauses and a rollout (p50/p99 per call);
//  2. the sync document's size (identity, gzip, br) and the provider's first sync for 100,
//     1 000 and 10 000 flags, and the provider's RSS at 10 000 flags (in a process of its own);
//  3. change propagation, admin write → PROVIDER_CONFIGURATION_CHANGED, with the stream and with
//     5 s polling (p50/p95);
//  4. a 304 sync beside a hello-world request (a bare Fastify route on this machine), same load,
//     in pairs back to back (`--only 304` runs this section alone, `--rounds N` pairs).
// Figures depend on how busy the machine is: the load average is printed with them.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { OpenFeature, ProviderEvents, type EvaluationContext } from '@openfeature/server-sdk'
import { OFREPProvider } from '@openfeature/ofrep-provider'
import { SwitchyardProvider } from '../src/sdk/provider.js'
import { NativeAsyncClient } from './openfeature-native-client.js'
import {
  api, batchLoad, cannon, processCpuMs, devDynamoEndpoint, expectStatus, machine, realisticContext, realisticFlag, round1, startServer, type ChildServer
} from './bench-support.js'
import { buildSdk, ROOT } from './build-sdk.js'

const ADMIN = { email: 'owner@example.com', password: 'a measured passphrase 42' }
const TARGETS = { evalP50Us: 2, firstSync10kMs: 1_000, rss10kMiB: 100, streamP95Ms: 1_000, pollP95Ms: 5_000 + 1_000 }

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}
const stats = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return { p50: percentile(s, 0.5), p95: percentile(s, 0.95), p99: percentile(s, 0.99) } }

/** The benchmark flag: 5 rules of 3 clauses each, the default a 3-way rollout. */
const BENCH_FLAG = {
  name: 'bench-flag',
  type: 'string',
  variants: [{ key: 'control', value: 'control' }, { key: 'blue', value: 'blue' }, { key: 'green', value: 'green' }],
  environments: {
    dev: {
      enabled: true,
      offVariant: 'control',
      defaultServe: { rollout: { variants: [{ variant: 'control', weight: 34_000 }, { variant: 'blue', weight: 33_000 }, { variant: 'green', weight: 33_000 }] } },
      rules: Array.from({ length: 5 }, (_, r) => ({
        id: `r${r}`,
        clauses: [
          { attribute: 'country', operator: 'in', values: [['xx', 'yy', 'zz', 'ww', 'vv'][r]] },
          { attribute: 'plan', operator: 'in', values: ['enterprise'] },
          { attribute: 'appVersion', operator: 'semverGte', values: ['9.0.0'] }
        ],
        serve: { variant: 'blue' }
      }))
    }
  }
}

/**
 * The provider as an application runs it: the built bundle (npm run build:sdk) under plain node,
 * in a process of its own, so the RSS is Node + the SDK + the provider + the rules, nothing else.
 */
async function providerRss (baseUrl: string, apiKey: string): Promise<{ flags: number; rssBeforeMiB: number; rssMiB: number; heapUsedMiB: number; rssAllMiB: number; heapAllMiB: number }> {
  const bundle = await buildSdk(join(ROOT, 'dist/openfeature'))
  // Then every flag evaluated once (realisticFlag's keys): what an application that uses all of
  // them holds — each flag parsed and compiled by the engine (see docs/OPENFEATURE.md, "Memory").
  const code = `
    const before = process.memoryUsage().rss
    const { SwitchyardProvider } = await import(${JSON.stringify(pathToFileURL(bundle.outFile).href)})
    const provider = new SwitchyardProvider({ baseUrl: process.argv[1], apiKey: process.argv[2], mode: 'frozen', requestTimeoutMs: 120000 })
    await provider.initialize()
    for (let i = 0; i < 3; i++) globalThis.gc()
    const after = process.memoryUsage()
    for (let i = 0; i < provider.state.flags; i++) provider.evaluate('flag-' + String(i).padStart(5, '0'), { targetingKey: 'user-' + i, country: 'se' })
    for (let i = 0; i < 3; i++) globalThis.gc()
    const all = process.memoryUsage()
    console.log(JSON.stringify({ flags: provider.state.flags, rssBeforeMiB: before / 2 ** 20, rssMiB: after.rss / 2 ** 20, heapUsedMiB: after.heapUsed / 2 ** 20, rssAllMiB: all.rss / 2 ** 20, heapAllMiB: all.heapUsed / 2 ** 20 }))
    await provider.onClose()`
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', code, baseUrl, apiKey], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise((resolve) => child.once('exit', resolve))
  return JSON.parse(out.trim().split('\n').pop() ?? '{}')
}

/** A bare Fastify hello-world in a process of its own: the floor a 304 sync is compared with. */
async function helloWorld (): Promise<{ url: string; cpuMs: () => Promise<number>; stop: () => void }> {
  const code = "const f = (await import('fastify')).default(); f.get('/', async () => ({ hello: 'world' })); const u = await f.listen({ port: 0, host: '127.0.0.1' }); console.log('listening on ' + u)"
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); const m = /listening on (\S+)/.exec(out); if (m !== null) resolve(m[1]) })
  })
  return { url, cpuMs: async () => await processCpuMs(child.pid!), stop: () => { child.kill('SIGTERM') } }
}

/**
 * 4. The 304 sync beside the hello world: `rounds` pairs run back to back (10 connections, 5 s
 * each after a 2 s warm-up), so each ratio compares two runs that met the same neighbours; the
 * median of the per-pair ratios is the figure, and the server CPU per request of both is shown.
 */
async function notModifiedBesideHello (server: ChildServer, serverKey: string, rounds: number, log: (s: string) => void): Promise<void> {
  // Within settleMs (5 s) of the last change the ETag is provisional (`…-p`) and stops matching
  // once it settles: revalidate with the settled one, or most answers would be 200s.
  let etag = ''
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    const res = await fetch(`${server.url}/sdk/v1/flags`, { headers: { 'x-api-key': serverKey } })
    await res.arrayBuffer()
    etag = res.headers.get('etag') ?? ''
    if (!etag.endsWith('-p"')) break
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  const hello = await helloWorld()
  const ratios: number[] = []
  const cpuRatios: number[] = []
  const ownRatios: number[] = []
  log(`\n4. A 304 sync beside a hello-world request (autocannon, 10 connections, 5 s each, ${rounds} pairs back to back)`)
  try {
    for (let r = 0; r < rounds; r++) {
      const notModified = await cannon({ url: `${server.url}/sdk/v1/flags`, headers: { 'x-api-key': serverKey, 'if-none-match': etag }, connections: 10, duration: 5, server })
      await cannon({ url: hello.url, connections: 10, duration: 2, warmupSeconds: 0 })
      const cpu0 = await hello.cpuMs()
      const floor = await cannon({ url: hello.url, connections: 10, duration: 5, warmupSeconds: 0 })
      const floorCpu = round1(((await hello.cpuMs()) - cpu0) * 1000 / floor.requests)
      // The service's own hello world: GET / (a small JSON document of links, no credential, no
      // I/O) through the same pipeline — request id, CORS and security headers, access log.
      const own = await cannon({ url: `${server.url}/`, connections: 10, duration: 5, server })
      ratios.push(notModified.rps / floor.rps)
      cpuRatios.push(floorCpu / (notModified.serverCpuUsPerRequest ?? NaN))
      ownRatios.push(notModified.rps / own.rps)
      log(`   pair ${r + 1}: GET /sdk/v1/flags → 304 ${notModified.rps} req/s (p50 ${notModified.p50} ms, p99 ${notModified.p99} ms, server CPU ${notModified.serverCpuUsPerRequest} µs/request, status ${JSON.stringify(notModified.statusCodes)}, errors ${notModified.errors}, timeouts ${notModified.timeouts}); hello world ${floor.rps} req/s (p50 ${floor.p50} ms, p99 ${floor.p99} ms, server CPU ${floorCpu} µs/request); ratio ${ratios[r].toFixed(2)}; the service's GET / ${own.rps} req/s (server CPU ${own.serverCpuUsPerRequest} µs/request, status ${JSON.stringify(own.statusCodes)}), ratio ${ownRatios[r].toFixed(2)}; load ${loadavg().map(round1).join(' ')}`)
    }
  } finally {
    hello.stop()
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  log(`   304 throughput / hello-world throughput, median of ${rounds}: ${median(ratios).toFixed(2)} (target ≥ 1); hello-world CPU per request / 304 CPU per request: ${median(cpuRatios).toFixed(2)}`)
  log(`   304 throughput / the service's own GET / throughput (same pipeline), median of ${rounds}: ${median(ownRatios).toFixed(2)}`)
}

// `--only 304` runs section 4 alone (seconds instead of minutes); `--rounds N` pairs in it (default 3).
const argv = process.argv.slice(2)
const only304 = argv[argv.indexOf('--only') + 1] === '304' && argv.includes('--only')
const notModifiedRounds = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : 3

async function main (): Promise<void> {
  const log = (s: string) => { process.stdout.write(s + '\n') }
  const m = await machine()
  log(`bench:provider — ${m.cpuModel}, ${m.nproc} CPUs, Node ${m.node}; load average at start ${loadavg().map(round1).join(' ')}`)
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-bench-provider-'))
  let server: ChildServer | undefined
  try {
    server = await startServer('dev', 'src/server.ts', {
      HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, BCRYPT_ROUNDS: '4', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '100000000'
    }, dataDir)
    const { call } = api(server.url)
    let token = ''
    for (let i = 0; i < 100 && token === ''; i++) {
      const r = await call('POST', '/auth/login', { body: ADMIN })
      if (r.status === 200) token = `Bearer ${r.body.access_token as string}`
      else await new Promise((resolve) => setTimeout(resolve, 300))
    }
    const admin = { authorization: token }
    const keyFor = async (environment: string, kind: 'server' | 'client') => (await expectStatus(call('POST', '/api-keys', { headers: admin, body: { name: `bench-${environment}-${kind}`, environment, kind } }), 201, 'api key')).key as string
    await expectStatus(call('POST', '/features', { headers: admin, body: BENCH_FLAG }), 201, 'bench flag')
    const serverKey = await keyFor('dev', 'server')
    const clientKey = await keyFor('dev', 'client')
    if (only304) {
      await notModifiedBesideHello(server, serverKey, notModifiedRounds, log)
      return
    }

    // 1. Evaluation through the OpenFeature client.
    const contexts = Array.from({ length: 1_000 }, (_, u) => realisticContext(u) as EvaluationContext)
    const inProcessProvider = new SwitchyardProvider({ baseUrl: server.url, apiKey: serverKey })
    await OpenFeature.setProviderAndWait('local', inProcessProvider)
    await OpenFeature.setProviderAndWait('ofrep', new OFREPProvider({ baseUrl: server.url, headers: [['X-API-Key', clientKey]] }))
    // The floor the OpenFeature client itself sets: a provider that answers a constant.
    await OpenFeature.setProviderAndWait('noop', {
      metadata: { name: 'constant' },
      runsOn: 'server',
      resolveBooleanEvaluation: async (_k: string, value: boolean) => ({ value, reason: 'STATIC' }),
      resolveStringEvaluation: async () => ({ value: 'blue', variant: 'blue', reason: 'STATIC' }),
      resolveNumberEvaluation: async (_k: string, value: number) => ({ value, reason: 'STATIC' }),
      resolveObjectEvaluation: async <T>(_k: string, value: T) => ({ value, reason: 'STATIC' })
    })
    const local = OpenFeature.getClient('local')
    const remote = OpenFeature.getClient('ofrep')
    const check = await local.getStringDetails('bench-flag', 'none', contexts[1])
    if (check.reason !== 'SPLIT') throw new Error(`the bench flag should end in its rollout: ${JSON.stringify(check)}`)
    async function perCall (client: Pick<typeof local, 'getStringValue'>, n: number): Promise<number[]> {
      const out: number[] = new Array(n)
      for (let i = 0; i < n; i++) {
        const ctx = contexts[i % contexts.length]
        const t0 = process.hrtime.bigint()
        await client.getStringValue('bench-flag', 'none', ctx)
        out[i] = Number(process.hrtime.bigint() - t0) / 1_000
      }
      return out
    }
    await perCall(local, 50_000) // warm-up: JIT, the engine's compiled form of the flag
    const inProcess = stats(await perCall(local, 200_000))
    // The engine alone (no SDK): what the OpenFeature client adds is the difference.
    const raw: number[] = new Array(200_000)
    for (let i = 0; i < raw.length; i++) {
      const ctx = contexts[i % contexts.length]
      const t0 = process.hrtime.bigint()
      inProcessProvider.evaluate('bench-flag', ctx)
      raw[i] = Number(process.hrtime.bigint() - t0) / 1_000
    }
    const engine = stats(raw)
    const sdkFloor = stats(await perCall(OpenFeature.getClient('noop'), 200_000))
    // The same client code with native async/await (scripts/openfeature-native-client.ts), this provider behind it.
    const native = new NativeAsyncClient(inProcessProvider)
    await perCall(native, 50_000)
    const nativeClient = stats(await perCall(native, 200_000))
    await perCall(remote, 500)
    const overHttp = stats(await perCall(remote, 3_000))
    log('\n1. Evaluation through the OpenFeature client (flag: 5 rules × 3 clauses, rollout default), µs per call')
    log(`   in-process (this provider): p50 ${round1(inProcess.p50)}  p99 ${round1(inProcess.p99)}   target p50 ≤ ${TARGETS.evalP50Us}`)
    log(`   provider.evaluate alone:    p50 ${round1(engine.p50)}  p99 ${round1(engine.p99)}   (the engine without the OpenFeature client)`)
    log(`   a constant provider:        p50 ${round1(sdkFloor.p50)}  p99 ${round1(sdkFloor.p99)}   (the OpenFeature client's own cost: hooks, context merge, promises)`)
    log(`   the client's own code with native async/await (not the ES2015 build the SDK publishes), this provider: p50 ${round1(nativeClient.p50)}  p99 ${round1(nativeClient.p99)}`)
    log(`   OFREP provider over HTTP:   p50 ${round1(overHttp.p50)}  p99 ${round1(overHttp.p99)}   (${Math.round(overHttp.p50 / inProcess.p50)}× the in-process p50)`)
    await OpenFeature.close()

    // 2. Snapshot size and first sync, 100 / 1 000 / 10 000 flags (written straight into the table).
    const sizes = [100, 1_000, 10_000]
    for (const n of sizes) await expectStatus(call('POST', '/environments', { headers: admin, body: { name: `s${n}` } }), 201, 'environment')
    const endpoint = await devDynamoEndpoint(dataDir)
    await batchLoad({ endpoint, tableName: 'switchyard', flags: Array.from({ length: 100 }, (_, i) => realisticFlag(i, ['s100', 's1000', 's10000'])) })
    await batchLoad({ endpoint, tableName: 'switchyard', flags: Array.from({ length: 900 }, (_, i) => realisticFlag(100 + i, ['s1000', 's10000'])) })
    await batchLoad({ endpoint, tableName: 'switchyard', flags: Array.from({ length: 9_000 }, (_, i) => realisticFlag(1_000 + i, ['s10000'])) })
    log('\n2. Sync document and first sync')
    log('   flags    JSON KiB  gzip KiB  br KiB   first sync ms (server renders)  first sync ms (rendered)')
    const keys: Record<number, string> = {}
    for (const n of sizes) {
      keys[n] = await keyFor(`s${n}`, 'server')
      const timeSync = async () => {
        const p = new SwitchyardProvider({ baseUrl: server!.url, apiKey: keys[n], mode: 'frozen', requestTimeoutMs: 120_000 })
        const t0 = performance.now()
        await p.initialize()
        const ms = performance.now() - t0
        if (p.state?.flags !== n) throw new Error(`s${n}: the provider holds ${p.state?.flags} flags`)
        await p.onClose()
        return ms
      }
      const cold = await timeSync()
      const warm = Math.min(await timeSync(), await timeSync(), await timeSync())
      const bytes = async (enc: string) => {
        const res = await fetch(`${server!.url}/sdk/v1/flags`, { headers: { 'x-api-key': keys[n], 'accept-encoding': enc } })
        const len = Number(res.headers.get('content-length'))
        await res.arrayBuffer()
        return len / 1024
      }
      log(`   ${String(n).padStart(6)}   ${round1(await bytes('identity')).toString().padStart(8)}  ${round1(await bytes('gzip')).toString().padStart(8)}  ${round1(await bytes('br')).toString().padStart(6)}   ${round1(cold).toString().padStart(8)}                         ${round1(warm).toString().padStart(8)}`)
    }
    const rss = await providerRss(server.url, keys[10_000])
    log(`   provider process (built bundle, plain node) at ${rss.flags} flags: RSS ${round1(rss.rssMiB)} MiB after the first sync (${round1(rss.rssBeforeMiB)} MiB at start: Node alone), heap used ${round1(rss.heapUsedMiB)} MiB; targets: first sync ≤ ${TARGETS.firstSync10kMs} ms, RSS ≤ ${TARGETS.rss10kMiB} MiB`)
    log(`   the same process once every flag has been evaluated (each parsed and compiled): RSS ${round1(rss.rssAllMiB)} MiB, heap used ${round1(rss.heapAllMiB)} MiB`)

    // 3. Change propagation: admin write → CONFIGURATION_CHANGED.
    async function propagation (provider: SwitchyardProvider, changes: number): Promise<number[]> {
      await OpenFeature.setProviderAndWait('propagation', provider)
      const client = OpenFeature.getClient('propagation')
      const out: number[] = []
      for (let i = 0; i < changes; i++) {
        const seen = new Promise<number>((resolve) => {
          const handler = () => { client.removeHandler(ProviderEvents.ConfigurationChanged, handler); resolve(performance.now()) }
          client.addHandler(ProviderEvents.ConfigurationChanged, handler)
        })
        const t0 = performance.now()
        await expectStatus(call('PUT', '/features/bench-flag/env/dev', { headers: { ...admin, 'if-match': '*' }, body: { ...BENCH_FLAG.environments.dev, offVariant: i % 2 === 0 ? 'blue' : 'control' } }), 200, 'change')
        out.push((await seen) - t0)
      }
      await OpenFeature.close()
      return out
    }
    const streamed = stats(await propagation(new SwitchyardProvider({ baseUrl: server.url, apiKey: serverKey, pollIntervalMs: 600_000 }), 30))
    const polled = stats(await propagation(new SwitchyardProvider({ baseUrl: server.url, apiKey: serverKey, stream: false, pollIntervalMs: 5_000 }), 12))
    log('\n3. Change propagation (admin PUT sent → PROVIDER_CONFIGURATION_CHANGED), ms')
    log(`   stream:          p50 ${Math.round(streamed.p50)}  p95 ${Math.round(streamed.p95)}   target p95 ≤ ${TARGETS.streamP95Ms}`)
    log(`   polling (5 s):   p50 ${Math.round(polled.p50)}  p95 ${Math.round(polled.p95)}   target p95 ≤ ${TARGETS.pollP95Ms}`)

    await notModifiedBesideHello(server, serverKey, notModifiedRounds, log)
    log(`\nload average at end ${loadavg().map(round1).join(' ')}`)
  } finally {
    await server?.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

await main()
