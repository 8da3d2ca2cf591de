// The one way tests wait: poll a condition with a deadline (CONVENTIONS.md §12: no sleeps as
// synchronization). Kept apart from helper.ts so tests that do not build the app can use it cheaply.

/** Poll until `check` returns a truthy value or the deadline passes (no sleeps as synchronization). */
export async function eventually<T> (check: () => Promise<T | undefined | false | null>, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== false && v !== null) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last !== undefined ? `: ${String(last)}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 50))
  }
}
