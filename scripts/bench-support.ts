// Shared by scripts/bench.ts and scripts/bench-scale.ts: servers as child processes, the machine
// and how busy it is, autocannon runs, and the data sets (generated flags, loaded through the API
// or written straight into the table with the repository's own item shapes).
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { cpus, loadavg, availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon, { type Client as CannonClient, type Options as CannonOptions, type Request as CannonRequest, type Result } from 'autocannon'
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb'
import { createDocumentClient } from '../src/aws.js'
import { createFeatureItems } from '../src/repositories/feature-items.js'
import { featureKey } from '../src/repositories/keys.js'
import type { EnvTargeting, FlagType, Rule, Serve, Variant } from '../src/domain/model.js'

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
/** USER_HZ: 100 on Linux everywhere that matters (getconf CLK_TCK). */
const CLOCK_TICKS = 100
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------
// The machine

export async function machine () {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '')
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown'
  return { nproc: availableParallelism(), cpuModel: model.trim(), node: process.version, platform: `${process.platform} ${process.arch}` }
}

/**
 * The machine is shared: wait (polling) until the 1-minute load average is below `below`, at most
 * `maxWaitMs`. Returns what was observed so the report can say how quiet it was.
 */
export async function waitForQuiet (opts: { below: number; maxWaitMs: number; log: (s: string) => void }) {
  const start = Date.now()
  let reported = 0
  for (;;) {
    const [one] = loadavg()
    if (one < opts.below) return { quiet: true, waitedMs: Date.now() - start, loadavg: loadavg() }
    if (Date.now() - start > opts.maxWaitMs) {
      opts.log(`machine still busy after ${Math.round((Date.now() - start) / 1000)} s (load ${one.toFixed(2)}); measuring anyway`)
      return { quiet: false, waitedMs: Date.now() - start, loadavg: loadavg() }
    }
    if (Date.now() - reported > 30_000) {
      opts.log(`waiting for a quiet machine: 1-min load average ${one.toFixed(2)} ≥ ${opts.below}`)
      reported = Date.now()
    }
    await sleep(5_000)
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

const running = new Set<ChildProcess>()
let handlersInstalled = false
/** Ctrl-C or SIGTERM on a benchmark must not leave its servers running: stop them, then exit. */
function installSignalHandlers () {
  if (handlersInstalled) return
  handlersInstalled = true
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const c of running) c.kill('SIGTERM')
      process.exit(130)
    })
  }
}

export interface ChildServer {
  name: string
  url: string
  pid: number
  /** Resident set size and its peak, in MiB, from /proc. */
  memory(): Promise<{ rssMiB: number; peakRssMiB: number; liveHeapMiB?: number }>
  /** CPU time (user + system) the process has used so far, in ms, from /proc. */
  cpuMs(): Promise<number>
  /** With --trace-gc: the JS heap in MiB right after the last full (mark-compact) GC. */
  liveHeapMiB(): number | undefined
  stop(): Promise<void>
}

/** CPU time (user + system) process `pid` has used so far, in ms, from /proc. */
export async function processCpuMs (pid: number): Promise<number> {
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime) in clock ticks; the command name
  // (field 2) may contain spaces, so split after its closing parenthesis.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS)
}

/**
 * Start `entry` as its own Node process (`node --import tsx <entry>`, what `npm run dev` does via
 * the tsx CLI, without the CLI's extra parent process) and wait for "listening on <url>".
 */
export async function startServer (name: string, entry: string, env: Record<string, string>, logDir: string, nodeArgs: string[] = []): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  installSignalHandlers()
  running.add(child)
  child.once('exit', () => running.delete(child))
  const log = createWriteStream(join(logDir, `${name}.log`))
  child.stderr?.pipe(log)
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no "listening on" within 60 s:\n${out}`)), 60_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      log.write(chunk)
      const m = /listening on (http:\/\/\S+)/i.exec(out)
      if (m !== null) { clearTimeout(timer); resolve(m[1]) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}:\n${out}`)) })
  })
  // --trace-gc lines start with [pid:isolate]; tsx's loader thread has an isolate of its own, so
  // keep the last value per isolate and report the largest (the main thread's).
  const liveHeaps = new Map<string, number>()
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk)
    for (const m of chunk.toString().matchAll(/\[\d+:(0x[0-9a-f]+)\][^\n]*?Mark-Compact[^\n]*?-> ([\d.]+) \(/g)) liveHeaps.set(m[1], Number(m[2]))
  })
  const liveHeap = () => liveHeaps.size === 0 ? undefined : Math.max(...liveHeaps.values())
  const pid = child.pid!
  return {
    name,
    url,
    pid,
    async memory () {
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
      return { rssMiB: Math.round(kb('VmRSS') / 102.4) / 10, peakRssMiB: Math.round(kb('VmHWM') / 102.4) / 10, liveHeapMiB: liveHeap() }
    },
    liveHeapMiB: liveHeap,
    cpuMs: async () => await processCpuMs(pid),
    async stop () {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      log.end()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface Api {
  call(method: string, path: string, opts?: { headers?: Record<string, string>; body?: unknown }): Promise<{ status: number; headers: Headers; body: any }>
}

export function api (url: string): Api {
  return {
    async call (method, path, opts = {}) {
      const res = await fetch(url + path, {
        method,
        headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined
      })
      const text = await res.text()
      let body: unknown = text
      try { body = text === '' ? undefined : JSON.parse(text) } catch {}
      return { status: res.status, headers: res.headers, body }
    }
  }
}

export async function expectStatus (res: Promise<{ status: number; body: any }>, status: number, what: string) {
  const r = await res
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`)
  return r.body
}

/** Run `tasks` with at most `n` in flight. */
export async function pool<T> (items: T[], n: number, task: (item: T, i: number) => Promise<void>) {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      await task(items[i], i)
    }
  }))
}

// ---------------------------------------------------------------------------------------------
// Load

export interface Measured {
  rps: number
  /** Server CPU time per request (user + system, from /proc): robust to a busy machine. */
  serverCpuUsPerRequest?: number
  p50: number
  p99: number
  requests: number
  statusCodes: Record<string, number>
  errors: number
  timeouts: number
}

export function summarize (r: Result): Measured {
  return {
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count])),
    errors: r.errors,
    timeouts: r.timeouts
  }
}

/**
 * A setupClient that starts each connection at its own place in `requests`, evenly spaced.
 * autocannon starts every connection at the first request, so with a list of distinct requests
 * the connections walk it in lockstep: all of them ask for the same flag at once, and each flag
 * only once per lap of the list (~2 s for 256 requests at 50 connections), a load no fleet of
 * clients produces.
 */
export function spreadRequests (requests: CannonRequest[], connections: number): (client: CannonClient) => void {
  const step = Math.max(1, Math.floor(requests.length / Math.max(1, connections)))
  let next = 0
  return (client) => {
    const at = (next++ * step) % requests.length
    client.setRequests([...requests.slice(at), ...requests.slice(0, at)])
  }
}

/**
 * A warm-up (not recorded), then the measured run; with `server`, its CPU time per request. With
 * `spread`, the connections start at different places of `requests` (spreadRequests).
 */
export async function cannon (opts: CannonOptions & { warmupSeconds?: number; server?: ChildServer; spread?: boolean }): Promise<Measured> {
  const { warmupSeconds = 2, server, spread = false, ...base } = opts
  // A slow configuration (cache off on the local stack) must show as latency, not as timeouts.
  const rest = { timeout: 30, ...base }
  const requests = base.requests
  // A new setupClient for each run, so that every run spreads its connections the same way.
  const clients = (o: CannonOptions): CannonOptions =>
    spread && requests !== undefined && requests.length > 1 ? { ...o, setupClient: spreadRequests(requests, base.connections ?? 10) } : o
  if (warmupSeconds > 0) await autocannon(clients({ ...rest, duration: warmupSeconds }))
  const cpu0 = await server?.cpuMs()
  const result = summarize(await autocannon(clients(rest)))
  if (server !== undefined && cpu0 !== undefined && result.requests > 0) {
    result.serverCpuUsPerRequest = round1(((await server.cpuMs()) - cpu0) * 1000 / result.requests)
  }
  return result
}

// ---------------------------------------------------------------------------------------------
// Data

export interface FlagBody {
  name: string
  type: FlagType
  variants: Variant[]
  tags: string[]
  environments: Record<string, EnvTargeting>
}

const COUNTRIES = ['fr', 'de', 'us', 'gb', 'es', 'it', 'nl', 'se', 'jp', 'br']
const PLANS = ['free', 'pro', 'team', 'enterprise']

function rollout (weights: number[], keys: string[], salt?: string): Serve {
  return { rollout: { variants: keys.map((variant, i) => ({ variant, weight: weights[i] })), ...(salt !== undefined ? { salt } : {}) } }
}

/**
 * A realistic flag, deterministic in `i`: a mix of types (40 % boolean, 30 % string, 15 % number,
 * 15 % JSON), 0–4 rules of 1–3 clauses (in, endsWith, semver, numeric, regex, optionally a
 * segment), individual targets, percentage rollouts, some flags off in some environments.
 */
export function realisticFlag (i: number, envs: string[], opts: { segments?: string[] } = {}): FlagBody {
  const name = `flag-${String(i).padStart(5, '0')}`
  const kind = i % 20 < 8 ? 'boolean' : i % 20 < 14 ? 'string' : i % 20 < 17 ? 'number' : 'json'
  const variants: Variant[] =
    kind === 'boolean'
      ? [{ key: 'on', value: true }, { key: 'off', value: false }]
      : kind === 'string'
        ? [{ key: 'control', value: 'control' }, { key: 'blue', value: 'blue' }, { key: 'green', value: 'green' }]
        : kind === 'number'
          ? [{ key: 'low', value: 10 }, { key: 'mid', value: 25 }, { key: 'high', value: 100 }]
          : [{ key: 'v1', value: { layout: 'single', steps: 3, promo: null } }, { key: 'v2', value: { layout: 'multi', steps: 5, extras: ['gift', 'wrap'] } }]
  const off = variants[variants.length > 2 ? 0 : 1].key
  const on = variants[variants.length > 2 ? 1 : 0].key
  const keys = variants.map((v) => v.key)
  const clausePool: Rule['clauses'] = [
    { attribute: 'country', operator: 'in', values: [COUNTRIES[i % 10], COUNTRIES[(i + 3) % 10]] },
    { attribute: 'plan', operator: 'in', values: [PLANS[i % 4]] },
    { attribute: 'email', operator: 'endsWith', values: [`@corp${i % 7}.example`] },
    { attribute: 'appVersion', operator: 'semverGte', values: [`2.${i % 5}.0`] },
    { attribute: 'age', operator: 'gte', values: [18 + (i % 30)] },
    { attribute: 'userAgent', operator: 'matches', values: ['Android|iPhone'] }
  ]
  const rulesFor = (e: number): Rule[] => Array.from({ length: (i + e) % 5 }, (_, r) => ({
    id: `r${r}`,
    clauses: [0, 1, 2].slice(0, 1 + ((i + r) % 3)).map((c) => clausePool[(i + r + c * 2) % clausePool.length])
      .concat(opts.segments !== undefined && opts.segments.length > 0 && r === 0 && i % 10 === 0 ? [{ attribute: 'targetingKey', operator: 'segmentMatch', values: [opts.segments[i % opts.segments.length]] }] : []),
    serve: r % 2 === 0 ? { variant: keys[(r + 1) % keys.length] } : rollout(keys.length === 2 ? [20_000, 80_000] : [50_000, 30_000, 20_000], keys)
  }))
  const environments: Record<string, EnvTargeting> = {}
  envs.forEach((env, e) => {
    environments[env] = {
      enabled: (i + e) % 9 !== 0,
      offVariant: off,
      defaultServe: i % 3 === 0 ? rollout(keys.length === 2 ? [30_000, 70_000] : [34_000, 33_000, 33_000], keys) : { variant: on },
      targets: i % 4 === 0 ? [{ variant: on, values: Array.from({ length: 5 }, (_, t) => `user-${(i * 31 + t) % 10_000}`) }] : [],
      rules: rulesFor(e),
      prerequisites: [],
      schedule: []
    }
  })
  return { name, type: kind === 'json' ? 'json' : kind, variants, tags: [kind, `team-${i % 6}`], environments }
}

/** A context like a client would send: the same user keys the flags target. */
export function realisticContext (u: number): Record<string, unknown> {
  return {
    targetingKey: `user-${u % 10_000}`,
    country: COUNTRIES[u % 10],
    plan: PLANS[u % 4],
    email: `someone${u}@corp${u % 7}.example`,
    appVersion: `2.${u % 6}.${u % 3}`,
    age: 16 + (u % 50),
    userAgent: u % 2 === 0 ? 'Mozilla/5.0 (iPhone)' : 'Mozilla/5.0 (X11; Linux)'
  }
}

/**
 * Write flags straight into the table (BatchWriteItem, 25 items a call) with the exact item
 * shapes of the feature repository (feature-items.ts, `envItem`), for data sets too large to create through the
 * API in reasonable time. Bypasses the write path on purpose: no outbox, no audit, no cache
 * invalidation — load before the server has evaluated anything. Flags must not use segments.
 */
export async function batchLoad (opts: { endpoint: string; tableName: string; flags: FlagBody[]; concurrency?: number }) {
  const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: opts.endpoint })
  try {
    const features = createFeatureItems(opts.tableName)
    const at = new Date().toISOString()
    const actor = 'bench-loader'
    const items: Record<string, unknown>[] = []
    for (const f of opts.flags) {
      items.push({ ...featureKey(f.name), entity: 'Feature', name: f.name, description: '', type: f.type, variants: f.variants, tags: f.tags, createdAt: at, createdBy: actor, updatedAt: at, updatedBy: actor, version: 1 })
      for (const [env, t] of Object.entries(f.environments)) items.push(features.envItem({ name: f.name, type: f.type, variants: f.variants }, env, t, {}, 1, at, actor))
    }
    const batches: Record<string, unknown>[][] = []
    for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25))
    await pool(batches, opts.concurrency ?? 4, async (batch) => {
      let requests: Array<{ PutRequest: { Item: Record<string, unknown> } }> | undefined = batch.map((Item) => ({ PutRequest: { Item } }))
      for (let attempt = 0; requests !== undefined && requests.length > 0; attempt++) {
        const res = await doc.send(new BatchWriteCommand({ RequestItems: { [opts.tableName]: requests } }))
        requests = res.UnprocessedItems?.[opts.tableName] as typeof requests
        if (requests !== undefined && requests.length > 0) await sleep(Math.min(1_000, 20 * 2 ** attempt))
      }
    })
    return { items: items.length }
  } finally {
    doc.destroy()
  }
}

/** The dynalite endpoint of a running dev server (it writes DATA_DIR/running.json for tools). */
export async function devDynamoEndpoint (dataDir: string): Promise<string> {
  const marker = JSON.parse(await readFile(join(dataDir, 'running.json'), 'utf8')) as { dynamoEndpoint: string }
  return marker.dynamoEndpoint
}

export const round1 = (n: number) => Math.round(n * 10) / 10
