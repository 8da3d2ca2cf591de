// A small TTL + LRU cache with single-flight loads (evaluation definitions, API keys, the OFREP
// environment registry): concurrent misses for one key share one read.
// Map iteration order is insertion order, so re-inserting on hit keeps the oldest entry first.
// A hit re-inserts its entry only when it is no longer among the newest half of the map (fewer
// than size/2 insertions since its own): a hot entry is then never near eviction, and a hit
// usually costs one Map lookup instead of a delete and a set.
//
// Invalidation beats in-flight loads: `delete`/`clear`/`deleteWhere` forget the load in flight
// for the keys they drop, and a load only stores its value while it is still the key's current
// load. A read that began before a write can therefore never park the pre-write value in the
// cache; callers that arrive after the invalidation start a fresh load.

export interface CacheOptions<V = unknown> {
  /** Time to live of an entry in ms; 0 (or less) disables caching and single-flight entirely. */
  ttlMs: number
  /** Bound on the number of entries (least recently used evicted first). */
  maxEntries: number
  /** Optional bound on the summed `weigh(value)` of the entries (e.g. bytes). */
  maxWeight?: number
  weigh?: (value: V) => number
  /** Optional per-value expiry (epoch ms), capping the TTL (e.g. a scheduled change). */
  expiresAt?: (value: V) => number
  /**
   * Refresh ahead: a value read (`peek`/`get`) in the last `withinMs` of its life — from a point
   * drawn per entry between `withinMs` and `0.3 × withinMs` before expiry, so values loaded
   * together are not all reloaded together — is reloaded in the background with `load(key,
   * msLeft)`, `msLeft` being the time the value has left to live (single flight, dropped by an
   * invalidation like any load). A key in steady use then does not
   * expire under its readers and send them all to the store at once. Nothing served is older than
   * the TTL: the old value is served only until it would expire anyway.
   */
  refreshAhead?: { withinMs: number; load: (key: string, msLeft: number) => Promise<V> }
  now?: () => number
}

interface Entry<V> { value: V; expires: number; refreshAt: number; weight: number; seq: number }

export class TtlLru<V> {
  private readonly entries = new Map<string, Entry<V>>()
  private readonly inflight = new Map<string, Promise<V>>()
  private readonly now: () => number
  private totalWeight = 0
  private generation = 0
  /** Insertions into `entries` so far (an entry's `seq` is the count at its own). */
  private insertions = 0
  constructor (private readonly opts: CacheOptions<V>) {
    this.now = opts.now ?? Date.now
  }

  get size (): number { return this.entries.size }
  get weight (): number { return this.totalWeight }
  get enabled (): boolean { return this.opts.ttlMs > 0 }

  /**
   * A token for `set(…, { ifUnchangedSince })`: a value read after taking it is stored only if no
   * invalidation happened in between (for values read outside `get`, e.g. a bulk page read).
   */
  epoch (): number { return this.generation }

  async get (key: string, load: () => Promise<V>): Promise<V> {
    if (this.opts.ttlMs <= 0) return await load()
    const hit = this.lookup(key)
    if (hit !== undefined) return hit.value
    const pending = this.inflight.get(key)
    if (pending !== undefined) return await pending
    return await this.startLoad(key, load)
  }

  /** The live value, refreshing its LRU position; undefined on a miss. */
  peek (key: string): V | undefined {
    return this.lookup(key)?.value
  }

  /** The load in flight for `key` (a miss being filled, or a refresh), if any. */
  pending (key: string): Promise<V> | undefined {
    return this.inflight.get(key)
  }

  set (key: string, value: V, opts: { expiresAt?: number; ifUnchangedSince?: number } = {}): void {
    if (this.opts.ttlMs <= 0) return
    if (opts.ifUnchangedSince !== undefined && opts.ifUnchangedSince !== this.generation) return
    const now = this.now()
    const expires = Math.min(now + this.opts.ttlMs, opts.expiresAt ?? this.opts.expiresAt?.(value) ?? Number.POSITIVE_INFINITY)
    if (expires <= now) return
    const weight = this.opts.weigh?.(value) ?? 0
    if (this.opts.maxWeight !== undefined && weight > this.opts.maxWeight) return
    this.remove(key)
    const ahead = this.opts.refreshAhead
    const refreshAt = ahead === undefined ? Number.POSITIVE_INFINITY : expires - ahead.withinMs * (0.3 + 0.7 * Math.random())
    this.entries.set(key, { value, expires, refreshAt, weight, seq: ++this.insertions })
    this.totalWeight += weight
    while (this.entries.size > this.opts.maxEntries || (this.opts.maxWeight !== undefined && this.totalWeight > this.opts.maxWeight)) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.remove(oldest)
    }
  }

  delete (key: string): void {
    this.remove(key)
    this.inflight.delete(key)
    this.generation++
  }

  /** Drop every entry (and in-flight load) whose key matches, e.g. all results of one environment. */
  deleteWhere (match: (key: string) => boolean): void {
    for (const k of [...this.entries.keys()]) if (match(k)) this.remove(k)
    for (const k of [...this.inflight.keys()]) if (match(k)) this.inflight.delete(k)
    this.generation++
  }

  clear (): void {
    this.entries.clear()
    this.inflight.clear()
    this.totalWeight = 0
    this.generation++
  }

  private startLoad (key: string, load: () => Promise<V>): Promise<V> {
    const promise: Promise<V> = load().then((value) => {
      // Still this key's current load (no invalidation since it started): cache the value.
      if (this.inflight.get(key) === promise) this.set(key, value)
      return value
    }).finally(() => {
      if (this.inflight.get(key) === promise) this.inflight.delete(key)
    })
    this.inflight.set(key, promise)
    return promise
  }

  private lookup (key: string): Entry<V> | undefined {
    const hit = this.entries.get(key)
    if (hit === undefined) return undefined
    const now = this.now()
    if (hit.expires > now) {
      // Most recently used last, once it has fallen out of the newest half.
      if (this.insertions - hit.seq > this.entries.size >> 1) {
        this.entries.delete(key)
        this.entries.set(key, hit)
        hit.seq = ++this.insertions
      }
      const ahead = this.opts.refreshAhead
      if (ahead !== undefined && now >= hit.refreshAt && !this.inflight.has(key)) {
        // A failed refresh changes nothing: the value expires as usual and the next miss reports.
        const msLeft = hit.expires - now
        this.startLoad(key, async () => await ahead.load(key, msLeft)).catch(() => {})
      }
      return hit
    }
    this.remove(key)
    return undefined
  }

  private remove (key: string): void {
    const old = this.entries.get(key)
    if (old === undefined) return
    this.entries.delete(key)
    this.totalWeight -= old.weight
  }
}
