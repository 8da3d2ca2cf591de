// The evaluator's caches over a fake definition source: what is read when, invalidation, the
// bulk path (snapshot or page streaming, GSI lag overlay, prerequisites across pages), expiry.
import t from 'tap'
import { createEvaluator, weighDefinition, type DefinitionSource, type EvaluatedFlag, type RenderedBulk } from '../../src/evaluation/evaluator.js'
import { simpleTargeting, type FlagDefinition } from '../../src/domain/model.js'

function def (flag: string, env: string, enabled = true, extra: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    ...simpleTargeting(enabled),
    flag,
    environment: env,
    type: 'boolean',
    variants: [{ key: 'on', value: true }, { key: 'off', value: false }],
    segments: {},
    version: 1,
    ...extra
  }
}

/**
 * A table (point reads see the latest write) and a GSI that only shows what `syncIndex()` copied,
 * like DynamoDB's eventually consistent index. Counts every read.
 */
function fakeSource () {
  const table = new Map<string, FlagDefinition>()
  let index = new Map<string, FlagDefinition>()
  /** Flags read (point or batch), of them strongly consistent, GSI pages. */
  const reads = { get: 0, consistentGets: 0, pages: 0 }
  /** Each batch read: its flags, in order asked, and whether it was consistent. */
  const batches: Array<{ flags: string[]; consistent: boolean }> = []
  const k = (flag: string, env: string) => `${env}/${flag}`
  const source: DefinitionSource = {
    async getDefinition (flag, env, opts) {
      reads.get++
      if (opts?.consistent === true) reads.consistentGets++
      return table.get(k(flag, env))
    },
    async getDefinitions (flags, env, opts) {
      batches.push({ flags, consistent: opts?.consistent === true })
      reads.get += flags.length
      if (opts?.consistent === true) reads.consistentGets += flags.length
      const out = new Map<string, FlagDefinition>()
      for (const flag of flags) {
        const d = table.get(k(flag, env))
        if (d !== undefined) out.set(flag, d)
      }
      return out
    },
    async listDefinitions (env, { limit, cursor }) {
      reads.pages++
      const all = [...index.values()].filter((d) => d.environment === env).sort((a, b) => (a.flag < b.flag ? -1 : 1))
      const start = cursor === undefined ? 0 : all.findIndex((d) => d.flag > String(cursor.after))
      const items = start < 0 ? [] : all.slice(start, start + limit)
      const more = start >= 0 && start + limit < all.length
      return { items, cursor: more ? { after: items[items.length - 1].flag } : undefined }
    }
  }
  return {
    source,
    reads,
    batches,
    put (d: FlagDefinition) { table.set(k(d.flag, d.environment), d) },
    remove (flag: string, env: string) { table.delete(k(flag, env)) },
    syncIndex () { index = new Map(table) }
  }
}

const render = (results: EvaluatedFlag[]): RenderedBulk => {
  const body = JSON.stringify(results.map((r) => [r.definition.flag, r.result.value]))
  return { body, etag: `"${body.length}:${body}"` }
}
const flagsOf = (b: RenderedBulk) => (JSON.parse(b.body) as Array<[string, unknown]>)

t.test('single evaluation: one strongly consistent read per TTL, shared by concurrent misses', async (t) => {
  let now = 0
  const f = fakeSource()
  f.put(def('a', 'prod'))
  const ev = createEvaluator({ source: f.source, now: () => now, ttlMs: 1_000 })
  const results = await Promise.all(Array.from({ length: 20 }, () => ev.evaluate('a', 'prod', {})))
  t.ok(results.every((r) => r.result.value === true))
  t.same(f.reads, { get: 1, consistentGets: 1, pages: 0 })
  f.put(def('a', 'prod', false)) // written by another process: not seen until the TTL
  t.equal((await ev.evaluate('a', 'prod', {})).result.value, true)
  now = 1_000
  t.equal((await ev.evaluate('a', 'prod', {})).result.reason, 'DISABLED', 'seen once the TTL has passed')
  t.equal(f.reads.get, 2)
  f.put(def('a', 'prod', true))
  ev.invalidate('a', 'prod') // written through this process
  t.equal((await ev.evaluate('a', 'prod', {})).result.value, true, 'seen at once')
  t.equal((await ev.evaluate('missing', 'prod', {})).result.errorCode, 'FLAG_NOT_FOUND')
  t.equal((await ev.evaluate('missing', 'prod', {})).result.errorCode, 'FLAG_NOT_FOUND')
  t.equal(f.reads.get, 4, 'a missing flag is cached too')
  f.put(def('missing', 'prod'))
  ev.invalidate('missing', 'prod')
  t.equal((await ev.evaluate('missing', 'prod', {})).result.value, true, 'created through this process: seen at once')
})

t.test('misses asked for together are read together: one batch read, strongly consistent', async (t) => {
  const f = fakeSource()
  const names = Array.from({ length: 30 }, (_, i) => `f${i}`)
  for (const n of names) f.put(def(n, 'prod', n !== 'f7'))
  const ev = createEvaluator({ source: f.source, now: () => 0, ttlMs: 60_000 })
  // 30 flags + one without config, each asked for twice, in one turn of the event loop.
  const results = await Promise.all([...names, 'missing', ...names].map(async (n) => await ev.evaluate(n, 'prod', {})))
  t.same(f.batches.map((b) => ({ n: b.flags.length, consistent: b.consistent })), [{ n: 31, consistent: true }], 'one read of 31 distinct flags')
  t.same(f.reads, { get: 31, consistentGets: 31, pages: 0 })
  t.equal(results[7].result.reason, 'DISABLED', 'each flag gets its own definition')
  t.equal(results[30].result.errorCode, 'FLAG_NOT_FOUND', 'a flag absent from the batch has no config')
  t.ok(results.slice(31).every((r, i) => r.result.value === results[i].result.value), 'duplicates share the read')
  // Later misses are a read of their own; a lone flag is a point read.
  await ev.evaluate('missing2', 'prod', {})
  t.equal(f.batches.length, 1, 'a single miss is a GetItem, not a batch')
  t.equal(f.reads.get, 32)
})

t.test('refreshes ahead wait for company: flags due together are re-read in one batch', async (t) => {
  let now = 0
  const f = fakeSource()
  const names = ['a', 'b', 'c', 'd']
  for (const n of names) f.put(def(n, 'prod'))
  const ev = createEvaluator({ source: f.source, now: () => now, ttlMs: 1_000, refreshBatchMs: 30 })
  await Promise.all(names.map(async (n) => await ev.evaluate(n, 'prod', {})))
  t.equal(f.batches.length, 1)
  for (const n of names) f.put(def(n, 'prod', false)) // changed by another process
  now = 900 // past every entry's refresh point (50–15 % of the TTL before expiry), not expired
  for (const n of names) t.equal(ev.evaluateCached(n, 'prod', {})?.result.value, true, `${n}: the cached value is served meanwhile`)
  await Promise.all(names.map(async (n) => await ev.cache.pending(`prod\u0000${n}`)))
  t.same(f.batches.slice(1).map((b) => [...b.flags].sort()), [names], 'one batch read for the four refreshes')
  for (const n of names) t.equal(ev.evaluateCached(n, 'prod', {})?.result.reason, 'DISABLED', `${n}: refreshed`)
})

t.test('a refresh that reads an unchanged definition keeps the cached object; a changed one replaces it', async (t) => {
  let now = 0
  const f = fakeSource()
  // Like DynamoDB: every read returns new objects, equal or not.
  const copying: DefinitionSource = {
    ...f.source,
    getDefinition: async (flag, env, opts) => structuredClone(await f.source.getDefinition(flag, env, opts)),
    getDefinitions: async (flags, env, opts) => structuredClone(await f.source.getDefinitions(flags, env, opts))
  }
  const rules = [{ id: 'r1', clauses: [{ attribute: 'email', operator: 'endsWith' as const, values: ['@corp.example'] }], serve: { variant: 'off' } }]
  f.put(def('a', 'prod', true, { rules }))
  f.put(def('b', 'prod', true, { rules }))
  const ev = createEvaluator({ source: copying, now: () => now, ttlMs: 1_000, refreshBatchMs: 0 })
  await Promise.all(['a', 'b'].map(async (n) => await ev.evaluate(n, 'prod', {})))
  const before = { a: ev.evaluateCached('a', 'prod', {})!.definition, b: ev.evaluateCached('b', 'prod', {})!.definition }
  // b changed elsewhere, deep inside: one clause's values (the version alone would not tell).
  f.put(def('b', 'prod', true, { rules: [{ ...rules[0]!, clauses: [{ ...rules[0]!.clauses[0]!, values: ['@other.example'] }] }] }))
  now = 900 // past both refresh points
  for (const n of ['a', 'b']) ev.evaluateCached(n, 'prod', {})
  await Promise.all(['a', 'b'].map(async (n) => await ev.cache.pending(`prod\u0000${n}`)))
  t.equal(f.batches.length, 2, 'both were read again')
  const after = { a: ev.evaluateCached('a', 'prod', { email: 'x@corp.example' })!, b: ev.evaluateCached('b', 'prod', {})! }
  t.equal(after.a.definition, before.a, 'a: unchanged, the same object (its compiled form is reused)')
  t.equal(after.a.result.value, false, 'a: still evaluates its rules')
  t.not(after.b.definition, before.b, 'b: changed, replaced')
  t.equal(ev.evaluateCached('b', 'prod', { email: 'x@corp.example' })!.result.value, true, 'b: the new clause no longer matches corp.example')
  t.equal(ev.evaluateCached('b', 'prod', { email: 'x@other.example' })!.result.value, false, 'b: it matches other.example')
  now = 1_500 // past the first expiry (1 000), before the refreshed one (1 900)
  t.ok(ev.evaluateCached('a', 'prod', {}), 'a: live after its first expiry')
})

t.test('a refresh waiting for company is not left waiting once its entry runs out of time', async (t) => {
  // TTL 1 000 s: the refresh point lies 500–150 s before expiry; refreshes wait 40 s for company
  // unless the entry has less than 2 × 40 s left. Were either rule missing, a read below would
  // wait out its 40 s and the test would time out.
  let now = 0
  const f = fakeSource()
  for (const n of ['a', 'b', 'c']) f.put(def(n, 'prod'))
  const ev = createEvaluator({ source: f.source, now: () => now, ttlMs: 1_000_000, refreshBatchMs: 40_000 })
  await Promise.all(['a', 'b', 'c'].map(async (n) => await ev.evaluate(n, 'prod', {})))
  for (const n of ['a', 'b', 'c']) f.put(def(n, 'prod', false))
  const reads = f.reads.get

  now = 900_000 // 100 s left: past every refresh point, and time enough to wait for company
  t.equal(ev.evaluateCached('a', 'prod', {})?.result.value, true, 'a: served while its refresh is queued')
  t.equal(ev.evaluateCached('b', 'prod', {})?.result.value, true, 'b: likewise')
  now = 1_000_001 // both expired before their batch was read
  t.equal(ev.evaluateCached('a', 'prod', {}), undefined, 'a: expired, nothing to serve')
  t.equal((await ev.evaluate('a', 'prod', {})).result.reason, 'DISABLED', 'a reader of the expired entry gets the queued read at once')
  t.equal(f.reads.get - reads, 2, 'one batch read took a and b')
  await ev.whenLoaded('b', 'prod')
  t.equal(ev.evaluateCached('b', 'prod', {})?.result.reason, 'DISABLED', 'b: refreshed by the same read')

  now = 2_000_000 // c (loaded at 0) has expired: read it again, then come back with 50 s left
  t.equal((await ev.evaluate('c', 'prod', {})).result.reason, 'DISABLED')
  f.put(def('c', 'prod', true))
  now = 2_000_000 + 1_000_000 - 50_000
  t.equal(ev.evaluateCached('c', 'prod', {})?.result.reason, 'DISABLED', 'c: served, its refresh started')
  await ev.cache.pending('prod\u0000c')
  t.equal(ev.evaluateCached('c', 'prod', {})?.result.value, true, 'with 50 s left (< 2 × 40 s) the refresh was read at once, not deferred')
})

t.test('cache off: every evaluation reads, eventually consistent unless this process just wrote the flag', async (t) => {
  const f = fakeSource()
  f.put(def('a', 'prod'))
  const ev = createEvaluator({ source: f.source, now: Date.now, ttlMs: 0 })
  await ev.evaluate('a', 'prod', {})
  await ev.evaluate('a', 'prod', {})
  t.same(f.reads, { get: 2, consistentGets: 0, pages: 0 })
  ev.invalidate('a', 'prod')
  await ev.evaluate('a', 'prod', {})
  t.equal(f.reads.consistentGets, 1)
})

t.test('bulk: cached per (environment, context), dropped by a write in that environment only', async (t) => {
  const f = fakeSource()
  for (const n of ['a', 'b', 'c']) { f.put(def(n, 'prod')); f.put(def(n, 'dev')) }
  f.syncIndex()
  const ev = createEvaluator({ source: f.source, now: Date.now, ttlMs: 60_000 })
  const first = await ev.bulk('prod', { targetingKey: 'u1' }, render)
  t.same(flagsOf(first), [['a', true], ['b', true], ['c', true]])
  const pages = f.reads.pages
  t.equal(await ev.bulk('prod', { targetingKey: 'u1' }, render), first, 'same context: the cached answer')
  t.equal(ev.peekBulk('prod', '{"targetingKey":"u1"}'), first, 'keyed by the canonical context')
  await ev.bulk('prod', { targetingKey: 'u2' }, render)
  t.equal(f.reads.pages, pages, 'a new context is evaluated from the environment snapshot, no read')
  await ev.bulk('dev', { targetingKey: 'u1' }, render)
  f.put(def('b', 'prod', false))
  f.syncIndex()
  ev.invalidate('b', 'prod')
  t.equal(ev.peekBulk('prod', '{"targetingKey":"u1"}'), undefined, 'prod answers dropped')
  t.not(ev.peekBulk('dev', '{"targetingKey":"u1"}'), undefined, 'dev answers kept')
  t.same(flagsOf(await ev.bulk('prod', { targetingKey: 'u1' }, render)), [['a', true], ['b', false], ['c', true]])
})

t.test('bulk reads overlay flags written here on a lagging index (create, change, delete)', async (t) => {
  const f = fakeSource()
  for (const n of ['b', 'd', 'f']) f.put(def(n, 'prod'))
  f.syncIndex()
  let now = 0
  const ev = createEvaluator({ source: f.source, now: () => now, ttlMs: 60_000, recentWriteWindowMs: 5_000 })
  t.same(flagsOf(await ev.bulk('prod', {}, render)).map(([n]) => n), ['b', 'd', 'f'])
  // Writes through this process; the index has not caught up.
  f.put(def('a', 'prod')); ev.invalidate('a', 'prod')
  f.put(def('d', 'prod', false)); ev.invalidate('d', 'prod')
  f.put(def('e', 'prod')); ev.invalidate('e', 'prod')
  f.remove('f', 'prod'); ev.invalidate('f', 'prod')
  f.put(def('z', 'prod')); ev.invalidate('z', 'prod')
  t.same(flagsOf(await ev.bulk('prod', {}, render)), [['a', true], ['b', true], ['d', false], ['e', true], ['z', true]])
  f.syncIndex()
  now = 5_001
  const gets = f.reads.get
  ev.invalidate('b', 'prod')
  await ev.bulk('prod', {}, render)
  t.equal(f.reads.get - gets, 1, 'older writes are left to the index once the window has passed')
})

t.test('a large environment is streamed page by page, prerequisites resolved across pages', async (t) => {
  const f = fakeSource()
  const names = Array.from({ length: 25 }, (_, i) => `f${String(i).padStart(2, '0')}`)
  for (const n of names) f.put(def(n, 'prod'))
  // f00 requires f24 (a later page) to serve 'off' — it serves 'on', so f00 is not met → off.
  f.put(def('f00', 'prod', true, { prerequisites: [{ flag: 'f24', variant: 'off' }] }))
  f.syncIndex()
  const ev = createEvaluator({ source: f.source, now: Date.now, ttlMs: 60_000, snapshotMaxFlags: 10, pageSize: 5 })
  const out = flagsOf(await ev.bulk('prod', { targetingKey: 'u' }, render))
  t.equal(out.length, 25)
  t.same(out[0], ['f00', false], 'prerequisite on another page was loaded')
  t.same(out.map(([n]) => n), names, 'flag order')
  const pages = f.reads.pages
  await ev.bulk('prod', { targetingKey: 'other' }, render)
  t.equal(f.reads.pages - pages, 5, 'no snapshot held: a new context streams the 5 pages again')
  t.equal(ev.stats().snapshots, 1, 'only the "too large" marker is cached')
})

t.test('a bulk answer expires at the next scheduled change of one of its flags', async (t) => {
  let now = Date.parse('2030-01-01T00:00:00Z')
  const f = fakeSource()
  f.put(def('s', 'prod', false, { schedule: [{ id: 'on', at: '2030-01-01T00:00:10Z', change: { enabled: true } }] }))
  f.syncIndex()
  const ev = createEvaluator({ source: f.source, now: () => now, ttlMs: 60_000 })
  t.same(flagsOf(await ev.bulk('prod', {}, render)), [['s', false]])
  now += 9_999
  t.not(ev.peekBulk('prod', '{}'), undefined)
  now += 1
  t.equal(ev.peekBulk('prod', '{}'), undefined, 'expired when the change is due')
  t.same(flagsOf(await ev.bulk('prod', {}, render)), [['s', true]])
})

t.test('a write while a bulk answer is being computed: it is not cached', async (t) => {
  const f = fakeSource()
  f.put(def('a', 'prod'))
  f.syncIndex()
  const ev = createEvaluator({ source: f.source, now: Date.now, ttlMs: 60_000 })
  const inFlight = ev.bulk('prod', {}, render)
  f.put(def('a', 'prod', false)); f.syncIndex()
  ev.invalidate('a', 'prod')
  await inFlight
  t.same(flagsOf(await ev.bulk('prod', {}, render)), [['a', false]])
})

t.test('memory: definitions and bulk answers stay within their byte budgets', async (t) => {
  const f = fakeSource()
  for (let i = 0; i < 200; i++) f.put(def(`f${String(i).padStart(3, '0')}`, 'prod'))
  f.syncIndex()
  const one = weighDefinition(def('f000', 'prod'))
  const ev = createEvaluator({ source: f.source, now: Date.now, ttlMs: 60_000, maxBytes: 50 * one, bulkMaxBytes: 64 * 1024, snapshotMaxFlags: 50 })
  for (let i = 0; i < 200; i++) t.equal((await ev.evaluate(`f${String(i).padStart(3, '0')}`, 'prod', {})).result.value, true)
  t.ok(ev.stats().definitions <= 50 && ev.stats().definitionBytes <= 50 * one, `definitions bounded: ${JSON.stringify(ev.stats())}`)
  for (let u = 0; u < 100; u++) await ev.bulk('prod', { targetingKey: `u${u}` }, render)
  t.ok(ev.stats().bulkBytes <= 64 * 1024, 'bulk answers bounded by bytes')
  t.ok(ev.stats().bulkEntries < 100, 'older answers evicted')
  t.ok(ev.stats().snapshotBytes <= 64, 'a 200-flag environment over snapshotMaxFlags is not held (only its marker)')
  const byBytes = createEvaluator({ source: f.source, now: Date.now, ttlMs: 60_000, snapshotMaxBytes: 100 * one })
  t.equal(flagsOf(await byBytes.bulk('prod', {}, render)).length, 200, 'streamed, complete')
  t.ok(byBytes.stats().snapshotBytes <= 64, 'an environment over the snapshot byte budget is not held either')
  const fits = createEvaluator({ source: f.source, now: Date.now, ttlMs: 60_000, snapshotMaxBytes: 300 * one })
  await fits.bulk('prod', {}, render)
  t.ok(fits.stats().snapshotBytes > 150 * one, 'within the budget it is held whole')
})

t.test('evaluateCached: from the cache alone, prerequisites included; undefined until all are cached', async (t) => {
  const f = fakeSource()
  // parent needs child served 'off'; child is disabled, so it serves its off variant: parent is on.
  f.put(def('parent', 'dev', true, { prerequisites: [{ flag: 'child', variant: 'off' }] }))
  f.put(def('child', 'dev', false, { prerequisites: [{ flag: 'gone', variant: 'on' }] }))
  const ev = createEvaluator({ source: f.source, now: () => 0, ttlMs: 60_000 })
  t.equal(ev.evaluateCached('parent', 'dev', {}), undefined, 'nothing cached')
  await ev.definition('parent', 'dev')
  t.equal(ev.evaluateCached('parent', 'dev', {}), undefined, 'a prerequisite is not cached')
  await ev.definition('child', 'dev')
  t.equal(ev.evaluateCached('parent', 'dev', {}), undefined, "the prerequisite's own prerequisite is not cached")
  await ev.definition('gone', 'dev') // cached as "no config": skipped, like evaluate does
  const reads = f.reads.get
  const cached = ev.evaluateCached('parent', 'dev', {})
  t.equal(f.reads.get, reads, 'no read')
  t.same(cached?.result, (await ev.evaluate('parent', 'dev', {})).result, 'the same result as evaluate')
  t.equal(cached?.result.value, true)
  t.equal(ev.evaluateCached('gone', 'dev', {}), undefined, 'a flag cached as missing is for evaluate to answer')
})
