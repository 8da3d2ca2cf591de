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
import { compileRegex, validateRegex } from './regex-safety.js'
import { INHERITED_NAMES, attributeGetter, hasOwn, parseInstant, parseNumber, parseSemverMemo, toStringForm } from './values.js'

export type ClauseMatcher = (ctx: EvaluationContext) => boolean
type ValueTest = (v: unknown) => boolean

const OPERATOR_SET: ReadonlySet<string> = new Set(OPERATORS)

export function isOperator (op: unknown): op is Operator {
  return typeof op === 'string' && OPERATOR_SET.has(op)
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
export function compileValueTest (operator: Operator, values: readonly unknown[], ci: boolean): ValueTest {
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

export function lookupSegment (segments: Record<string, SegmentDefinition> | undefined, key: unknown): SegmentDefinition | undefined {
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
