/**
 * Write-time validation of flags and segments: everything the JSON schema cannot say (references
 * between parts, operator-specific values, unsafe regexes, prerequisite cycles). Errors carry
 * JSON-pointer paths into the input, e.g. `/environments/prod/rules/0/clauses/1/values/0`.
 * The engine stays defensive anyway (see evaluate.ts), but a flag that passes here never makes it
 * report ERROR/GENERAL.
 */
import type { Clause, FlagType, Rule, SegmentDefinition, Serve } from './model.js'
import { ROLLOUT_TOTAL } from './model.js'
import type { FlagDraft } from './flag-input.js'
import { clauseValueError, isOperator } from './operators.js'
import { parseIsoDateTime } from './values.js'
import type { FieldError } from './errors.js'

/** A flag to check: a draft with its type's defaults filled in (withFlagDefaults). */
export type FlagInput = FlagDraft

export interface ValidationContext {
  segmentExists: (key: string) => boolean
  /** Variant keys of another flag (for prerequisites); undefined when that flag does not exist. */
  flagVariants: (flagKey: string) => string[] | undefined
  /** Flags that `flagKey` depends on (any environment), for cycle detection. */
  prerequisiteEdges?: (flagKey: string) => string[]
}

/** Escape one JSON-pointer reference token (RFC 6901). */
export function pointerToken (s: string | number): string {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1')
}

/**
 * Nesting allowed inside a json variant value. DynamoDB refuses documents nested deeper than 32
 * levels, and a value sits 5 levels down in the outbox item (event.after.variants[i].value).
 */
export const MAX_JSON_VALUE_DEPTH = 20

/**
 * Why a number cannot be stored as given, or null. DynamoDB refuses magnitudes under 1e-130, and
 * the SDK refuses (on write) and cannot read back (as a number) integers beyond 2^53 - 1; such a
 * value would otherwise fail at commit as a 500, or make the flag unreadable.
 */
export function storableNumberError (n: number): string | null {
  if (!Number.isFinite(n)) return 'must be a finite number'
  if (n !== 0 && (Math.abs(n) < 1e-130 || Math.abs(n) > Number.MAX_SAFE_INTEGER)) {
    return `${n} cannot be stored exactly: use 0 or a magnitude between 1e-130 and ${Number.MAX_SAFE_INTEGER}`
  }
  return null
}

function isJsonValue (v: unknown, depth = 0): boolean {
  if (depth > MAX_JSON_VALUE_DEPTH) return false
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true
  if (typeof v === 'number') return storableNumberError(v) === null
  if (Array.isArray(v)) return v.every((e) => isJsonValue(e, depth + 1))
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) return false
    return Object.values(v as Record<string, unknown>).every((e) => isJsonValue(e, depth + 1))
  }
  return false
}

/** Why `value` cannot be a variant value of a flag of `type`, or null. */
export function variantValueError (type: FlagType, value: unknown): string | null {
  switch (type) {
    case 'boolean': return typeof value === 'boolean' ? null : 'must be a boolean (flag type boolean)'
    case 'string': return typeof value === 'string' ? null : 'must be a string (flag type string)'
    case 'number': return typeof value !== 'number' ? 'must be a finite number (flag type number)' : storableNumberError(value)
    case 'json': return value !== undefined && isJsonValue(value) ? null : `must be a JSON value (flag type json), nested at most ${MAX_JSON_VALUE_DEPTH} levels, its numbers 0 or of magnitude 1e-130 to 2^53 - 1`
    default: return `unknown flag type "${String(type)}"`
  }
}

function checkClauses (clauses: unknown, path: string, errors: FieldError[], segmentExists: ((key: string) => boolean) | null): void {
  if (!Array.isArray(clauses)) {
    errors.push({ path, message: 'clauses must be an array' })
    return
  }
  clauses.forEach((clause: Clause, j) => {
    const cp = `${path}/${j}`
    if (clause === null || typeof clause !== 'object') {
      errors.push({ path: cp, message: 'clause must be an object' })
      return
    }
    if (!isOperator(clause.operator)) {
      errors.push({ path: `${cp}/operator`, message: `unknown operator "${String(clause.operator)}"` })
      return
    }
    if (typeof clause.attribute !== 'string' || clause.attribute === '') {
      if (clause.operator !== 'segmentMatch') errors.push({ path: `${cp}/attribute`, message: 'attribute must be a non-empty string' })
    }
    if (clause.operator === 'segmentMatch' && segmentExists === null) {
      errors.push({ path: `${cp}/operator`, message: 'segments cannot reference other segments' })
      return
    }
    if (!Array.isArray(clause.values)) {
      errors.push({ path: `${cp}/values`, message: 'values must be an array' })
      return
    }
    if (clause.operator !== 'exists' && clause.values.length === 0) {
      errors.push({ path: `${cp}/values`, message: `operator "${clause.operator}" needs at least one value (an empty list never matches)` })
    }
    clause.values.forEach((value, k) => {
      const vp = `${cp}/values/${k}`
      const err = (typeof value === 'number' ? storableNumberError(value) : null) ?? clauseValueError(clause.operator, value)
      if (err !== null) errors.push({ path: vp, message: err })
      else if (clause.operator === 'segmentMatch' && segmentExists !== null && !segmentExists(value as string)) {
        errors.push({ path: vp, message: `segment "${String(value)}" does not exist` })
      }
    })
  })
}

function checkServe (serve: Serve | undefined, path: string, variants: ReadonlySet<string>, errors: FieldError[]): void {
  if (serve === null || typeof serve !== 'object') {
    errors.push({ path, message: 'serve must be { variant } or { rollout }' })
    return
  }
  if ('variant' in serve) {
    if (!variants.has(serve.variant)) errors.push({ path: `${path}/variant`, message: `variant "${String(serve.variant)}" does not exist` })
    return
  }
  const rollout = (serve as { rollout?: unknown }).rollout as Extract<Serve, { rollout: unknown }>['rollout'] | undefined
  if (rollout === undefined || rollout === null || !Array.isArray(rollout.variants)) {
    errors.push({ path, message: 'serve must be { variant } or { rollout }' })
    return
  }
  const rp = `${path}/rollout/variants`
  if (rollout.variants.length === 0) errors.push({ path: rp, message: 'a rollout needs at least one variant' })
  let total = 0
  const seen = new Set<string>()
  rollout.variants.forEach((wv, k) => {
    if (!variants.has(wv.variant)) errors.push({ path: `${rp}/${k}/variant`, message: `variant "${String(wv.variant)}" does not exist` })
    else if (seen.has(wv.variant)) errors.push({ path: `${rp}/${k}/variant`, message: `variant "${wv.variant}" appears twice in the rollout` })
    seen.add(wv.variant)
    if (!Number.isInteger(wv.weight) || wv.weight < 0) errors.push({ path: `${rp}/${k}/weight`, message: 'weight must be a non-negative integer' })
    else total += wv.weight
  })
  if (rollout.variants.length > 0 && total !== ROLLOUT_TOTAL) {
    errors.push({ path: rp, message: `weights sum to ${total}; they must sum to exactly ${ROLLOUT_TOTAL} (100%)` })
  }
}

function checkRules (rules: unknown, path: string, variants: ReadonlySet<string>, errors: FieldError[], segmentExists: (key: string) => boolean): void {
  if (!Array.isArray(rules)) {
    errors.push({ path, message: 'rules must be an array' })
    return
  }
  const ids = new Map<string, number>()
  rules.forEach((rule: Rule, i) => {
    const rp = `${path}/${i}`
    const first = ids.get(rule.id)
    if (first !== undefined) errors.push({ path: `${rp}/id`, message: `rule id "${rule.id}" is already used by rule ${first}` })
    else ids.set(rule.id, i)
    checkClauses(rule.clauses, `${rp}/clauses`, errors, segmentExists)
    checkServe(rule.serve, `${rp}/serve`, variants, errors)
  })
}

/** The dependency path from `from` back to `target`, or null (DFS over prerequisite edges). */
function findPath (from: string, target: string, edges: (flagKey: string) => string[]): string[] | null {
  const seen = new Set<string>()
  const stack: Array<{ node: string; path: string[] }> = [{ node: from, path: [from] }]
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: string; path: string[] }
    if (node === target) return path
    if (seen.has(node)) continue
    seen.add(node)
    if (seen.size > 10_000) return null
    for (const next of edges(node)) stack.push({ node: next, path: [...path, next] })
  }
  return null
}

/** All write-time errors of a flag (empty when valid). */
export function validateFlag (input: FlagInput, ctx: ValidationContext): FieldError[] {
  const errors: FieldError[] = []
  const variants = new Set<string>()
  if (input.variants === undefined) {
    errors.push({ path: '/variants', message: `variants are required for ${String(input.type)} flags` })
  } else if (!Array.isArray(input.variants)) {
    errors.push({ path: '/variants', message: 'variants must be an array' })
  } else {
    if (input.variants.length === 0) errors.push({ path: '/variants', message: 'a flag needs at least one variant' })
    input.variants.forEach((v, i) => {
      if (variants.has(v.key)) errors.push({ path: `/variants/${i}/key`, message: `duplicate variant key "${v.key}"` })
      variants.add(v.key)
      const err = variantValueError(input.type, v.value)
      if (err !== null) errors.push({ path: `/variants/${i}/value`, message: err })
    })
  }
  if (!['boolean', 'string', 'number', 'json'].includes(input.type)) {
    errors.push({ path: '/type', message: `unknown flag type "${String(input.type)}"` })
  }

  for (const [env, t] of Object.entries(input.environments ?? {})) {
    const ep = `/environments/${pointerToken(env)}`
    if (t === null || typeof t !== 'object') {
      errors.push({ path: ep, message: 'environment targeting must be an object' })
      continue
    }
    if (t.offVariant === undefined) errors.push({ path: `${ep}/offVariant`, message: `required for ${String(input.type)} flags` })
    else if (!variants.has(t.offVariant)) errors.push({ path: `${ep}/offVariant`, message: `variant "${String(t.offVariant)}" does not exist` })
    if (t.defaultServe === undefined) errors.push({ path: `${ep}/defaultServe`, message: `required for ${String(input.type)} flags` })
    else checkServe(t.defaultServe, `${ep}/defaultServe`, variants, errors)

    const targeted = new Map<string, number>()
    ;(t.targets ?? []).forEach((target, i) => {
      const tp = `${ep}/targets/${i}`
      if (!variants.has(target.variant)) errors.push({ path: `${tp}/variant`, message: `variant "${String(target.variant)}" does not exist` })
      ;(target.values ?? []).forEach((key, j) => {
        const first = targeted.get(key)
        if (first !== undefined) errors.push({ path: `${tp}/values/${j}`, message: `targetingKey "${key}" is already targeted by target ${first}` })
        else targeted.set(key, i)
      })
    })

    checkRules(t.rules ?? [], `${ep}/rules`, variants, errors, ctx.segmentExists)

    const prereqFlags = new Set<string>()
    ;(t.prerequisites ?? []).forEach((p, i) => {
      const pp = `${ep}/prerequisites/${i}`
      if (p.flag === input.name) {
        errors.push({ path: `${pp}/flag`, message: 'a flag cannot be its own prerequisite' })
        return
      }
      if (prereqFlags.has(p.flag)) errors.push({ path: `${pp}/flag`, message: `flag "${p.flag}" is already a prerequisite` })
      prereqFlags.add(p.flag)
      const theirs = ctx.flagVariants(p.flag)
      if (theirs === undefined) {
        errors.push({ path: `${pp}/flag`, message: `flag "${p.flag}" does not exist` })
        return
      }
      if (!theirs.includes(p.variant)) errors.push({ path: `${pp}/variant`, message: `flag "${p.flag}" has no variant "${p.variant}"` })
      if (ctx.prerequisiteEdges !== undefined) {
        const cycle = findPath(p.flag, input.name, ctx.prerequisiteEdges)
        if (cycle !== null) errors.push({ path: `${pp}/flag`, message: `prerequisite cycle: ${[input.name, ...cycle].join(' → ')}` })
      }
    })

    const scheduleIds = new Set<string>()
    ;(t.schedule ?? []).forEach((s, i) => {
      const sp = `${ep}/schedule/${i}`
      if (scheduleIds.has(s.id)) errors.push({ path: `${sp}/id`, message: `scheduled change id "${s.id}" is already used` })
      scheduleIds.add(s.id)
      if (typeof s.at !== 'string' || Number.isNaN(parseIsoDateTime(s.at))) {
        errors.push({ path: `${sp}/at`, message: 'must be an ISO 8601 date-time with offset, e.g. 2024-01-01T00:00:00Z' })
      }
      const change = s.change ?? {}
      if (change.enabled === undefined && change.defaultServe === undefined && change.rules === undefined) {
        errors.push({ path: `${sp}/change`, message: 'a scheduled change must change enabled, defaultServe or rules' })
      }
      if (change.defaultServe !== undefined) checkServe(change.defaultServe, `${sp}/change/defaultServe`, variants, errors)
      if (change.rules !== undefined) checkRules(change.rules, `${sp}/change/rules`, variants, errors, ctx.segmentExists)
    })
  }
  return errors
}

/** All write-time errors of a segment (paths relative to the segment). */
export function validateSegment (seg: SegmentDefinition): FieldError[] {
  const errors: FieldError[] = []
  const included = new Set(seg.included ?? [])
  ;(seg.excluded ?? []).forEach((key, i) => {
    if (included.has(key)) errors.push({ path: `/excluded/${i}`, message: `targetingKey "${key}" is both included and excluded` })
  })
  if (!Array.isArray(seg.rules)) {
    errors.push({ path: '/rules', message: 'rules must be an array' })
    return errors
  }
  seg.rules.forEach((rule, i) => {
    checkClauses(rule?.clauses, `/rules/${i}/clauses`, errors, null)
  })
  return errors
}
