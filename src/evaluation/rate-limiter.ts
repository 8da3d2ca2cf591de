// The evaluation routes' rate limiter: a fixed window per credential (an API key id or a user),
// the same policy and `x-ratelimit-*` headers @fastify/rate-limit gives the other routes, in one
// synchronous call. It is its own small object instead of @fastify/rate-limit's route option
// because it runs on every evaluation: one synchronous hook (plugins/evaluator.ts) shared by the
// REST and OFREP routes, one budget for both. Per process, like every limiter here.

export interface RateLimiterOptions {
  /** Requests per window per key. */
  max: number
  windowMs: number
  /** Bound on tracked keys; expired windows are swept first, then the oldest window goes. */
  maxKeys?: number
  now?: () => number
}

export interface RateLimitState {
  allowed: boolean
  limit: number
  remaining: number
  /** Whole seconds until the window resets (≥ 1): `x-ratelimit-reset` and, when refused, `retry-after`. */
  resetSeconds: number
}

interface Window { count: number; resetAt: number }

export function createRateLimiter (opts: RateLimiterOptions) {
  const now = opts.now ?? Date.now
  const maxKeys = opts.maxKeys ?? 100_000
  const windows = new Map<string, Window>()

  function sweep (t: number): void {
    for (const [k, w] of windows) if (w.resetAt <= t) windows.delete(k)
    // Still full: drop the oldest windows (Map order is insertion order, i.e. window start).
    for (const k of windows.keys()) {
      if (windows.size < maxKeys) break
      windows.delete(k)
    }
  }

  function current (key: string, t: number): Window | undefined {
    const w = windows.get(key)
    return w !== undefined && w.resetAt > t ? w : undefined
  }

  function state (w: Window | undefined, t: number, allowed: boolean): RateLimitState {
    const count = w?.count ?? 0
    return {
      allowed,
      limit: opts.max,
      remaining: Math.max(0, opts.max - count),
      resetSeconds: Math.max(1, Math.ceil(((w?.resetAt ?? t + opts.windowMs) - t) / 1000))
    }
  }

  return {
    /** Count one request for `key`; `allowed` is false once the window's budget is spent. */
    hit (key: string): RateLimitState {
      const t = now()
      let w = current(key, t)
      if (w === undefined) {
        if (windows.size >= maxKeys) sweep(t)
        windows.delete(key)
        w = { count: 0, resetAt: t + opts.windowMs }
        windows.set(key, w)
      }
      if (w.count >= opts.max) return state(w, t, false)
      w.count++
      return state(w, t, true)
    },

    /** Whether the next `hit(key)` would be allowed, without counting it. */
    wouldAllow (key: string): boolean {
      return (current(key, now())?.count ?? 0) < opts.max
    },

    get size (): number { return windows.size }
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>

/** The response headers of a state, as @fastify/rate-limit names them. */
export function rateLimitHeaders (s: RateLimitState): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(s.limit),
    'x-ratelimit-remaining': String(s.remaining),
    'x-ratelimit-reset': String(s.resetSeconds)
  }
  if (!s.allowed) headers['retry-after'] = String(s.resetSeconds)
  return headers
}
