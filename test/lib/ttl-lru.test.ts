// TtlLru: TTL with an injected clock, LRU bounds (count and weight), single-flight loads, and
// invalidation winning over a load in flight.
import t from 'tap'
import { TtlLru } from '../../src/lib/ttl-lru.js'

function deferred<T> () {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
  return { promise, resolve, reject }
}

function counter<T> (values: () => T) {
  const calls = { n: 0 }
  return { calls, load: async () => { calls.n++; return values() } }
}

t.test('an entry lives exactly its TTL on the injected clock', async (t) => {
  let now = 1_000
  const cache = new TtlLru<string>({ ttlMs: 100, maxEntries: 10, now: () => now })
  let version = 1
  const { calls, load } = counter(() => `v${version}`)
  t.equal(await cache.get('k', load), 'v1')
  version = 2
  now += 99
  t.equal(await cache.get('k', load), 'v1', 'still fresh 1 ms before expiry')
  t.equal(calls.n, 1)
  now += 1
  t.equal(await cache.get('k', load), 'v2', 'reloaded at expiry')
  t.equal(calls.n, 2)
  t.equal(cache.peek('k'), 'v2')
  now += 100
  t.equal(cache.peek('k'), undefined, 'peek does not return an expired value')
  t.equal(cache.size, 0, 'the expired entry is dropped')
})

t.test('a per-value expiry caps the TTL', async (t) => {
  let now = 0
  const cache = new TtlLru<{ v: number; until: number }>({ ttlMs: 1_000, maxEntries: 10, now: () => now, expiresAt: (e) => e.until })
  cache.set('a', { v: 1, until: 50 })
  cache.set('b', { v: 2, until: Number.POSITIVE_INFINITY })
  now = 49
  t.equal(cache.peek('a')?.v, 1)
  now = 50
  t.equal(cache.peek('a'), undefined, 'gone at its own expiry')
  t.equal(cache.peek('b')?.v, 2, 'the other keeps the TTL')
  now = 1_000
  t.equal(cache.peek('b'), undefined)
  cache.set('c', { v: 3, until: 10 })
  t.equal(cache.size, 0, 'a value already past its expiry is not stored')
})

t.test('ttlMs 0 disables caching and single flight', async (t) => {
  const cache = new TtlLru<number>({ ttlMs: 0, maxEntries: 10 })
  const { calls, load } = counter(() => 1)
  await cache.get('k', load)
  await cache.get('k', load)
  await Promise.all([cache.get('k', load), cache.get('k', load)])
  t.equal(calls.n, 4)
  cache.set('k', 1)
  t.equal(cache.size, 0)
})

t.test('LRU: the count bound holds and the least recently used goes first', async (t) => {
  const cache = new TtlLru<number>({ ttlMs: 60_000, maxEntries: 3 })
  for (const k of ['a', 'b', 'c']) cache.set(k, k.charCodeAt(0))
  t.equal(cache.peek('a'), 97, 'touch a: b is now the oldest')
  cache.set('d', 100)
  t.equal(cache.size, 3)
  t.equal(cache.peek('b'), undefined, 'b evicted')
  t.ok(cache.peek('a') !== undefined && cache.peek('c') !== undefined && cache.peek('d') !== undefined)
  await cache.get('c', async () => -1) // a hit through get() refreshes too
  cache.set('e', 101)
  t.equal(cache.peek('a'), undefined, 'a (untouched since) evicted next')
  t.ok(cache.peek('c') !== undefined)
  for (let i = 0; i < 1_000; i++) cache.set(`k${i}`, i)
  t.equal(cache.size, 3, 'never more than maxEntries')
  t.same(['k997', 'k998', 'k999'].map((k) => cache.peek(k)), [997, 998, 999])
})

t.test('LRU: an entry read at least once every maxEntries/2 insertions is never evicted', async (t) => {
  const cache = new TtlLru<number>({ ttlMs: 60_000, maxEntries: 100 })
  cache.set('hot', 1)
  let lost = 0
  for (let i = 0; i < 10_000; i++) {
    cache.set(`k${i}`, i)
    if (i % 49 === 0 && cache.peek('hot') === undefined) lost++
  }
  t.equal(lost, 0, 'the hot entry survived 10 000 insertions into a cache of 100')
  t.equal(cache.size, 100)
  t.equal(cache.peek('k0'), undefined, 'cold entries went')
})

t.test('LRU: the weight bound holds; a value heavier than the bound is not cached', async (t) => {
  const cache = new TtlLru<string>({ ttlMs: 60_000, maxEntries: 1_000, maxWeight: 10, weigh: (s) => s.length })
  cache.set('a', 'xxxx')
  cache.set('b', 'xxxx')
  t.equal(cache.weight, 8)
  cache.set('c', 'xxxx')
  t.equal(cache.peek('a'), undefined, 'oldest evicted to fit')
  t.equal(cache.weight, 8)
  cache.set('b', 'x')
  t.equal(cache.weight, 5, 'replacing a value replaces its weight')
  cache.set('huge', 'x'.repeat(11))
  t.equal(cache.peek('huge'), undefined)
  t.equal(cache.weight, 5, 'nothing evicted for it')
  cache.delete('b')
  cache.deleteWhere(() => true)
  t.equal(cache.weight, 0)
})

t.test('single flight: N concurrent misses for one key make one load', async (t) => {
  const cache = new TtlLru<number>({ ttlMs: 60_000, maxEntries: 10 })
  const d = deferred<number>()
  let loads = 0
  const load = async () => { loads++; return await d.promise }
  const waiting = Array.from({ length: 50 }, () => cache.get('k', load))
  const other = cache.get('other', async () => { loads++; return 7 })
  d.resolve(42)
  t.same(await Promise.all(waiting), Array(50).fill(42))
  t.equal(await other, 7)
  t.equal(loads, 2, 'one load for the 50 misses of k, one for the other key')
  t.equal(await cache.get('k', load), 42)
  t.equal(loads, 2, 'then a hit')
})

t.test('single flight: a failed load is shared, not cached', async (t) => {
  const cache = new TtlLru<number>({ ttlMs: 60_000, maxEntries: 10 })
  const d = deferred<number>()
  let loads = 0
  const failing = async () => { loads++; return await d.promise }
  const waiting = [cache.get('k', failing), cache.get('k', failing), cache.get('k', failing)]
  d.reject(new Error('throttled'))
  for (const w of waiting) await t.rejects(w, /throttled/)
  t.equal(loads, 1)
  t.equal(await cache.get('k', async () => { loads++; return 1 }), 1, 'the next get loads again')
  t.equal(loads, 2)
})

t.test('a write during an in-flight load: the stale value is not cached, later readers load afresh', async (t) => {
  const cache = new TtlLru<string>({ ttlMs: 60_000, maxEntries: 10 })
  const slow = deferred<string>()
  const before = cache.get('k', async () => await slow.promise) // read of the old state in flight
  cache.delete('k') // the write commits and invalidates
  const fresh = deferred<string>()
  let freshLoads = 0
  const after = cache.get('k', async () => { freshLoads++; return await fresh.promise })
  slow.resolve('old') // the old read lands while the fresh one is still in flight …
  t.equal(await before, 'old', 'the reader that started before the write gets what it read')
  t.equal(cache.peek('k'), undefined, '… and it is not cached')
  const after2 = cache.get('k', async () => { freshLoads++; return await fresh.promise })
  fresh.resolve('new')
  t.same(await Promise.all([after, after2]), ['new', 'new'])
  t.equal(freshLoads, 1, 'readers after the write share one fresh load (the old load did not drop it)')
  t.equal(cache.peek('k'), 'new')
})

t.test('clear and deleteWhere also win over loads in flight', async (t) => {
  const cache = new TtlLru<string>({ ttlMs: 60_000, maxEntries: 10 })
  const a = deferred<string>()
  const b = deferred<string>()
  const pa = cache.get('env1\u0000a', async () => await a.promise)
  const pb = cache.get('env2\u0000b', async () => await b.promise)
  cache.deleteWhere((k) => k.startsWith('env1\u0000'))
  a.resolve('stale')
  b.resolve('fine')
  await Promise.all([pa, pb])
  t.equal(cache.peek('env1\u0000a'), undefined, 'the invalidated environment is not cached')
  t.equal(cache.peek('env2\u0000b'), 'fine', 'the other one is')
  const c = deferred<string>()
  const pc = cache.get('x', async () => await c.promise)
  cache.clear()
  c.resolve('stale')
  await pc
  t.equal(cache.size, 0)
})

t.test('set(…, { ifUnchangedSince }) refuses a value read before an invalidation', async (t) => {
  const cache = new TtlLru<string>({ ttlMs: 60_000, maxEntries: 10 })
  const token = cache.epoch()
  cache.delete('other')
  cache.set('k', 'read-before-write', { ifUnchangedSince: token })
  t.equal(cache.peek('k'), undefined)
  cache.set('k', 'read-after', { ifUnchangedSince: cache.epoch() })
  t.equal(cache.peek('k'), 'read-after')
})

t.test('refresh ahead: a value read near its expiry is reloaded before it expires, never served past its TTL', async (t) => {
  let now = 0
  let version = 1
  const pending: Array<ReturnType<typeof deferred<string>>> = []
  const loads: string[] = []
  const cache = new TtlLru<string>({
    ttlMs: 1_000,
    maxEntries: 10,
    refreshAhead: { withinMs: 200, load: async (key) => { loads.push(key); const d = deferred<string>(); pending.push(d); return await d.promise } },
    now: () => now
  })
  cache.set('k', `v${version}`)
  now = 799
  t.equal(cache.peek('k'), 'v1')
  t.same(loads, [], 'no refresh while more than withinMs is left')
  // (from a point drawn between withinMs and 0.3 × withinMs before expiry: certainly by 940)
  now = 940
  t.equal(cache.peek('k'), 'v1', 'the current value is served while the refresh runs')
  t.equal(cache.peek('k'), 'v1')
  t.same(loads, ['k'], 'one refresh, however many readers')
  version = 2
  pending[0].resolve(`v${version}`)
  await pending[0].promise
  await new Promise((resolve) => setImmediate(resolve))
  now = 1_500
  t.equal(cache.peek('k'), 'v2', 'the refreshed value lives a TTL from its load')
  t.same(loads, ['k'])

  // An invalidation during a refresh wins: the refreshed value is not stored.
  now = 1_880 // the refreshed value was set at 940
  t.equal(cache.peek('k'), 'v2')
  t.same(loads, ['k', 'k'])
  cache.delete('k')
  pending[1].resolve('v3')
  await pending[1].promise
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(cache.peek('k'), undefined)

  // A failed refresh changes nothing: the value expires at its own time.
  cache.set('k', 'v4') // at 1 880: expires at 2 880
  now = 2_820
  t.equal(cache.peek('k'), 'v4')
  pending[2].reject(new Error('store down'))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(cache.peek('k'), 'v4', 'still served until its expiry')
  now = 2_880
  t.equal(cache.peek('k'), undefined, 'expired 1 000 ms after it was set')
})
