// Clause explanations for `explain` (the slow path): the result of the same compiled matcher
// evaluation uses, plus a human-readable reason.
import type { Clause, EvaluationContext, SegmentDefinition } from './model.js'
import { compileClause, compileValueTest, isOperator, lookupSegment, matchClause, type ClauseMatcher } from './operators.js'
import { parseSemver } from './semver.js'
import { getAttribute, parseInstant, parseNumber, toStringForm } from './values.js'

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
