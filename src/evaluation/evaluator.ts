// Evaluation service: loads flag definitions (point reads coalesced into BatchGetItem, through a
// per-process cache) and runs the pure engine. Shared by the REST route, OFREP and the Lambda
// evaluate function.
//
// Caches (all per process, TTL `ttlMs` = EVAL_CACHE_TTL_MS, 0 turns every one of them off):
//  - definitions: (env, flag) → FlagDefinition | missing, LRU-bounded by count and by estimated
//    bytes; a miss is one strongly consistent read, shared by concurrent misses (single flight),
//    and reads asked for together go out as one BatchGetItem (see BatchLoader: misses on the next
//    turn of the event loop, refreshes ahead within `refreshBatchMs`);
//  - environment snapshots: every definition of an environment, read page by page from GSI1, so
//    bulk evaluation of a new context reads nothing; an environment over `snapshotMaxFlags` or
//    the snapshots' byte budget is never held whole: each bulk miss streams it page by page;
//  - bulk results: (env, context) → the rendered body and its ETag, LRU-bounded by bytes, so a
//    revalidation (If-None-Match → 304) costs the context's JSON (the key) and a map lookup.
// `invalidate(flag, env)` (called on every commit through this process, see plugins/evaluator.ts)
// drops the flag's definition, the environment's snapshot and every bulk result of the
// environment at once: read-your-writes in this process. Other processes see a change within the
// TTL. GSI1 is eventually consistent on DynamoDB, so for a while after a local write bulk reads
// overlay the flags written here with strongly consistent point reads.
import { isDeepStrictEqual } from 'node:util'
import { createHash } from 'node:crypto'
import { evaluate, explain, MAX_PREREQUISITE_DEPTH, type Explanation } from '../domain/evaluate.js'
import type { EvaluationContext, EvaluationResult, FlagDefinition } from '../domain/model.js'
import { TtlLru } from '../lib/ttl-lru.js'
import { BatchLoader } from './batch-loader.js'

export interface DefinitionSource {
  getDefinition(flag: string, env: string, opts?: { consistent?: boolean }): Promise<FlagDefinition | undefined>
  /** Several flags of one environment in one read (BatchGetItem); absent flags are not in the map. */
  getDefinitions(flags: string[], env: string, opts?: { consistent?: boolean }): Promise<Map<string, FlagDefinition>>
  listDefinitions(env: string, opts: { limit: number; cursor?: Record<string, unknown> }): Promise<{ items: FlagDefinition[]; cursor?: Record<string, unknown> }>
}

export interface EvaluatorOptions {
  source: DefinitionSource
  now: () => number
  ttlMs: number
  /** Bound on cached definitions (default 50 000: 10 000 flags × 5 environments). */
  maxEntries?: number
  /** Bound on the estimated memory of cached definitions (default 128 MiB, ~17 000 typical flags; see weighDefinition). */
  maxBytes?: number
  /** Environments with more flags are not kept whole in memory; bulk evaluation streams them (default 20 000). */
  snapshotMaxFlags?: number
  /** Bound on the estimated memory of all environment snapshots; an environment over it is streamed (default 64 MiB). */
  snapshotMaxBytes?: number
  /** Bound on the bytes of cached bulk bodies (default 32 MiB). */
  bulkMaxBytes?: number
  /** How long a local write makes bulk reads re-read the flag consistently (default 10 s; GSI1 lags the table). */
  recentWriteWindowMs?: number
  /** GSI1 page size of bulk reads (default 100). */
  pageSize?: number
  /** How long a refresh ahead waits for others to share its batch read (default 5 % of the TTL, at most 250 ms). */
  refreshBatchMs?: number
}

export interface EvaluatedFlag { definition: FlagDefinition; result: EvaluationResult }

/** A bulk answer as sent: the serialized body and its ETag. */
export interface RenderedBulk { body: string; etag: string }

interface Snapshot { defs: FlagDefinition[]; byName: Map<string, FlagDefinition>; bytes: number }
interface BulkEntry extends RenderedBulk { expiresAt: number }

/** JSON with object keys sorted (undefined members dropped), so equal values give equal strings. */
export function canonicalJson (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const obj = value as Record<string, unknown>
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort()
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`
}

/**
 * The bulk cache key of an evaluation context: its JSON as sent (hashed when long). Not canonical
 * on purpose — sorting keys cost more than the rest of a 304 — so the same context sent with its
 * keys in another order gets an entry of its own, with the same body and ETag.
 */
export function contextKey (context: EvaluationContext): string {
  const c = JSON.stringify(context)
  return c.length <= 1024 ? c : '#' + createHash('sha256').update(c).digest('base64url')
}

/**
 * Estimated heap bytes of a definition held by the caches: 10 × its JSON length. Measured on the
 * benchmark's realistic flags (781 bytes of JSON): 1.5 KB parsed, plus 6.2 KB for the engine's
 * compiled form (matchers, sets, closures), which lives as long as the definition does.
 */
export function weighDefinition (d: FlagDefinition | null): number {
  return d === null ? 64 : 10 * JSON.stringify(d).length
}

/** The earliest scheduled change of `def` after `now` (NaN-safe), or Infinity. */
function nextScheduledChange (def: FlagDefinition, now: number): number {
  let next = Number.POSITIVE_INFINITY
  for (const s of def.schedule ?? []) {
    const at = Date.parse(s.at)
    if (at > now && at < next) next = at
  }
  return next
}

/**
 * The prerequisite closure of `root`, breadth first, at most MAX_PREREQUISITE_DEPTH deep: yields
 * each flag name it needs and takes its definition back (undefined: no config, skipped), then
 * returns every definition found, `root` included. The caller decides where definitions come
 * from (the store, or the cache alone).
 */
function * prerequisiteClosure (root: FlagDefinition): Generator<string, Map<string, FlagDefinition>, FlagDefinition | undefined> {
  const loaded = new Map<string, FlagDefinition>([[root.flag, root]])
  let frontier = root.prerequisites.map((p) => p.flag)
  for (let depth = 0; frontier.length > 0 && depth < MAX_PREREQUISITE_DEPTH; depth++) {
    const next: string[] = []
    for (const name of frontier) {
      if (loaded.has(name)) continue
      const d = yield name
      if (d === undefined) continue
      loaded.set(name, d)
      next.push(...d.prerequisites.map((p) => p.flag))
    }
    frontier = next
  }
  return loaded
}

export function createEvaluator (opts: EvaluatorOptions) {
  const ttlMs = opts.ttlMs
  const caching = ttlMs > 0
  const pageSize = opts.pageSize ?? 100
  const snapshotMaxFlags = opts.snapshotMaxFlags ?? 20_000
  const snapshotMaxBytes = opts.snapshotMaxBytes ?? 64 * 1024 * 1024
  const recentWindowMs = opts.recentWriteWindowMs ?? 10_000
  const refreshBatchMs = opts.refreshBatchMs ?? Math.min(250, Math.floor(ttlMs * 0.05))
  const cache = new TtlLru<FlagDefinition | null>({
    ttlMs,
    maxEntries: opts.maxEntries ?? 50_000,
    maxWeight: opts.maxBytes ?? 128 * 1024 * 1024,
    weigh: weighDefinition,
    // A flag in use is re-read from a point drawn in the last 50–15 % of its TTL, before it
    // expires (see TtlLru). The window is wide so that flags loaded together (a cold start, a
    // burst of misses) are refreshed spread out, each with time to finish before its expiry.
    refreshAhead: {
      withinMs: Math.floor(ttlMs * 0.5),
      // Deferred to share a batch read, unless the entry could expire before that read returns.
      // A refresh that reads what is cached (the usual case) keeps the cached object, and with it
      // the engine's compiled form of it (matchers, sets, closures: most of a definition's cost).
      load: async (k: string, msLeft: number): Promise<FlagDefinition | null> => {
        const [env, flag] = k.split('\u0000')
        const fresh = await load(flag, env, msLeft <= 2 * refreshBatchMs)
        const current: FlagDefinition | null | undefined = cache.peek(k)
        return current !== undefined && isDeepStrictEqual(current, fresh) ? current : fresh
      }
    },
    now: opts.now
  })
  const snapshots = new TtlLru<Snapshot | null>({
    ttlMs, maxEntries: 1_000, maxWeight: snapshotMaxBytes, weigh: (s) => s?.bytes ?? 64, now: opts.now
  })
  const bulkMaxBytes = opts.bulkMaxBytes ?? 32 * 1024 * 1024
  const bulk = new TtlLru<BulkEntry>({
    ttlMs,
    maxEntries: 20_000,
    maxWeight: bulkMaxBytes,
    weigh: (e) => 2 * (e.body.length + e.etag.length) + 200,
    expiresAt: (e) => e.expiresAt,
    now: opts.now
  })
  /** env → flag → when it was last written through this process (pruned by age). */
  const recentWrites = new Map<string, Map<string, number>>()
  const key = (flag: string, env: string) => `${env}\u0000${flag}`

  function recentlyWritten (env: string): string[] {
    const m = recentWrites.get(env)
    if (m === undefined) return []
    const horizon = opts.now() - recentWindowMs
    for (const [flag, at] of m) if (at < horizon) m.delete(flag)
    if (m.size === 0) recentWrites.delete(env)
    return [...m.keys()]
  }

  function noteWrite (flag: string, env: string): void {
    recentlyWritten(env) // prune, so the map holds only the writes of the last window
    let m = recentWrites.get(env)
    if (m === undefined) recentWrites.set(env, m = new Map())
    m.delete(flag)
    m.set(flag, opts.now())
  }

  function isRecent (flag: string, env: string): boolean {
    const at = recentWrites.get(env)?.get(flag)
    return at !== undefined && at >= opts.now() - recentWindowMs
  }

  // One group per (environment, consistency). A lone key is read with GetItem, which costs the
  // same as a BatchGetItem of one key and keeps a single evaluation a single GetItem.
  const batches = new BatchLoader<FlagDefinition>({
    maxBatch: 100,
    deferMs: refreshBatchMs,
    read: async (group, flags) => {
      const env = group.slice(0, -2)
      const consistent = group.endsWith('\u0000c')
      if (flags.length > 1) return await opts.source.getDefinitions(flags, env, { consistent })
      const d = await opts.source.getDefinition(flags[0], env, { consistent })
      return d === undefined ? new Map() : new Map([[flags[0], d]])
    }
  })

  // A cached value lives for the TTL, so it must not be a stale replica's answer; without the
  // cache an eventually consistent read is as fresh as the next request anyway (unless this
  // process just wrote the flag).
  const readGroup = (flag: string, env: string) => `${env}\u0000${caching || isRecent(flag, env) ? 'c' : 'e'}`

  /** A flag's definition from the store (null: no config); `urgent` unless a refresh ahead with time to spare. */
  async function load (flag: string, env: string, urgent = true): Promise<FlagDefinition | null> {
    return (await batches.load(readGroup(flag, env), flag, urgent)) ?? null
  }

  /** The read in flight for (flag, env), hurried along if it is a deferred refresh: someone waits for it now. */
  function pendingRead (flag: string, env: string): Promise<FlagDefinition | null> | undefined {
    const pending = cache.pending(key(flag, env))
    if (pending !== undefined) batches.expedite(readGroup(flag, env), flag)
    return pending
  }

  async function definition (flag: string, env: string): Promise<FlagDefinition | undefined> {
    const k = key(flag, env)
    const hit = cache.peek(k)
    if (hit !== undefined) return hit ?? undefined
    pendingRead(flag, env)
    const d = await cache.get(k, async () => await load(flag, env))
    return d ?? undefined
  }

  /** Load the prerequisite closure of a flag (usually empty) so the engine can stay synchronous. */
  async function withPrerequisites (root: FlagDefinition, env: string, known?: Map<string, FlagDefinition>): Promise<Map<string, FlagDefinition>> {
    const walk = prerequisiteClosure(root)
    let step = walk.next()
    while (step.done !== true) step = walk.next(known?.get(step.value) ?? await definition(step.value, env))
    return step.value
  }

  const NO_DEPS = new Map<string, FlagDefinition>()
  const noPrerequisite = (): undefined => undefined

  function run (def: FlagDefinition, context: EvaluationContext, deps: Map<string, FlagDefinition>): EvaluationResult {
    // No closure per evaluation for the common flag without prerequisites (hot path).
    return evaluate(def, context, { now: opts.now(), prerequisite: deps === NO_DEPS ? noPrerequisite : (k) => deps.get(k) })
  }

  /**
   * Every definition of an environment in flag order, page by page from GSI1 (never a Scan).
   * Flags written through this process within `recentWriteWindowMs` are re-read with a strongly
   * consistent GetItem and merged in, since the index may not show the write yet.
   */
  async function * pages (env: string): AsyncGenerator<FlagDefinition[]> {
    const recent = recentlyWritten(env)
    // Read together (one batch read), merged in flag order.
    const fresh = await Promise.all(recent.sort().map(async (flag) => ({ flag, def: await definition(flag, env) })))
    let fi = 0
    let cursor: Record<string, unknown> | undefined
    do {
      const page = await opts.source.listDefinitions(env, { limit: pageSize, cursor })
      cursor = page.cursor
      const out: FlagDefinition[] = []
      for (const d of page.items) {
        while (fi < fresh.length && fresh[fi].flag < d.flag) {
          const f = fresh[fi++].def
          if (f !== undefined) out.push(f)
        }
        if (fi < fresh.length && fresh[fi].flag === d.flag) {
          const f = fresh[fi++].def
          if (f !== undefined) out.push(f)
          continue
        }
        out.push(d)
      }
      if (cursor === undefined) {
        for (; fi < fresh.length; fi++) {
          const f = fresh[fi].def
          if (f !== undefined) out.push(f)
        }
      }
      if (out.length > 0) yield out
    } while (cursor !== undefined)
  }

  /** The whole environment in memory when it is small enough (null: stream it instead). */
  async function snapshot (env: string): Promise<Snapshot | null> {
    if (!caching) return null
    return await snapshots.get(env, async () => {
      const defs: FlagDefinition[] = []
      let bytes = 0
      for await (const page of pages(env)) {
        defs.push(...page)
        for (const d of page) bytes += weighDefinition(d)
        // Too large to hold: give up early and let bulk evaluation stream it (cached as null).
        if (defs.length > snapshotMaxFlags || bytes > snapshotMaxBytes) return null
      }
      return { defs, byName: new Map(defs.map((d) => [d.flag, d])), bytes }
    })
  }

  async function evaluateDefs (defs: FlagDefinition[], env: string, context: EvaluationContext, known: Map<string, FlagDefinition>, out: EvaluatedFlag[]): Promise<void> {
    for (const d of defs) {
      const deps = d.prerequisites.length > 0 ? await withPrerequisites(d, env, known) : NO_DEPS
      out.push({ definition: d, result: run(d, context, deps) })
    }
  }

  /** Evaluate every flag of `env` for `context`, in flag order: from the snapshot, or page by page. */
  async function evaluateEnvironment (env: string, context: EvaluationContext): Promise<{ results: EvaluatedFlag[]; nextChange: number }> {
    const results: EvaluatedFlag[] = []
    let nextChange = Number.POSITIVE_INFINITY
    const now = opts.now()
    const snap = await snapshot(env)
    if (snap !== null) {
      await evaluateDefs(snap.defs, env, context, snap.byName, results)
      for (const d of snap.defs) if (d.schedule.length > 0) nextChange = Math.min(nextChange, nextScheduledChange(d, now))
    } else {
      // Only one page of definitions is held at a time; the results are what the answer holds.
      for await (const page of pages(env)) {
        await evaluateDefs(page, env, context, new Map(page.map((d) => [d.flag, d])), results)
        for (const d of page) if (d.schedule.length > 0) nextChange = Math.min(nextChange, nextScheduledChange(d, now))
      }
    }
    return { results, nextChange }
  }

  return {
    cache,
    definition,

    async evaluate (flag: string, env: string, context: EvaluationContext): Promise<{ result: EvaluationResult; definition?: FlagDefinition }> {
      const def = await definition(flag, env)
      if (def === undefined) {
        return { result: { value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `Flag '${flag}' has no config in '${env}'` } }
      }
      const deps = def.prerequisites.length > 0 ? await withPrerequisites(def, env) : NO_DEPS
      return { result: run(def, context, deps), definition: def }
    },

    /**
     * `evaluate` from the cache alone, synchronously (no promise: the routes try it first):
     * undefined when the flag, or any prerequisite it needs, is not cached — or is cached as
     * missing — so only `evaluate` can answer.
     */
    evaluateCached (flag: string, env: string, context: EvaluationContext): { result: EvaluationResult; definition: FlagDefinition } | undefined {
      const def = cache.peek(key(flag, env))
      if (def === undefined || def === null) return undefined
      if (def.prerequisites.length === 0) return { result: run(def, context, NO_DEPS), definition: def }
      const walk = prerequisiteClosure(def)
      let step = walk.next()
      while (step.done !== true) {
        const d = cache.peek(key(step.value, env))
        if (d === undefined) return undefined
        step = walk.next(d ?? undefined)
      }
      return { result: run(def, context, step.value), definition: def }
    },

    /**
     * Settles when the read in flight for this flag's definition does (resolved either way), or
     * undefined when none is (tests use it to wait for a refresh). Prerequisites are not waited for.
     */
    whenLoaded (flag: string, env: string): Promise<void> | undefined {
      return pendingRead(flag, env)?.then(() => {}, () => {})
    },

    /** The evaluation with its trace (admin explain route); reads the store, not the cache. */
    async explain (flag: string, env: string, context: EvaluationContext): Promise<Explanation | undefined> {
      const def = await opts.source.getDefinition(flag, env, { consistent: true })
      if (def === undefined) return undefined
      const deps = await withPrerequisites(def, env)
      return explain(def, context, { now: opts.now(), prerequisite: (k) => deps.get(k) })
    },

    pages,
    evaluateEnvironment,

    /** A cached bulk answer for (env, context) without computing anything; undefined on a miss. */
    peekBulk (env: string, ctxKey: string): RenderedBulk | undefined {
      return bulk.peek(`${env}\u0000${ctxKey}`)
    },

    /**
     * The bulk answer for (env, context): cached (single flight per key) until a write in `env`,
     * the TTL or the next scheduled change of one of its flags, whichever comes first.
     */
    async bulk (env: string, context: EvaluationContext, render: (results: EvaluatedFlag[]) => RenderedBulk, ctxKey = contextKey(context)): Promise<RenderedBulk> {
      const compute = async (): Promise<BulkEntry> => {
        const { results, nextChange } = await evaluateEnvironment(env, context)
        const { body, etag } = render(results)
        return { body, etag, expiresAt: nextChange } // a literal: see toDefinition (definition-reader.ts)
      }
      if (!caching) return await compute()
      const k = `${env}\u0000${ctxKey}`
      return bulk.peek(k) ?? await bulk.get(k, compute)
    },

    /** A committed change to (flag, env): forget what depended on it (env undefined: everything). */
    invalidate (flag: string, env?: string): void {
      if (env === undefined) {
        cache.clear()
        snapshots.clear()
        bulk.clear()
        return
      }
      noteWrite(flag, env)
      cache.delete(key(flag, env))
      snapshots.delete(env)
      const prefix = `${env}\u0000`
      bulk.deleteWhere((k) => k.startsWith(prefix))
    },

    stats () {
      const reads = batches.stats()
      return { definitions: cache.size, definitionBytes: cache.weight, snapshots: snapshots.size, snapshotBytes: snapshots.weight, bulkEntries: bulk.size, bulkBytes: bulk.weight, definitionReadCalls: reads.batches, definitionsRead: reads.keys }
    }
  }
}

export type Evaluator = ReturnType<typeof createEvaluator>
