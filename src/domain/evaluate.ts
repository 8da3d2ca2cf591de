/**
 * The evaluation engine (DESIGN.md §5): pure, no I/O, shared by the HTTP, OFREP and SDK layers.
 *
 * Order, first decision wins:
 *  1. the caller produces FLAG_NOT_FOUND when there is no config (the engine always has one);
 *  2. due scheduled changes are applied (`applySchedule`, a pure function of `now`);
 *  3. disabled → off variant, reason DISABLED;
 *  4. prerequisites: each prerequisite flag, evaluated with the same context, must serve the named
 *     variant (an ERROR result never does; a missing flag, a cycle or nesting deeper than
 *     MAX_PREREQUISITE_DEPTH counts as not met). Not met → off variant, reason TARGETING_MATCH,
 *     ruleId `prerequisite:<flag>`. Why that reason: our reasons are OpenFeature's closed set;
 *     DISABLED would tell clients the flag is switched off (it is not), DEFAULT would hide why,
 *     and a failed prerequisite IS a targeting decision — the ruleId says which one;
 *  5. individual targets: targetingKey listed under a variant → that variant, TARGETING_MATCH,
 *     ruleId `target:<variant>` (the first target listing the key wins);
 *  6. rules in order, clauses ANDed (a rule without clauses matches everyone) → a variant
 *     (TARGETING_MATCH) or a rollout (SPLIT), ruleId = the rule id;
 *  7. the default serve → its variant, reason STATIC when the flag has no targets, no rules and
 *     no prerequisites (the value cannot depend on the context), else DEFAULT; or a rollout, SPLIT.
 *
 * Rollouts: `bucket = murmur3_x86_32("{salt}:{value}", 0) % 100000`, salt defaults to the flag
 * name, value is the string form of `context[bucketBy ?? "targetingKey"]` (same attribute lookup
 * as clauses); variants take consecutive bucket ranges in declared order. Stickiness: moving
 * weight between two ADJACENT variants (always the case with two variants) moves users only from
 * the donor to the receiver. Between non-adjacent variants the ranges in between shift, so some
 * of their users move too (never users outside the two, never out of the raised variant) —
 * DESIGN.md §5's "never moves users between the other variants" holds for adjacent pairs only.
 *
 * Errors (OpenFeature semantics: reason ERROR plus an errorCode; `value`/`variant` are the off
 * variant's, for callers that want a safe value — OpenFeature SDKs use their own default):
 *  - bucketing value missing (absent, null or "") → TARGETING_KEY_MISSING. An empty string counts
 *    as missing, otherwise every anonymous user would share one bucket;
 *  - bucketing value that is an object or array → INVALID_CONTEXT (String() would give
 *    "[object Object]", again one bucket for everyone);
 *  - a context that is not an object → INVALID_CONTEXT;
 *  - a serve naming an unknown variant or a rollout whose weights do not sum to 100000 (write
 *    validation prevents both) → GENERAL.
 *
 * Speed: each FlagDefinition is compiled once (compile.ts, WeakMap cache) into variant maps, target
 * sets and clause closures with pre-parsed values, so `evaluate` allocates little more than its result.
 * Definitions (and variant values, which results share) must therefore be treated as immutable.
 */
import type { EvaluationContext, EvaluationResult, FlagDefinition, Prerequisite, Reason, Serve, Variant, ErrorCode } from './model.js'
import { ROLLOUT_TOTAL } from './constants.js'
import { murmur3Prefix, murmur3_x86_32_after } from './murmur3.js'
import { explainClause, type ClauseExplanation } from './explain-clause.js'
import { compile, stageAt, type CompiledFlag, type CompiledServe, type RolloutServe } from './compile.js'
import { dueScheduledChanges, scheduleInstant } from './schedule.js'

export { applySchedule, dueScheduledChanges } from './schedule.js'

export const MAX_PREREQUISITE_DEPTH = 10

export interface EvaluateOptions {
  /** Evaluation time, epoch ms (decides which scheduled changes are due). */
  now: number
  /** Looks up a prerequisite flag's definition in the same environment; undefined = missing. */
  prerequisite?: (flagKey: string) => FlagDefinition | undefined
}

// ---------------------------------------------------------------------------------------------
// Results

function errorResult (c: CompiledFlag, errorCode: ErrorCode, errorMessage: string): EvaluationResult {
  const off = c.off
  return off === undefined
    ? { value: null, reason: 'ERROR', errorCode, errorMessage }
    : { value: off.value, variant: off.key, reason: 'ERROR', errorCode, errorMessage }
}

function offResult (c: CompiledFlag, reason: Reason, ruleId: string | undefined): EvaluationResult {
  const off = c.off
  if (off === undefined) return errorResult(c, 'GENERAL', `off variant "${c.base.offVariant}" does not exist`)
  return ruleId === undefined
    ? { value: off.value, variant: off.key, reason }
    : { value: off.value, variant: off.key, reason, ruleId }
}

function variantResult (c: CompiledFlag, variant: Variant | undefined, key: string, reason: Reason, ruleId: string | undefined): EvaluationResult {
  if (variant === undefined) return errorResult(c, 'GENERAL', `variant "${key}" does not exist`)
  return ruleId === undefined
    ? { value: variant.value, variant: variant.key, reason }
    : { value: variant.value, variant: variant.key, reason, ruleId }
}

/** The rollout bucket, in [0, 100000), of a bucketing value under a salt (default: the flag name). */
export function bucketOf (salt: string, value: string): number {
  return murmur3_x86_32_after(murmur3Prefix(`${salt}:`), value) % ROLLOUT_TOTAL
}

/** Outcome of reading the bucketing value: the string, or the error to report. */
function bucketValue (r: RolloutServe, ctx: EvaluationContext): string | ErrorCode {
  const v = r.get(ctx)
  if (typeof v === 'string') return v === '' ? 'TARGETING_KEY_MISSING' : v
  if (v === undefined || v === null) return 'TARGETING_KEY_MISSING'
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  return 'INVALID_CONTEXT'
}

function serveResult (c: CompiledFlag, s: CompiledServe, ctx: EvaluationContext, reason: Reason, ruleId: string | undefined, trace: TraceEntry[] | null): EvaluationResult {
  if (!s.rollout) return variantResult(c, s.variant, s.key, reason, ruleId)
  const where = ruleId === undefined ? 'default serve' : `rule "${ruleId}"`
  if (s.error !== undefined) {
    trace?.push({ step: 'rollout', bucketBy: s.bucketBy, message: `${where}: ${s.error}` })
    return errorResult(c, 'GENERAL', s.error)
  }
  const value = bucketValue(s, ctx)
  if (value === 'TARGETING_KEY_MISSING' || value === 'INVALID_CONTEXT') {
    const msg = value === 'INVALID_CONTEXT'
      ? `bucketing attribute "${s.bucketBy}" is not a string, number or boolean`
      : `bucketing attribute "${s.bucketBy}" is missing`
    trace?.push({ step: 'rollout', bucketBy: s.bucketBy, message: `${where}: ${msg}` })
    return errorResult(c, value, msg)
  }
  const bucket = murmur3_x86_32_after(s, value) % ROLLOUT_TOTAL
  const upper = s.upper
  let i = 0
  while (upper[i] <= bucket) i++
  if (trace !== null) {
    let from = 0
    const ranges = s.keys.map((variant, j) => { const r = { variant, from, to: upper[j] }; from = upper[j]; return r })
    trace.push({
      step: 'rollout',
      bucketBy: s.bucketBy,
      bucketValue: value,
      hashInput: s.prefix + value,
      bucket,
      ranges,
      variant: s.keys[i],
      message: `${where}: bucket ${bucket} of murmur3("${s.prefix}${value}") falls in [${ranges[i].from}, ${ranges[i].to}) → "${s.keys[i]}"`
    })
  }
  return variantResult(c, s.variants[i], s.keys[i], 'SPLIT', ruleId)
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export type TraceEntry =
  | { step: 'schedule'; id: string; at: string; applied: boolean; message: string }
  | { step: 'enabled'; enabled: boolean; message: string }
  | {
    step: 'prerequisite'
    flag: string
    variant: string
    met: boolean
    result?: EvaluationResult
    trace?: TraceEntry[]
    message: string
  }
  | { step: 'targets'; targetingKey?: string; matched: boolean; variant?: string; message: string }
  | { step: 'rule'; index: number; ruleId: string; matched: boolean; clauses: ClauseExplanation[]; message: string }
  | { step: 'default'; serve: Serve; message: string }
  | {
    step: 'rollout'
    bucketBy: string
    bucketValue?: string
    hashInput?: string
    bucket?: number
    ranges?: Array<{ variant: string; from: number; to: number }>
    variant?: string
    message: string
  }

export interface Explanation {
  result: EvaluationResult
  trace: TraceEntry[]
}

function prerequisiteResult (p: Prerequisite, self: string, ctx: EvaluationContext, opts: EvaluateOptions, depth: number, chain: readonly string[], trace: TraceEntry[] | null): boolean {
  let why: string | undefined
  let def: FlagDefinition | undefined
  if (p.flag === self || chain.includes(p.flag)) why = 'prerequisite cycle'
  else if (depth >= MAX_PREREQUISITE_DEPTH) why = `prerequisites nested deeper than ${MAX_PREREQUISITE_DEPTH}`
  else {
    def = opts.prerequisite?.(p.flag)
    if (def === undefined) why = 'flag not found'
  }
  if (def === undefined || why !== undefined) {
    trace?.push({ step: 'prerequisite', flag: p.flag, variant: p.variant, met: false, message: `prerequisite "${p.flag}" = "${p.variant}": not met (${why ?? 'flag not found'})` })
    return false
  }
  const nested: TraceEntry[] | null = trace === null ? null : []
  const r = run(def, ctx, opts, nested, depth + 1, [...chain, self])
  const met = r.reason !== 'ERROR' && r.variant === p.variant
  trace?.push({
    step: 'prerequisite',
    flag: p.flag,
    variant: p.variant,
    met,
    result: r,
    trace: nested ?? undefined,
    message: `prerequisite "${p.flag}" = "${p.variant}": served ${r.variant === undefined ? 'no variant' : `"${r.variant}"`} (${r.reason}) → ${met ? 'met' : 'not met'}`
  })
  return met
}

function run (flag: FlagDefinition, ctx: EvaluationContext, opts: EvaluateOptions, trace: TraceEntry[] | null, depth: number, chain: readonly string[]): EvaluationResult {
  const c = compile(flag)
  if (ctx === null || typeof ctx !== 'object' || Array.isArray(ctx)) {
    return errorResult(c, 'INVALID_CONTEXT', 'the evaluation context must be an object')
  }
  const stage = c.scheduleAt.length === 0 ? c.stage0 : stageAt(c, opts.now)

  if (trace !== null) {
    for (const s of dueScheduledChanges(flag, opts.now)) {
      trace.push({ step: 'schedule', id: s.id, at: s.at, applied: true, message: `scheduled change "${s.id}" at ${s.at} applied` })
    }
    for (const s of flag.schedule ?? []) {
      if (!(scheduleInstant(s) <= opts.now)) trace.push({ step: 'schedule', id: s.id, at: s.at, applied: false, message: `scheduled change "${s.id}" at ${s.at} not due yet` })
    }
    trace.push({ step: 'enabled', enabled: stage.enabled, message: stage.enabled ? 'flag is enabled' : 'flag is disabled → off variant' })
  }
  if (!stage.enabled) return offResult(c, 'DISABLED', undefined)

  const prereqs = stage.prerequisites
  for (let i = 0; i < prereqs.length; i++) {
    if (!prerequisiteResult(prereqs[i], flag.flag, ctx, opts, depth, chain, trace)) {
      return offResult(c, 'TARGETING_MATCH', `prerequisite:${prereqs[i].flag}`)
    }
  }

  if (stage.targets !== null) {
    const key = ctx.targetingKey
    const variant = typeof key === 'string' ? stage.targets.get(key) : undefined
    if (trace !== null) {
      trace.push(variant === undefined
        ? { step: 'targets', targetingKey: typeof key === 'string' ? key : undefined, matched: false, message: typeof key === 'string' ? `targetingKey "${key}" is not individually targeted` : 'no targetingKey: individual targets skipped' }
        : { step: 'targets', targetingKey: key as string, matched: true, variant, message: `targetingKey "${key as string}" is targeted → "${variant}"` })
    }
    if (variant !== undefined) return variantResult(c, c.variantMap.get(variant), variant, 'TARGETING_MATCH', `target:${variant}`)
  }

  const rules = stage.rules
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]
    const clauses = r.clauses
    let matched = true
    if (trace === null) {
      for (let j = 0; j < clauses.length; j++) {
        if (!clauses[j](ctx)) { matched = false; break }
      }
    } else {
      const segments = stage.def.segments ?? {}
      const explained = (r.rule.clauses ?? []).map((cl, j) => explainClause(cl, ctx, segments, clauses[j]))
      matched = explained.every((e) => e.matched)
      trace.push({ step: 'rule', index: i, ruleId: r.id, matched, clauses: explained, message: `rule "${r.id}" ${matched ? 'matched' : 'did not match'}` })
    }
    if (matched) return serveResult(c, r.serve, ctx, 'TARGETING_MATCH', r.id, trace)
  }

  if (trace !== null) {
    const d = stage.def.defaultServe
    trace.push({ step: 'default', serve: d, message: 'variant' in d ? `default serve → "${d.variant}" (${stage.defaultReason})` : 'default serve → rollout' })
  }
  return serveResult(c, stage.defaultServe, ctx, stage.defaultReason, undefined, trace)
}

/** Evaluate one flag for one context. The caller handles FLAG_NOT_FOUND. */
export function evaluate (flag: FlagDefinition, context: EvaluationContext, opts: EvaluateOptions): EvaluationResult {
  return run(flag, context, opts, null, 0, EMPTY)
}

/** The same evaluation, with a trace of every step tried (slower; for debugging UIs). */
export function explain (flag: FlagDefinition, context: EvaluationContext, opts: EvaluateOptions): Explanation {
  const trace: TraceEntry[] = []
  const result = run(flag, context, opts, trace, 0, EMPTY)
  return { result, trace }
}

const EMPTY: readonly string[] = []
