// Conditional requests: on versioned resources (features, segments) the ETag is the version and
// If-Match names the version a change was computed from; on cacheable reads (OFREP bulk, the
// SDK sync) If-None-Match revalidates.
import { badRequest, preconditionRequired } from './domain/errors.js'

/**
 * Changing or deleting existing state requires If-Match (DESIGN.md §4): a client can only replace
 * what it has seen. `*` is the explicit "overwrite whatever is there" (still audited). Missing → 428.
 */
export function requireIfMatch (header: string | undefined, resource: string): number | undefined {
  if (header === undefined || header.trim() === '') {
    throw preconditionRequired(`If-Match is required to change ${resource}: send the ETag of your last read (or If-Match: * to overwrite unconditionally)`)
  }
  return parseIfMatch(header)
}

/** Parse an If-Match header: `"7"`, `W/"7"` or `7`; `*` means any version. */
export function parseIfMatch (header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header)
  if (m === null) throw badRequest('If-Match must be an ETag returned by GET /features/{flag}, e.g. "3"', [{ path: '/headers/if-match', message: 'not a version ETag' }])
  return Number(m[1])
}

export const etag = (version: number) => `"${version}"`

/**
 * Does an If-None-Match header name this ETag? Weak comparison, as RFC 9110 §13.1.2 requires for
 * If-None-Match: `W/"x"` names `"x"`; `*` names any current representation.
 */
export function ifNoneMatchMatches (header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header === etag) return true
  const opaque = (t: string) => t.trim().replace(/^W\//, '')
  const wanted = opaque(etag)
  return (Array.isArray(header) ? header : [header]).some((h) => h.split(',').some((t) => t.trim() === '*' || opaque(t) === wanted))
}
