// Change notifications for GET /sdk/v1/stream (long-running server only). Each watched
// environment's revision item is checked at once after every commit through this process that
// bumped it (store.onCommit), and every `pollMs` (default 1 s) to see commits made by other
// processes or instances: either way a subscriber hears of a committed change within a second.
// A provisional ETag that settles (src/sync/snapshots.ts) is announced the same way.
// Timers run only while someone is subscribed, and never keep the process alive.
import type { EnvRevision } from '../repositories/env-revision.js'
import { envOfRevisionKey } from '../repositories/keys.js'

export interface ChangeEvent {
  etag: string
  revision: number
  /** Epoch ms of the change. */
  changedAt: number
  /** Flags the latest change touched (empty when only the ETag settled); providers diff snapshots for the full list. */
  flags: string[]
}

export interface Subscriber {
  change(event: ChangeEvent): void
  heartbeat(etag: string): void
}

export interface ChangeFeedOptions {
  revision(env: string): Promise<{ rev: EnvRevision; etag: string }>
  onCommit(listener: (keys: Array<{ PK: string; SK: string }>) => void): void
  pollMs?: number
  heartbeatMs?: number
  onError?: (err: unknown, env: string) => void
}

interface Watched { subscribers: Set<Subscriber>; etag: string; revision: number; checking: boolean; again: boolean }

export function createChangeFeed (opts: ChangeFeedOptions) {
  const pollMs = opts.pollMs ?? 1_000
  const heartbeatEvery = Math.max(1, Math.round((opts.heartbeatMs ?? 15_000) / pollMs))
  const watched = new Map<string, Watched>()
  let timer: NodeJS.Timeout | undefined
  let ticks = 0

  async function check (env: string): Promise<void> {
    const w = watched.get(env)
    if (w === undefined) return
    if (w.checking) {
      w.again = true
      return
    }
    w.checking = true
    try {
      do {
        w.again = false
        const { rev, etag } = await opts.revision(env)
        if (etag !== w.etag) {
          const event: ChangeEvent = { etag, revision: rev.revision, changedAt: rev.changedAt, flags: rev.revision !== w.revision ? rev.flags : [] }
          w.etag = etag
          w.revision = rev.revision
          for (const s of w.subscribers) s.change(event)
        }
      } while (w.again)
    } catch (err) {
      opts.onError?.(err, env)
    } finally {
      w.checking = false
    }
  }

  function tick (): void {
    ticks++
    for (const [env, w] of watched) {
      void check(env)
      if (ticks % heartbeatEvery === 0) for (const s of w.subscribers) s.heartbeat(w.etag)
    }
  }

  opts.onCommit(function notifyCommitted (keys) {
    for (const k of keys) {
      const env = envOfRevisionKey(k)
      if (env !== undefined && watched.has(env)) void check(env)
    }
  })

  return {
    /** Watch `env` from `current` (what the subscriber was told on connect); returns the unsubscribe. */
    subscribe (env: string, current: { etag: string; revision: number }, subscriber: Subscriber): () => void {
      let w = watched.get(env)
      if (w === undefined) watched.set(env, w = { subscribers: new Set(), etag: current.etag, revision: current.revision, checking: false, again: false })
      w.subscribers.add(subscriber)
      if (timer === undefined) {
        timer = setInterval(tick, pollMs)
        timer.unref()
      }
      // A change committed between the subscriber's read and now is caught here.
      void check(env)
      return function unsubscribe () {
        const x = watched.get(env)
        x?.subscribers.delete(subscriber)
        if (x !== undefined && x.subscribers.size === 0) watched.delete(env)
        if (watched.size === 0 && timer !== undefined) {
          clearInterval(timer)
          timer = undefined
        }
      }
    },

    get subscribers (): number {
      let n = 0
      for (const w of watched.values()) n += w.subscribers.size
      return n
    },

    close (): void {
      watched.clear()
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    }
  }
}

export type ChangeFeed = ReturnType<typeof createChangeFeed>
