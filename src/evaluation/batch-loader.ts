// Coalesces point reads into batch reads (the evaluator's flag definitions → BatchGetItem).
//
// Why: through the AWS SDK v3 a GetItem costs the calling process 1.4–3.1 ms of CPU (signing, the
// middleware stack, parsing), whatever the item; a BatchGetItem of 10 keys costs 0.3–0.53 ms per
// key and one of 100 keys 0.12–0.18 ms (`npm run bench:reads`, docs/PERFORMANCE.md §1). A
// service keeping a few hundred flags fresh spends a large share of its CPU on those reads.
//
// Keys are queued per group (e.g. environment + read consistency) and read together:
//  - an urgent key (a miss a request waits for) flushes its group on the next turn of the event
//    loop (setImmediate), taking every key queued by then along;
//  - a deferred key (a refresh ahead, which has time) waits up to `deferMs` for company, unless
//    someone starts waiting for it (`expedite`: an entry that expired meanwhile);
//  - a group reaching `maxBatch` keys is flushed at once.
// A key already queued shares the queued read. A read starts after its key was queued, so it sees
// every write committed before the load was asked for: batching never makes a value older.
export interface BatchLoaderOptions<V> {
  /** Reads `keys` (at most `maxBatch`, distinct) of `group`; a key absent from the result has no value. */
  read: (group: string, keys: string[]) => Promise<Map<string, V>>
  maxBatch: number
  /** How long a deferred key may wait for others before its group is read (ms). */
  deferMs: number
}

interface Waiter<V> { resolve: (v: V | undefined) => void; reject: (err: unknown) => void; promise: Promise<V | undefined> }
interface Queue<V> { waiters: Map<string, Waiter<V>>; timer?: NodeJS.Timeout; immediate?: NodeJS.Immediate }

export class BatchLoader<V> {
  private readonly queues = new Map<string, Queue<V>>()
  private batches = 0
  private keys = 0
  constructor (private readonly opts: BatchLoaderOptions<V>) {}

  /** The value of `key` in `group` (undefined: none), read with whatever else is queued for `group`. */
  load (group: string, key: string, urgent: boolean): Promise<V | undefined> {
    let q = this.queues.get(group)
    if (q === undefined) this.queues.set(group, q = { waiters: new Map() })
    let w = q.waiters.get(key)
    if (w === undefined) {
      let resolve!: Waiter<V>['resolve']
      let reject!: Waiter<V>['reject']
      const promise = new Promise<V | undefined>((_resolve, _reject) => { resolve = _resolve; reject = _reject })
      q.waiters.set(key, w = { resolve, reject, promise })
    }
    if (q.waiters.size >= this.opts.maxBatch) {
      this.flush(group, q)
    } else if (urgent || this.opts.deferMs <= 0) {
      if (q.immediate === undefined) q.immediate = setImmediate(() => this.flush(group, q))
    } else if (q.timer === undefined && q.immediate === undefined) {
      q.timer = setTimeout(() => this.flush(group, q), this.opts.deferMs)
    }
    return w.promise
  }

  /**
   * Someone is now waiting for `key`: if it is queued for later (a deferred refresh), read its
   * group on the next turn instead. Whether a key is queued at all is the caller's business.
   */
  expedite (group: string, key: string): void {
    const q = this.queues.get(group)
    if (q === undefined || !q.waiters.has(key) || q.immediate !== undefined) return
    q.immediate = setImmediate(() => this.flush(group, q))
  }

  /** Batch reads made and keys read through them, since the start. */
  stats (): { batches: number; keys: number } {
    return { batches: this.batches, keys: this.keys }
  }

  private flush (group: string, q: Queue<V>): void {
    if (this.queues.get(group) !== q) return // already flushed
    this.queues.delete(group)
    clearTimeout(q.timer)
    if (q.immediate !== undefined) clearImmediate(q.immediate)
    const waiters = q.waiters
    this.batches++
    this.keys += waiters.size
    this.opts.read(group, [...waiters.keys()]).then((values) => {
      for (const [key, w] of waiters) w.resolve(values.get(key))
    }, (err: unknown) => {
      for (const w of waiters.values()) w.reject(err)
    })
  }
}
