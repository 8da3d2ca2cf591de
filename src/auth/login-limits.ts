// Failed logins, counted in memory per process (as @fastify/rate-limit counts), in fixed windows.
// Two limits, each stopping one attack without locking out the people around it:
// - per account: after `maxFailures` failed logins for one account within the window, every
//   login for that account waits for the window's end, the right password included (otherwise a
//   guesser would learn when it found the password). Guesses from many addresses count together.
// - per address: an address that failed on `maxAccounts` different accounts within the window
//   (one guess each at many accounts: password spraying) waits for the window's end. Failures on
//   one account do not count against the address, so a colleague behind the same address who
//   mistyped their own password ten times does not lock the admin out.
// Successful logins count against neither. A success clears its account's failures.

export interface LoginLimitsOptions {
  maxFailures: number
  maxAccounts: number
  windowMs: number
  now: () => number
  /** Bound on the entries kept per map, so a spray over millions of names cannot grow memory. */
  maxEntries?: number
}

export interface LoginRefusal { scope: 'account' | 'address'; retryAfterSeconds: number }

interface Window { resetAt: number; failures: number; accounts: Set<string> }

export function createLoginLimits (opts: LoginLimitsOptions) {
  const maxEntries = opts.maxEntries ?? 100_000
  const accounts = new Map<string, Window>()
  const addresses = new Map<string, Window>()
  // Logins of an account being checked now: they count as failures until they end, so guesses
  // sent all at once cannot all pass `check` before the first failure is recorded.
  const inFlight = new Map<string, number>()

  function current (map: Map<string, Window>, key: string, create: boolean): Window | undefined {
    const now = opts.now()
    let w = map.get(key)
    if (w !== undefined && w.resetAt <= now) {
      map.delete(key)
      w = undefined
    }
    if (w === undefined && create) {
      // Maps iterate in insertion order: the first entry is the oldest window.
      if (map.size >= maxEntries) map.delete(map.keys().next().value as string)
      w = { resetAt: now + opts.windowMs, failures: 0, accounts: new Set() }
      map.set(key, w)
    }
    return w
  }

  const seconds = (w: Window) => Math.max(1, Math.ceil((w.resetAt - opts.now()) / 1000))

  return {
    /** Why this login must wait, or undefined when it may be tried. */
    check (account: string, address: string): LoginRefusal | undefined {
      const a = current(accounts, account, false)
      const pending = inFlight.get(account) ?? 0
      if ((a?.failures ?? 0) + pending >= opts.maxFailures) return { scope: 'account', retryAfterSeconds: a !== undefined ? seconds(a) : 1 }
      const ip = current(addresses, address, false)
      if (ip !== undefined && ip.accounts.size >= opts.maxAccounts) return { scope: 'address', retryAfterSeconds: seconds(ip) }
      return undefined
    },
    /** A login of `account` passed `check` and is being verified; `ended` must follow. */
    started (account: string): void {
      inFlight.set(account, (inFlight.get(account) ?? 0) + 1)
    },
    ended (account: string): void {
      const n = (inFlight.get(account) ?? 1) - 1
      if (n <= 0) inFlight.delete(account)
      else inFlight.set(account, n)
    },
    failed (account: string, address: string): void {
      current(accounts, account, true)!.failures++
      current(addresses, address, true)!.accounts.add(account)
    },
    succeeded (account: string): void {
      accounts.delete(account)
    }
  }
}

export type LoginLimits = ReturnType<typeof createLoginLimits>
