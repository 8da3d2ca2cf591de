/**
 * Clause operators: how one clause of a rule or segment is matched against an evaluation context.
 *
 * Semantics (also the reference for docs):
 * - Attribute lookup: the clause's `attribute` is read as an own top-level key of the context
 *   (`targetingKey` is just such a key). When that key is absent and the name contains dots,
 *   it is read as a path into nested plain objects (`"user.plan"` → `context.user.plan`); a key
 *   literally named `"user.plan"` wins over the path. Paths do not index into arrays. Inherited
 *   properties (`constructor`, `__proto__`, …) are never read.
 * - A missing attribute (absent, `undefined` or `null`) never matches — before `negate`, so a
 *   negated clause on a missing attribute DOES match: "country not in [FR]" includes contexts
 *   without a country (some products make such a clause false either way; we keep negate a plain
 *   inversion so that a rule and its negation always split the contexts in two). Add an `exists`
 *   clause to require presence. `exists` is unaffected: it matches a present non-null attribute,
 *   negated `exists` matches a missing one.
 * - The clause matches when ANY of `values` matches the attribute; when the attribute is an
 *   array, when any element matches any value. An empty `values` list never matches.
 * - `negate` inverts the final result of the clause.
 * - String operators (in, contains, startsWith, endsWith, matches) compare string forms:
 *   strings as they are, finite numbers via `String(n)` and booleans as "true"/"false"; objects
 *   never match. So `in ["30"]` matches the attribute 30 and `in [true]` matches "true".
 *   `caseInsensitive` lower-cases both sides (`toLowerCase`); for `matches` it sets the `i` flag
 *   instead (lower-casing a pattern would turn `\D` into `\d`). Other operators ignore it.
 * - `matches`: a JavaScript RegExp with the `u` flag, unanchored (`test` semantics; use ^ and $).
 *   Patterns are validated at write time by `validateRegex` (≤ 256 characters, no backreferences,
 *   no nested repetition, no overlapping alternation under repetition); a pattern that fails
 *   validation never matches at evaluation time either, so an unsafe regex cannot reach `test`.
 * - Numeric (lt, lte, gt, gte, eq): finite numbers and decimal numeric strings ("10", "-1.5",
 *   "2e3"; no whitespace, hex, "Infinity" or empty string). Anything else never matches.
 * - before / after: instants. An ISO 8601 date-time WITH an offset (`Z`, `+02:00`, `+0200`) or
 *   epoch milliseconds (a number or a string of digits). A date-time without offset, or a bare
 *   date, is ambiguous and never matches. Comparison is strict (`before` is `<`).
 * - semverEq/Lt/Lte/Gt/Gte: SemVer 2.0 precedence (see semver.ts: no leading "v", build
 *   metadata ignored); an invalid version never matches.
 * - exists: `values` are ignored.
 * - segmentMatch: `values` are segment keys and `attribute` is ignored; the context matches when
 *   it is in ANY of the segments: targetingKey in `included` → in, in `excluded` → out, otherwise
 *   in when any segment rule has all its clauses matching. A segment missing from the snapshot
 *   matches nobody. Segments cannot reference segments (validateSegment rejects it; at
 *   evaluation such a clause matches nobody).
 */
import type { Clause, EvaluationContext, Operator, SegmentDefinition } from './model.js'
import { OPERATORS } from './constants.js'
import { compareSemver, parseSemver, type SemVer } from './semver.js'

export type ClauseMatcher = (ctx: EvaluationContext) => boolean
export type AttributeGetter = (ctx: EvaluationContext) => unknown
type ValueTest = (v: unknown) => boolean

const hasOwn = Object.prototype.hasOwnProperty
const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS)

export function isOperator (op: unknown): op is Operator {
  return typeof op === 'string' && OPERATOR_SET.has(op)
}

// ---------------------------------------------------------------------------------------------
// Attribute lookup

// Names a plain object inherits; reading them needs an own-property check.
const INHERITED_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype))

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

// ---------------------------------------------------------------------------------------------
// Value conversions (shared with write-time validation)

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
function parseSemverMemo (v: unknown): SemVer | null {
  if (typeof v !== 'string') return null
  let r = semverMemo.get(v)
  if (r === undefined) {
    r = parseSemver(v)
    if (semverMemo.size >= 4096) semverMemo.clear()
    semverMemo.set(v, r)
  }
  return r
}

// ---------------------------------------------------------------------------------------------
// Regular expressions

export const REGEX_MAX_LENGTH = 256

interface Quant { min: number; max: number } // max = Infinity when unbounded

/**
 * Why a `matches` pattern is refused, or null when it is accepted.
 *
 * Refused: longer than 256 characters; not a valid JavaScript RegExp with the `u` flag;
 * backreferences (`\1`, `\k<name>`); a repeated group (`*`, `+`, `{n,}`, `{n,m}` with m > 1)
 * containing another repetition — `(a+)+`, `(a*)*`, `(\d{1,3}\.){3}` too (write it out instead);
 * a repeated group whose alternatives may start with the same character — `(a|a)*`, `(a|ab)+`,
 * `(\w|-)+`. This is a conservative "star height" check in the spirit of safe-regex: it refuses
 * some harmless patterns so that no exponential-backtracking pattern gets through. Polynomial
 * patterns such as `.*a.*b` are accepted.
 */
export function validateRegex (pattern: unknown): string | null {
  if (typeof pattern !== 'string') return 'pattern must be a string'
  if (pattern.length > REGEX_MAX_LENGTH) return `pattern is longer than ${REGEX_MAX_LENGTH} characters`
  try {
    RegExp(pattern, 'u')
  } catch (err) {
    return `invalid regular expression: ${(err as Error).message}`
  }
  return checkBacktracking(pattern)
}

interface GroupFrame {
  /** Some repetition (max > 1) occurs inside this group. */
  repeats: boolean
  /** First-character key of each alternative: a lower-cased literal, '*' for "anything", '' for empty. */
  firsts: string[]
  current: string | null // first key of the alternative being read; null = nothing consumed yet
}
interface Atom {
  group: GroupFrame | null
  /** The atom is the first one of its alternative (it decided the alternative's first key). */
  first: boolean
}

function overlappingAlternatives (firsts: readonly string[]): boolean {
  if (firsts.length < 2) return false
  const seen = new Set<string>()
  for (const f of firsts) {
    if (f === '*' || f === '' || seen.has(f)) return true
    seen.add(f)
  }
  return false
}

// Runs on a syntactically valid `u` pattern, so quantifiers and classes are well formed.
function checkBacktracking (p: string): string | null {
  const stack: GroupFrame[] = [{ repeats: false, firsts: [], current: null }]
  let last: Atom | null = null
  const consumed = (key: string): boolean => {
    const top = stack[stack.length - 1]
    if (top.current !== null) return false
    top.current = key
    return true
  }
  let i = 0
  while (i < p.length) {
    const c = p[i]
    if (c === '\\') {
      const n = p[i + 1]
      if (n >= '1' && n <= '9') return 'backreferences are not allowed'
      if (n === 'k' && p[i + 2] === '<') return 'backreferences are not allowed'
      if (n === 'b' || n === 'B') { i += 2; last = null; continue } // assertions consume nothing
      let j = i + 2
      if (n === 'p' || n === 'P' || (n === 'u' && p[j] === '{')) j = p.indexOf('}', j) + 1
      else if (n === 'u') j += 4
      else if (n === 'x') j += 2
      else if (n === 'c') j += 1
      // An escaped syntax character is that literal character; classes (\d, \w, …) are "anything".
      last = { group: null, first: consumed(/[A-Za-z0-9]/.test(n) ? '*' : n) }
      i = j
      continue
    }
    if (c === '[') {
      // In JavaScript a `]` right after `[` or `[^` closes the class (`[]` matches nothing).
      let j = i + 1
      if (p[j] === '^') j++
      while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1
      last = { group: null, first: consumed('*') }
      i = j + 1
      continue
    }
    if (c === '(') {
      let j = i + 1
      if (p[j] === '?') {
        if (p[j + 1] === ':' || p[j + 1] === '=' || p[j + 1] === '!') j += 2
        else if (p[j + 1] === '<' && (p[j + 2] === '=' || p[j + 2] === '!')) j += 3
        else if (p[j + 1] === '<') j = p.indexOf('>', j) + 1
      }
      stack.push({ repeats: false, firsts: [], current: null })
      last = null
      i = j
      continue
    }
    if (c === ')') {
      const g = stack.pop() as GroupFrame
      g.firsts.push(g.current ?? '')
      const parent = stack[stack.length - 1]
      if (g.repeats) parent.repeats = true
      const first = g.firsts.length === 1 ? g.firsts[0] : '*'
      last = { group: g, first: first !== '' && consumed(first) }
      i++
      continue
    }
    if (c === '|') {
      const top = stack[stack.length - 1]
      top.firsts.push(top.current ?? '')
      top.current = null
      last = null
      i++
      continue
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      let q: Quant
      if (c === '*') q = { min: 0, max: Infinity }
      else if (c === '+') q = { min: 1, max: Infinity }
      else if (c === '?') q = { min: 0, max: 1 }
      else {
        const end = p.indexOf('}', i)
        const [lo, hi] = p.slice(i + 1, end).split(',')
        q = { min: Number(lo), max: hi === undefined ? Number(lo) : hi === '' ? Infinity : Number(hi) }
        i = end
      }
      i++
      if (p[i] === '?') i++ // lazy quantifier: same backtracking space
      // An optional first atom means the alternative may start with whatever follows it.
      if (q.min === 0 && last?.first === true) stack[stack.length - 1].current = '*'
      if (q.max > 1) {
        const g = last?.group
        if (g != null) {
          if (g.repeats) return 'nested quantifiers (a repeated group containing a repetition, like (a+)+) are not allowed'
          if (overlappingAlternatives(g.firsts)) return 'a repeated group with alternatives that can match the same text (like (a|a)*) is not allowed'
        }
        stack[stack.length - 1].repeats = true
      }
      last = null
      continue
    }
    if (c === '^' || c === '$') { i++; last = null; continue }
    last = { group: null, first: consumed(c === '.' ? '*' : c.toLowerCase()) }
    i++
  }
  return null
}

const regexCache = new Map<string, RegExp | null>()

/** The compiled (cached) RegExp for a pattern; null when `validateRegex` refuses it. */
export function compileRegex (pattern: string, caseInsensitive = false): RegExp | null {
  const flags = caseInsensitive ? 'iu' : 'u'
  const key = flags + '/' + pattern
  let re = regexCache.get(key)
  if (re === undefined) {
    re = validateRegex(pattern) === null ? new RegExp(pattern, flags) : null
    if (regexCache.size >= 10_000) regexCache.clear()
    regexCache.set(key, re)
  }
  return re
}

// ---------------------------------------------------------------------------------------------
// Write-time checks of clause values

/** Why `value` is not acceptable for `operator`, or null. */
export function clauseValueError (operator: Operator, value: unknown): string | null {
  switch (operator) {
    case 'matches':
      return validateRegex(value)
    case 'lt': case 'lte': case 'gt': case 'gte': case 'eq':
      return Number.isNaN(parseNumber(value)) ? 'not a number (finite number or decimal numeric string)' : null
    case 'before': case 'after':
      return Number.isNaN(parseInstant(value))
        ? 'not an instant (ISO 8601 date-time with offset, e.g. 2024-01-01T00:00:00Z, or epoch milliseconds)'
        : null
    case 'semverEq': case 'semverLt': case 'semverLte': case 'semverGt': case 'semverGte':
      return parseSemver(value) === null ? 'not a SemVer 2.0 version (MAJOR.MINOR.PATCH[-pre][+build], no leading "v")' : null
    case 'segmentMatch':
      return typeof value === 'string' ? null : 'segment keys are strings'
    default:
      return null
  }
}

// ---------------------------------------------------------------------------------------------
// Compilation

function fold (s: string, ci: boolean): string {
  return ci ? s.toLowerCase() : s
}

function stringValues (values: readonly unknown[], ci: boolean): string[] {
  const out: string[] = []
  for (const v of values) {
    const s = toStringForm(v)
    if (s !== undefined) out.push(fold(s, ci))
  }
  return out
}

function numericValues (values: readonly unknown[], parse: (v: unknown) => number): number[] {
  const out: number[] = []
  for (const v of values) {
    const n = parse(v)
    if (!Number.isNaN(n)) out.push(n)
  }
  return out
}

const never: ValueTest = () => false

/**
 * A test of one (non-array, non-null) attribute value against ALL the clause values ("any").
 * Ordered operators keep only the extreme value: `x < any of [a, b]` is `x < max(a, b)`.
 */
function compileValueTest (operator: Operator, values: readonly unknown[], ci: boolean): ValueTest {
  switch (operator) {
    case 'in': {
      const set = new Set(stringValues(values, ci))
      if (set.size === 0) return never
      if (set.size === 1) {
        const only = set.values().next().value as string
        return ci
          ? (v) => { const s = toStringForm(v); return s !== undefined && s.toLowerCase() === only }
          : (v) => (typeof v === 'string' ? v === only : toStringForm(v) === only)
      }
      return ci
        ? (v) => { const s = toStringForm(v); return s !== undefined && set.has(s.toLowerCase()) }
        : (v) => { const s = typeof v === 'string' ? v : toStringForm(v); return s !== undefined && set.has(s) }
    }
    case 'contains':
    case 'startsWith':
    case 'endsWith': {
      const vals = stringValues(values, ci)
      if (vals.length === 0) return never
      const n = vals.length
      const str = (v: unknown): string | undefined => {
        const s = typeof v === 'string' ? v : toStringForm(v)
        return s === undefined || !ci ? s : s.toLowerCase()
      }
      if (operator === 'contains') {
        return (v) => {
          const s = str(v)
          if (s === undefined) return false
          for (let i = 0; i < n; i++) if (s.includes(vals[i])) return true
          return false
        }
      }
      if (operator === 'startsWith') {
        return (v) => {
          const s = str(v)
          if (s === undefined) return false
          for (let i = 0; i < n; i++) if (s.startsWith(vals[i])) return true
          return false
        }
      }
      return (v) => {
        const s = str(v)
        if (s === undefined) return false
        for (let i = 0; i < n; i++) if (s.endsWith(vals[i])) return true
        return false
      }
    }
    case 'matches': {
      const res: RegExp[] = []
      for (const v of values) {
        if (typeof v !== 'string') continue
        const re = compileRegex(v, ci)
        if (re !== null) res.push(re)
      }
      if (res.length === 0) return never
      const n = res.length
      return (v) => {
        const s = typeof v === 'string' ? v : toStringForm(v)
        if (s === undefined) return false
        for (let i = 0; i < n; i++) if (res[i].test(s)) return true
        return false
      }
    }
    case 'lt': case 'lte': case 'gt': case 'gte':
    case 'before': case 'after': {
      const nums = numericValues(values, operator === 'before' || operator === 'after' ? parseInstant : parseNumber)
      if (nums.length === 0) return never
      const parse = operator === 'before' || operator === 'after' ? parseInstant : parseNumber
      const max = Math.max(...nums)
      const min = Math.min(...nums)
      // NaN (a non-numeric attribute) compares false with everything.
      switch (operator) {
        case 'lt': case 'before': return (v) => parse(v) < max
        case 'lte': return (v) => parse(v) <= max
        case 'gt': case 'after': return (v) => parse(v) > min
        default: return (v) => parse(v) >= min
      }
    }
    case 'eq': {
      const nums = numericValues(values, parseNumber)
      if (nums.length === 0) return never
      if (nums.length === 1) { const only = nums[0]; return (v) => parseNumber(v) === only }
      const set = new Set(nums)
      return (v) => set.has(parseNumber(v))
    }
    case 'semverEq': case 'semverLt': case 'semverLte': case 'semverGt': case 'semverGte': {
      const vers: SemVer[] = []
      for (const v of values) { const p = parseSemver(v); if (p !== null) vers.push(p) }
      if (vers.length === 0) return never
      if (operator === 'semverEq') {
        return (v) => {
          const x = parseSemverMemo(v)
          if (x === null) return false
          for (const y of vers) if (compareSemver(x, y) === 0) return true
          return false
        }
      }
      const sorted = vers.slice().sort(compareSemver)
      const min = sorted[0]
      const max = sorted[sorted.length - 1]
      const cmp = (v: unknown, bound: SemVer): number => {
        const x = parseSemverMemo(v)
        return x === null ? NaN : compareSemver(x, bound)
      }
      switch (operator) {
        case 'semverLt': return (v) => cmp(v, max) < 0
        case 'semverLte': return (v) => cmp(v, max) <= 0
        case 'semverGt': return (v) => cmp(v, min) > 0
        default: return (v) => cmp(v, min) >= 0
      }
    }
    default:
      return never // exists and segmentMatch are handled by compileClause; unknown operators never match
  }
}

export type SegmentMatcher = (ctx: EvaluationContext) => boolean

const segmentCache = new WeakMap<SegmentDefinition, SegmentMatcher>()

/** Membership test for one segment (included → in, excluded → out, else any rule matches). */
export function compileSegment (seg: SegmentDefinition): SegmentMatcher {
  let m = segmentCache.get(seg)
  if (m !== undefined) return m
  const included = new Set(seg.included)
  const excluded = new Set(seg.excluded)
  // Segments never reference segments: their segmentMatch clauses are compiled without any.
  const rules = seg.rules.map((r) => r.clauses.map((c) => compileClause(c, undefined)))
  m = (ctx) => {
    const key = ctx.targetingKey
    if (typeof key === 'string') {
      if (included.has(key)) return true
      if (excluded.has(key)) return false
    }
    for (let i = 0; i < rules.length; i++) if (allMatch(rules[i], ctx)) return true
    return false
  }
  segmentCache.set(seg, m)
  return m
}

function allMatch (clauses: ClauseMatcher[], ctx: EvaluationContext): boolean {
  for (let j = 0; j < clauses.length; j++) if (!clauses[j](ctx)) return false
  return true
}

function lookupSegment (segments: Record<string, SegmentDefinition> | undefined, key: unknown): SegmentDefinition | undefined {
  if (segments === undefined || typeof key !== 'string' || !hasOwn.call(segments, key)) return undefined
  return segments[key]
}

/**
 * Compile a clause into a matcher. `segments` is the snapshot used by segmentMatch (undefined:
 * segmentMatch matches nobody). Unknown operators never match (before `negate`).
 */
export function compileClause (clause: Clause, segments: Record<string, SegmentDefinition> | undefined): ClauseMatcher {
  const negate = clause.negate === true
  const values = Array.isArray(clause.values) ? clause.values : []
  if (clause.operator === 'segmentMatch') {
    const segs: SegmentMatcher[] = []
    for (const key of values) {
      const seg = lookupSegment(segments, key)
      if (seg !== undefined) segs.push(compileSegment(seg))
    }
    const n = segs.length
    return (ctx) => {
      let r = false
      for (let i = 0; i < n; i++) if (segs[i](ctx)) { r = true; break }
      return r !== negate
    }
  }
  const name = clause.attribute
  // Plain top-level names are read inline (`ctx[name]`); dotted and inherited names need a getter.
  const get = INHERITED_NAMES.has(name) || name.includes('.') ? attributeGetter(name) : null
  if (clause.operator === 'exists') {
    if (get !== null) return (ctx) => { const v = get(ctx); return (v !== undefined && v !== null) !== negate }
    return (ctx) => { const v = ctx[name]; return (v !== undefined && v !== null) !== negate }
  }
  const ci = clause.caseInsensitive === true
  const test = isOperator(clause.operator) ? compileValueTest(clause.operator, values, ci) : never
  /** The general path: missing attributes, arrays, conversions. */
  const matchValue = (v: unknown): boolean => {
    if (v === undefined || v === null) return negate
    let r: boolean
    if (Array.isArray(v)) {
      r = false
      for (let i = 0; i < v.length; i++) {
        const e = v[i]
        if (e !== undefined && e !== null && test(e)) { r = true; break }
      }
    } else {
      r = test(v)
    }
    return r !== negate
  }
  if (get !== null) return (ctx) => matchValue(get(ctx))
  return (isOperator(clause.operator) && fastClause(clause.operator, values, ci, negate, name, matchValue)) ||
    ((ctx) => matchValue(ctx[name]))
}

/**
 * Specialised matchers for the common case — a top-level attribute holding a plain string or a
 * finite number — that keep everything they need in one closure (fewer objects to touch when
 * thousands of flags are evaluated). Any other attribute value falls back to `slow`, so the
 * semantics are exactly those of the general path (a test checks this).
 */
function fastClause (operator: Operator, values: readonly unknown[], ci: boolean, negate: boolean, name: string, slow: (v: unknown) => boolean): ClauseMatcher | null {
  if (ci) return null
  switch (operator) {
    case 'in': {
      const strs = stringValues(values, false)
      if (strs.length === 1) {
        const only = strs[0]
        return (ctx) => { const v = ctx[name]; return typeof v === 'string' ? (v === only) !== negate : slow(v) }
      }
      if (strs.length === 0) return null
      const set = new Set(strs)
      return (ctx) => { const v = ctx[name]; return typeof v === 'string' ? set.has(v) !== negate : slow(v) }
    }
    case 'startsWith': case 'endsWith': case 'contains': {
      const strs = stringValues(values, false)
      if (strs.length !== 1) return null
      const only = strs[0]
      if (operator === 'startsWith') return (ctx) => { const v = ctx[name]; return typeof v === 'string' ? v.startsWith(only) !== negate : slow(v) }
      if (operator === 'endsWith') return (ctx) => { const v = ctx[name]; return typeof v === 'string' ? v.endsWith(only) !== negate : slow(v) }
      return (ctx) => { const v = ctx[name]; return typeof v === 'string' ? v.includes(only) !== negate : slow(v) }
    }
    case 'lt': case 'lte': case 'gt': case 'gte': case 'eq': {
      const nums = numericValues(values, parseNumber)
      if (nums.length === 0 || (operator === 'eq' && nums.length !== 1)) return null
      const max = Math.max(...nums)
      const min = Math.min(...nums)
      const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
      switch (operator) {
        case 'lt': return (ctx) => { const v = ctx[name]; return isNum(v) ? (v < max) !== negate : slow(v) }
        case 'lte': return (ctx) => { const v = ctx[name]; return isNum(v) ? (v <= max) !== negate : slow(v) }
        case 'gt': return (ctx) => { const v = ctx[name]; return isNum(v) ? (v > min) !== negate : slow(v) }
        case 'gte': return (ctx) => { const v = ctx[name]; return isNum(v) ? (v >= min) !== negate : slow(v) }
        default: return (ctx) => { const v = ctx[name]; return isNum(v) ? (v === min) !== negate : slow(v) }
      }
    }
    default:
      return null
  }
}

const clauseCache = new WeakMap<Clause, ClauseMatcher>()

/** Match one clause (compiled once per clause object when it does not depend on segments). */
export function matchClause (clause: Clause, ctx: EvaluationContext, segments?: Record<string, SegmentDefinition>): boolean {
  if (clause.operator === 'segmentMatch') return compileClause(clause, segments)(ctx)
  let m = clauseCache.get(clause)
  if (m === undefined) {
    m = compileClause(clause, undefined)
    clauseCache.set(clause, m)
  }
  return m(ctx)
}

// ---------------------------------------------------------------------------------------------
// Explanations (slow path, for `explain`)

export interface ClauseExplanation {
  attribute: string
  operator: string
  values: unknown[]
  negate: boolean
  caseInsensitive: boolean
  /** The attribute value read from the context (undefined when missing; not read for segmentMatch). */
  attributeValue?: unknown
  matched: boolean
  why: string
}

function show (v: unknown): string {
  try {
    const s = JSON.stringify(v)
    if (s === undefined) return String(v)
    return s.length > 80 ? s.slice(0, 77) + '...' : s
  } catch {
    return String(v)
  }
}

function segmentWhy (seg: SegmentDefinition, ctx: EvaluationContext): string {
  const key = ctx.targetingKey
  if (typeof key === 'string') {
    if (seg.included.includes(key)) return `in segment "${seg.key}" (targetingKey included)`
    if (seg.excluded.includes(key)) return `not in segment "${seg.key}" (targetingKey excluded)`
  }
  for (let i = 0; i < seg.rules.length; i++) {
    if (seg.rules[i].clauses.every((c) => matchClause(c, ctx, undefined))) return `in segment "${seg.key}" (rule ${i} matched)`
  }
  return `not in segment "${seg.key}" (no rule matched)`
}

/** The clause result (from the same compiled matcher evaluate uses) plus a human reason. */
export function explainClause (clause: Clause, ctx: EvaluationContext, segments: Record<string, SegmentDefinition> | undefined, matcher?: ClauseMatcher): ClauseExplanation {
  const matched = (matcher ?? compileClause(clause, segments))(ctx)
  const negate = clause.negate === true
  const values = Array.isArray(clause.values) ? clause.values : []
  const base = {
    attribute: clause.attribute,
    operator: clause.operator,
    values,
    negate,
    caseInsensitive: clause.caseInsensitive === true,
    matched
  }
  const negNote = negate ? `; negated → ${matched ? 'matches' : 'does not match'}` : ''
  if (!isOperator(clause.operator)) return { ...base, why: `unknown operator "${String(clause.operator)}" never matches${negNote}` }
  if (clause.operator === 'segmentMatch') {
    const parts = values.map((key) => {
      const seg = lookupSegment(segments, key)
      return seg === undefined ? `segment ${show(key)} not found` : segmentWhy(seg, ctx)
    })
    return { ...base, why: (parts.length === 0 ? 'no segments listed' : parts.join('; ')) + negNote }
  }
  const attributeValue = getAttribute(ctx, clause.attribute)
  if (clause.operator === 'exists') {
    const present = attributeValue !== undefined && attributeValue !== null
    return { ...base, attributeValue, why: `attribute "${clause.attribute}" is ${present ? 'present' : 'missing'}${negNote}` }
  }
  if (attributeValue === undefined || attributeValue === null) {
    return { ...base, attributeValue, why: `attribute "${clause.attribute}" is missing: never matches${negNote}` }
  }
  const elements = Array.isArray(attributeValue) ? attributeValue : [attributeValue]
  const ci = clause.caseInsensitive === true
  for (const value of values) {
    const test = compileValueTest(clause.operator, [value], ci)
    const hit = elements.find((e) => e !== undefined && e !== null && test(e))
    if (hit !== undefined) {
      return { ...base, attributeValue, why: `${show(hit)} ${clause.operator} ${show(value)}${negNote}` }
    }
  }
  let note = ''
  const op = clause.operator
  if (op === 'lt' || op === 'lte' || op === 'gt' || op === 'gte' || op === 'eq') {
    if (elements.every((e) => Number.isNaN(parseNumber(e)))) note = ' (attribute is not numeric)'
  } else if (op === 'before' || op === 'after') {
    if (elements.every((e) => Number.isNaN(parseInstant(e)))) note = ' (attribute is not an instant)'
  } else if (op.startsWith('semver')) {
    if (elements.every((e) => parseSemver(e) === null)) note = ' (attribute is not a valid SemVer)'
  } else if (elements.every((e) => toStringForm(e) === undefined)) {
    note = ' (attribute has no string form)'
  }
  return { ...base, attributeValue, why: `${show(attributeValue)} matches none of the values${note}${negNote}` }
}
