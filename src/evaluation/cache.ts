// A small TTL + LRU cache with single-flight loads: concurrent misses for one key share one read.
// Map iteration order is insertion order, so re-inserting on hit keeps the oldest entry first.

export interface CacheOptions { ttlMs: number; maxEntries: number; now?: () => number }

export class TtlLru<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>()
  private readonly inflight = new Map<string, Promise<V>>()
  private generation = 0
  constructor (private readonly opts: CacheOptions) {}

  get size (): number { return this.entries.size }

  async get (key: string, load: () => Promise<V>): Promise<V> {
    if (this.opts.ttlMs <= 0) return await load()
    const now = (this.opts.now ?? Date.now)()
    const hit = this.entries.get(key)
    if (hit !== undefined) {
      if (hit.expires > now) {
        this.entries.delete(key)
        this.entries.set(key, hit)
        return hit.value
      }
      this.entries.delete(key)
    }
    const pending = this.inflight.get(key)
    if (pending !== undefined) return await pending
    const generation = this.generation
    const promise = load().then((value) => {
      // A write that invalidated while we were reading wins: don't cache a possibly stale value.
      if (generation === this.generation) this.set(key, value)
      return value
    }).finally(() => { this.inflight.delete(key) })
    this.inflight.set(key, promise)
    return await promise
  }

  peek (key: string): V | undefined {
    const hit = this.entries.get(key)
    return hit !== undefined && hit.expires > (this.opts.now ?? Date.now)() ? hit.value : undefined
  }

  set (key: string, value: V): void {
    this.entries.delete(key)
    this.entries.set(key, { value, expires: (this.opts.now ?? Date.now)() + this.opts.ttlMs })
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }

  delete (key: string): void {
    this.entries.delete(key)
    this.inflight.delete(key)
    this.generation++
  }

  clear (): void {
    this.entries.clear()
    this.inflight.clear()
    this.generation++
  }
}
