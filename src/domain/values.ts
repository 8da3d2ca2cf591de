// Values as clause operators see them: attribute lookup in an evaluation context, and the
// conversions (string form, number, instant, SemVer) shared by evaluation and write-time checks.
// The lookup rules are described at the top of operators.ts.
import type { EvaluationContext } from './model.js'
import { parseSemver, type SemVer } from './semver.js'

export type AttributeGetter = (ctx: EvaluationContext) => unknown

export const hasOwn = Object.prototype.hasOwnProperty

// Names a plain object inherits; reading them needs an own-property check.
export const INHERITED_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype))

function walkPath (root: unknown, parts: readonly string[]): unknown {
  let cur = root
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    if (!hasOwn.call(cur, parts[i])) return undefined
    cur = (cur as Record<string, unknown>)[parts[i]]
  }
  return cur
}

/** A fast reader for one attribute name (see the module comment for the lookup rules). */
export function attributeGetter (name: string): AttributeGetter {
  const guarded = INHERITED_NAMES.has(name)
  const parts = name.includes('.') ? name.split('.') : null
  if (parts === null) {
    return guarded
      ? (ctx) => (hasOwn.call(ctx, name) ? ctx[name] : undefined)
      : (ctx) => ctx[name]
  }
  return (ctx) => {
    const v = guarded ? (hasOwn.call(ctx, name) ? ctx[name] : undefined) : ctx[name]
    return v !== undefined ? v : walkPath(ctx, parts)
  }
}

export function getAttribute (ctx: EvaluationContext, name: string): unknown {
  if (hasOwn.call(ctx, name)) return ctx[name]
  return name.includes('.') ? walkPath(ctx, name.split('.')) : undefined
}

/** The string form used by string operators; undefined when the value has none. */
export function toStringForm (v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  return undefined
}

const NUMERIC_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** A finite number or a decimal numeric string → number; anything else → NaN. */
export function parseNumber (v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN
  if (typeof v === 'string' && v.length <= 64 && NUMERIC_RE.test(v)) {
    const n = Number(v)
    return Number.isFinite(n) ? n : NaN
  }
  return NaN
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/
const EPOCH_RE = /^-?\d{1,16}$/
const MS_PER_DAY = 86_400_000

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil (y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

function daysInMonth (y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31
}

/** Parse an ISO 8601 date-time with offset → epoch ms; NaN when invalid. */
export function parseIsoDateTime (s: string): number {
  const m = ISO_RE.exec(s)
  if (m === null) return NaN
  const y = +m[1]; const mo = +m[2]; const d = +m[3]
  const h = +m[4]; const mi = +m[5]; const sec = m[6] === undefined ? 0 : +m[6]
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) return NaN
  const ms = m[7] === undefined ? 0 : Math.floor(Number('0.' + m[7]) * 1000 + 1e-7)
  let offset = 0
  if (m[8] === undefined) {
    const oh = +m[10]; const om = +m[11]
    if (oh > 23 || om > 59) return NaN
    offset = (oh * 60 + om) * 60_000 * (m[9] === '-' ? -1 : 1)
  }
  return daysFromCivil(y, mo, d) * MS_PER_DAY + ((h * 60 + mi) * 60 + sec) * 1000 + ms - offset
}

/** An instant: epoch ms (number or digit string) or ISO 8601 date-time with offset; NaN otherwise. */
export function parseInstant (v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN
  if (typeof v !== 'string' || v.length > 64) return NaN
  if (EPOCH_RE.test(v)) return Number(v)
  return parseIsoDateTime(v)
}

// Context values are parsed on every evaluation; a small bounded memo keeps repeated versions
// (every user of one app version sends the same string) from being re-parsed.
const semverMemo = new Map<string, SemVer | null>()
export function parseSemverMemo (v: unknown): SemVer | null {
  if (typeof v !== 'string') return null
  let r = semverMemo.get(v)
  if (r === undefined) {
    r = parseSemver(v)
    if (semverMemo.size >= 4096) semverMemo.clear()
    semverMemo.set(v, r)
  }
  return r
}
