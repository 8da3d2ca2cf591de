// Ajv's errors reshaped into what a person can act on (plugins/error-handler.ts sends them).
// Ajv reports a failed union (TypeBox's Type.Union is `anyOf`) as one error per branch plus
// "must match a schema in anyOf": nineteen "must be equal to constant" for a misspelled operator.
// Here a union of constants or types becomes one error listing what is allowed, and a union of
// objects reports only the branch the input came closest to. The validators run with
// `verbose: true` (plugins/validation.ts), so each error carries its schema and the data it saw.
import type { ErrorObject } from 'ajv'
import type { FieldError } from './domain/errors.js'

const UNION = new Set(['anyOf', 'oneOf'])
const LEAF = new Set(['const', 'enum', 'type'])

/** The pointer an error is about: the property itself for `required` and `additionalProperties`. */
function reportedPath (e: ErrorObject): string {
  const p = e.params as Record<string, unknown>
  if (typeof p.missingProperty === 'string') return `${e.instancePath}/${p.missingProperty}`
  if (typeof p.additionalProperty === 'string') return `${e.instancePath}/${p.additionalProperty}`
  return e.instancePath
}

const depth = (e: ErrorObject) => reportedPath(e).split('/').length

function article (type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}

function orList (parts: string[]): string {
  return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`
}

/** One error for a union whose every branch failed right at the union's own value. */
function allowedValuesError (union: ErrorObject, branch: ErrorObject[]): ErrorObject {
  const values: unknown[] = []
  const types: string[] = []
  for (const e of branch) {
    const p = e.params as { allowedValue?: unknown; allowedValues?: unknown[]; type?: string | string[] }
    if (e.keyword === 'const') values.push(p.allowedValue)
    else if (e.keyword === 'enum') values.push(...(p.allowedValues ?? []))
    else if (e.keyword === 'type') types.push(...[p.type ?? []].flat())
  }
  const listed = values.map((v) => JSON.stringify(v))
  const message = values.length === 0
    ? `must be ${orList(types.map(article))}`
    : `must be one of ${listed.join(', ')}${types.length > 0 ? ` or ${orList(types.map(article))}` : ''}`
  return { ...union, keyword: 'allowedValues', params: { allowedValues: values, types }, message }
}

/** Replace every failed union by one error or by the errors of its closest branch. */
export function collapseUnions (input: ErrorObject[]): ErrorObject[] {
  let errors = input
  for (;;) {
    // Ajv lists a union's error after its branches' errors, so an inner union comes first.
    const union = errors.find((e) => UNION.has(e.keyword))
    if (union === undefined) return errors
    const prefix = `${union.schemaPath}/`
    const branch = errors.filter((e) => e !== union && e.schemaPath.startsWith(prefix))
    let kept: ErrorObject[]
    if (branch.every((e) => LEAF.has(e.keyword) && e.instancePath === union.instancePath)) {
      kept = [allowedValuesError(union, branch)]
    } else {
      // The branch whose errors reach deepest into the input is the one the caller meant.
      const byBranch = new Map<string, ErrorObject[]>()
      for (const e of branch) {
        const index = e.schemaPath.slice(prefix.length).split('/')[0]
        byBranch.set(index, [...(byBranch.get(index) ?? []), e])
      }
      let best: ErrorObject[] = []
      let bestDepth = -1
      for (const errs of byBranch.values()) {
        const d = Math.max(...errs.map(depth))
        if (d > bestDepth) { best = errs; bestDepth = d }
      }
      kept = best
    }
    const at = errors.indexOf(union)
    errors = [...errors.slice(0, at).filter((e) => !branch.includes(e)), ...kept, ...errors.slice(at + 1)]
  }
}

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1))
      prev = row[j]
      row[j] = next
    }
  }
  return row[b.length]
}

function unknownPropertyMessage (name: string, allowed: string[]): string {
  const close = allowed
    .map((a) => ({ a, d: editDistance(name, a) }))
    .filter(({ a, d }) => d <= Math.max(1, Math.floor(a.length / 3)))
    .sort((x, y) => x.d - y.d)[0]
  if (close !== undefined) return `unknown property '${name}' (did you mean '${close.a}'?)`
  return allowed.length > 0 ? `unknown property '${name}' (allowed: ${allowed.join(', ')})` : `unknown property '${name}'`
}

function propertiesOf (schema: unknown): string[] {
  const props = (schema as { properties?: Record<string, unknown> } | undefined)?.properties
  return props !== undefined ? Object.keys(props) : []
}

function fieldError (e: ErrorObject, context: string): FieldError[] {
  const p = e.params as Record<string, unknown>
  const path = `/${context}${reportedPath(e)}`
  if (typeof p.additionalProperty === 'string') {
    const parent = e.parentSchema as { patternProperties?: Record<string, unknown> } | undefined
    const patterns = Object.keys(parent?.patternProperties ?? {})
    if (patterns.length > 0 && propertiesOf(parent).length === 0) {
      return [{ path, message: `'${p.additionalProperty}' is not an allowed key here (keys must match ${patterns.join(' or ')})` }]
    }
    return [{ path, message: unknownPropertyMessage(p.additionalProperty, propertiesOf(parent)) }]
  }
  if (typeof p.missingProperty === 'string') {
    // Ajv stops at the first failure, so a misspelled property would never be named: name the
    // properties of the same object that the schema does not know, next to the missing one.
    const allowed = propertiesOf(e.parentSchema)
    const closed = (e.parentSchema as { additionalProperties?: unknown } | undefined)?.additionalProperties === false
    const data = e.data
    const unknown = closed && typeof data === 'object' && data !== null && !Array.isArray(data)
      ? Object.keys(data).filter((k) => !allowed.includes(k))
      : []
    return [
      { path, message: `is required (missing property '${p.missingProperty}')` },
      ...unknown.map((k) => ({ path: `/${context}${e.instancePath}/${k}`, message: unknownPropertyMessage(k, allowed) }))
    ]
  }
  if (e.keyword === 'const') return [{ path, message: `must be ${JSON.stringify(p.allowedValue)}` }]
  if (e.keyword === 'enum') return [{ path, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` }]
  return [{ path, message: e.message ?? 'is invalid' }]
}

/** Field errors for a failed validation of one part of the request (`body`, `querystring`, …). */
export function fieldErrors (errors: ErrorObject[], context: string): FieldError[] {
  const out: FieldError[] = []
  const seen = new Set<string>()
  for (const e of collapseUnions(errors)) {
    for (const f of fieldError(e, context)) {
      const key = `${f.path} ${f.message}`
      if (!seen.has(key)) { seen.add(key); out.push(f) }
    }
  }
  return out
}
