// Imported first by the Fastify entry points (api.ts, evaluate.ts), before fastify and pino load.
//
// pino() asks util.getCallSites() for its callers on every logger it creates (to resolve relative
// transport targets). On Node >= 22.12 with --enable-source-maps, which the template sets,
// getCallSites() maps each frame through the source map, and the first lookup parses the bundle's
// whole map: measured at ~100-150 ms of a 1.4 MB bundle's init under Node 22 (docs/DEPLOY.md,
// "Cold start"). pino wants the running files' names, not the TypeScript sources they map to, so
// this makes source mapping opt-in for getCallSites: a caller that passes `sourceMap: true` still
// gets it. Error stacks are untouched: they stay source-mapped, parsed on the first one printed.
// pino keeps the function it found when it loaded, so this must run before pino is imported.
import util from 'node:util'

type GetCallSites = (frames?: number | { sourceMap?: boolean }, options?: { sourceMap?: boolean }) => unknown[]

/** Wraps `target.getCallSites` (when the running Node has it) to default to `sourceMap: false`. */
export function unmappedCallSites (target: { getCallSites?: GetCallSites }): void {
  const original = target.getCallSites
  if (typeof original !== 'function' || (original as { unmapped?: boolean }).unmapped === true) return
  const wrapped: GetCallSites = (frames, options) => typeof frames === 'object'
    ? original.call(target, { sourceMap: false, ...frames })
    : original.call(target, frames, { sourceMap: false, ...options })
  Object.defineProperty(wrapped, 'unmapped', { value: true })
  target.getCallSites = wrapped
}

unmappedCallSites(util as unknown as { getCallSites?: GetCallSites })
