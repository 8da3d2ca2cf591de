// Turns request bodies into the stored targeting model, filling the defaults of the original
// boolean on/off shape.
import { badRequest, preconditionRequired } from '../domain/errors.js'
import type { EnvTargeting, FlagType } from '../domain/model.js'
import type { EnvConfigBody } from './features.js'

export const ENABLE_AT_ID = 'enable-at'

export function toTargeting (body: EnvConfigBody | boolean, type: FlagType, path: string): EnvTargeting {
  const b: EnvConfigBody = typeof body === 'boolean' ? { enabled: body } : body
  const boolean = type === 'boolean'
  if (b.offVariant === undefined && !boolean) throw badRequest(`${path}/offVariant is required for ${type} flags`, [{ path: `${path}/offVariant`, message: 'required for non-boolean flags' }])
  if (b.defaultServe === undefined && !boolean) throw badRequest(`${path}/defaultServe is required for ${type} flags`, [{ path: `${path}/defaultServe`, message: 'required for non-boolean flags' }])
  let schedule = b.schedule ?? []
  if (b.enableAt !== undefined) {
    schedule = schedule.filter((s) => s.id !== ENABLE_AT_ID)
    if (b.enableAt !== null) schedule.push({ id: ENABLE_AT_ID, at: b.enableAt, change: { enabled: true } })
  }
  return {
    enabled: b.enabled,
    offVariant: b.offVariant ?? 'off',
    defaultServe: b.defaultServe ?? { variant: 'on' },
    targets: b.targets ?? [],
    rules: b.rules ?? [],
    prerequisites: b.prerequisites ?? [],
    schedule
  }
}

/** The original system's `enableAt`, read back from the schedule. */
export function enableAtOf (t: Pick<EnvTargeting, 'schedule'>): string | null {
  return t.schedule.find((s) => s.id === ENABLE_AT_ID)?.at ?? null
}

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
