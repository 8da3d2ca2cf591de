// The specification check: every resource of the template against the CloudFormation resource
// specification (cfn-spec.ts) and, for the SAM types, against SAM_SPEC (sam-spec.ts). Unknown
// resource types and properties, missing required properties, wrong primitive types, and
// !Ref / !GetAtt / !Sub / Condition / DependsOn targets that do not exist; alarms on metrics AWS does
// not publish (metric-check.ts).
import { SAM_ESBUILD_PROPERTIES } from '../build-lambda.js'
import { specification } from './cfn-spec.js'
import { checkAlarmMetrics } from './metric-check.js'
import { isIntrinsic, isObject, type Json } from './json.js'
import { EVENT_TYPES, GLOBALS, type PropSpec, type Specification } from './sam-spec.js'

const TOP_LEVEL = ['AWSTemplateFormatVersion', 'Transform', 'Description', 'Metadata', 'Parameters', 'Mappings', 'Conditions', 'Rules', 'Resources', 'Outputs', 'Globals']
const RESOURCE_KEYS = ['Type', 'Properties', 'Metadata', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'UpdatePolicy', 'CreationPolicy']
const PSEUDO_PARAMETERS = ['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']

function primitiveProblem (value: unknown, type: string): string | undefined {
  if (isIntrinsic(value)) return undefined
  switch (type) {
    case 'String':
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? undefined : 'expected a string'
    case 'Integer':
    case 'Long':
      return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && /^-?\d+$/.test(value)) ? undefined : 'expected an integer'
    case 'Double':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) ? undefined : 'expected a number'
    case 'Boolean':
      return typeof value === 'boolean' || value === 'true' || value === 'false' ? undefined : 'expected a boolean'
    case 'Timestamp':
      return typeof value === 'string' ? undefined : 'expected a timestamp string'
    case 'Json':
      return isObject(value) || Array.isArray(value) || typeof value === 'string' ? undefined : 'expected an object'
    default:
      return undefined
  }
}

interface Ctx { spec: Specification; problems: string[]; resourceType: string }

function editDistance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}

/** The known name a misspelling most likely meant, if one is close. */
function closest (name: string, known: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1
  for (const k of known) {
    const d = editDistance(name, k)
    if (d < bestDistance) { best = k; bestDistance = d }
  }
  return best
}

function propertyTypeName (ctx: Ctx, name: string): string {
  return name === 'Tag' ? 'Tag' : `${ctx.resourceType}.${name}`
}

function checkProperties (ctx: Ctx, path: string, value: unknown, props: Record<string, PropSpec>) {
  if (isIntrinsic(value)) return
  if (!isObject(value)) {
    ctx.problems.push(`${path}: expected an object of properties`)
    return
  }
  for (const [key, v] of Object.entries(value)) {
    const spec = props[key]
    if (spec === undefined) {
      const near = closest(key, Object.keys(props))
      ctx.problems.push(`${path}.${key}: unknown property${near !== undefined ? ` (did you mean ${near}?)` : ` (allowed: ${Object.keys(props).sort().join(', ')})`}`)
      continue
    }
    checkValue(ctx, `${path}.${key}`, v, spec)
  }
  for (const [key, spec] of Object.entries(props)) {
    if (spec.Required === true && !(key in value)) ctx.problems.push(`${path}: missing required property ${key}`)
  }
}

function checkNamedType (ctx: Ctx, path: string, value: unknown, typeName: string) {
  const spec = ctx.spec.PropertyTypes[propertyTypeName(ctx, typeName)]
  if (spec === undefined) {
    ctx.problems.push(`${path}: the specification has no property type ${propertyTypeName(ctx, typeName)}`)
    return
  }
  if (spec.Properties !== undefined) checkProperties(ctx, path, value, spec.Properties)
  else checkValue(ctx, path, value, spec)
}

function checkItem (ctx: Ctx, path: string, item: unknown, spec: PropSpec) {
  if (spec.PrimitiveItemType !== undefined) {
    const p = primitiveProblem(item, spec.PrimitiveItemType)
    if (p !== undefined) ctx.problems.push(`${path}: ${p}`)
  } else if (spec.ItemType !== undefined) {
    checkNamedType(ctx, path, item, spec.ItemType)
  }
}

function checkValue (ctx: Ctx, path: string, value: unknown, spec: PropSpec) {
  if (isIntrinsic(value)) return
  if (spec.PrimitiveType !== undefined) {
    const p = primitiveProblem(value, spec.PrimitiveType)
    if (p !== undefined) ctx.problems.push(`${path}: ${p}`)
    return
  }
  if (spec.PrimitiveTypes !== undefined || spec.Types !== undefined) {
    for (const t of spec.PrimitiveTypes ?? []) if (primitiveProblem(value, t) === undefined && !(t === 'Json' && spec.Types !== undefined)) return
    const types = spec.Types ?? []
    if (types.length > 0 && isObject(value)) {
      // Try each named type; accept the first without problems, else report the first's.
      let first: string[] | undefined
      for (const t of types) {
        const sub: Ctx = { ...ctx, problems: [] }
        checkNamedType(sub, path, value, t)
        if (sub.problems.length === 0) return
        first ??= sub.problems
      }
      ctx.problems.push(...(first ?? []))
      return
    }
    ctx.problems.push(`${path}: expected ${[...(spec.PrimitiveTypes ?? []), ...types].join(' or ')}`)
    return
  }
  if (spec.Type === 'List') {
    if (!Array.isArray(value)) {
      ctx.problems.push(`${path}: expected a list`)
      return
    }
    value.forEach((item, i) => checkItem(ctx, `${path}[${i}]`, item, spec))
    return
  }
  if (spec.Type === 'Map') {
    if (!isObject(value)) {
      ctx.problems.push(`${path}: expected a map`)
      return
    }
    for (const [k, item] of Object.entries(value)) checkItem(ctx, `${path}.${k}`, item, spec)
    return
  }
  if (spec.Type !== undefined) checkNamedType(ctx, path, value, spec.Type)
}

function checkEvents (ctx: Ctx, path: string, events: unknown) {
  if (!isObject(events)) return
  for (const [name, event] of Object.entries(events)) {
    if (!isObject(event)) continue
    const type = event.Type
    const propType = typeof type === 'string' ? EVENT_TYPES[type] : undefined
    if (propType === undefined) {
      ctx.problems.push(`${path}.${name}.Type: unknown or unsupported event source type ${JSON.stringify(type)} (known: ${Object.keys(EVENT_TYPES).join(', ')})`)
      continue
    }
    checkNamedType(ctx, `${path}.${name}.Properties`, event.Properties ?? {}, propType)
  }
}

function checkIamPolicy (ctx: Ctx, path: string, policy: unknown) {
  if (!isObject(policy) || !('Statement' in policy)) return
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]
  statements.forEach((s, i) => {
    if (!isObject(s)) return
    for (const k of Object.keys(s)) {
      if (!['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition', 'Principal', 'NotPrincipal'].includes(k)) ctx.problems.push(`${path}.Statement[${i}].${k}: unknown IAM statement element`)
    }
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') ctx.problems.push(`${path}.Statement[${i}].Effect: must be Allow or Deny`)
    if (s.Action === undefined && s.NotAction === undefined) ctx.problems.push(`${path}.Statement[${i}]: missing Action`)
    if (s.Resource === undefined && s.NotResource === undefined) ctx.problems.push(`${path}.Statement[${i}]: missing Resource`)
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action]
    for (const a of actions) if (typeof a === 'string' && !/^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(a)) ctx.problems.push(`${path}.Statement[${i}].Action: malformed action ${JSON.stringify(a)}`)
  })
}

function mergeGlobals (globals: Json | undefined, type: string, props: Json): Json {
  const section = Object.entries(GLOBALS).find(([, g]) => g.type === type)?.[0]
  const g = section !== undefined && isObject(globals?.[section]) ? globals[section] as Json : {}
  const merged: Json = { ...g }
  for (const [k, v] of Object.entries(props)) {
    merged[k] = isObject(v) && isObject(merged[k]) && !isIntrinsic(v) ? { ...(merged[k] as Json), ...v } : v
    if (k === 'Environment' && isObject(v) && isObject(g.Environment)) {
      merged.Environment = { Variables: { ...((g.Environment as Json).Variables as Json ?? {}), ...((v.Variables as Json | undefined) ?? {}) } }
    }
  }
  return merged
}

/** Walk every intrinsic reference and report targets that do not exist. */
function checkReferences (template: Json, problems: string[]) {
  const resources = (template.Resources ?? {}) as Record<string, Json>
  const parameters = Object.keys((template.Parameters ?? {}) as Json)
  const conditions = Object.keys((template.Conditions ?? {}) as Json)
  const spec = specification()
  const refTargets = new Set([...Object.keys(resources), ...parameters, ...PSEUDO_PARAMETERS])

  function getAtt (path: string, resource: string, attribute: string) {
    const r = resources[resource]
    if (r === undefined) {
      problems.push(`${path}: GetAtt of unknown resource ${resource}`)
      return
    }
    const attrs = spec.ResourceTypes[String(r.Type)]?.Attributes
    if (attrs !== undefined && !(attribute in attrs)) problems.push(`${path}: ${resource} (${String(r.Type)}) has no attribute ${attribute} (has: ${Object.keys(attrs).join(', ') || 'none'})`)
  }

  function walk (path: string, v: unknown) {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(`${path}[${i}]`, x))
      return
    }
    if (!isObject(v)) return
    if (isIntrinsic(v)) {
      const [fn, arg] = Object.entries(v)[0]!
      if (fn === 'Ref' && typeof arg === 'string' && !refTargets.has(arg)) problems.push(`${path}: Ref to unknown ${arg}`)
      if (fn === 'Condition' && typeof arg === 'string' && !conditions.includes(arg)) problems.push(`${path}: unknown condition ${arg}`)
      if (fn === 'Fn::If' && Array.isArray(arg) && typeof arg[0] === 'string' && !conditions.includes(arg[0])) problems.push(`${path}: Fn::If on unknown condition ${arg[0]}`)
      if (fn === 'Fn::GetAtt') {
        const parts = typeof arg === 'string' ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)] : (arg as string[])
        if (typeof parts[0] === 'string' && typeof parts[1] === 'string') getAtt(path, parts[0], parts[1])
      }
      if (fn === 'Fn::Sub') {
        const text = typeof arg === 'string' ? arg : Array.isArray(arg) ? String(arg[0]) : ''
        const locals = Array.isArray(arg) && isObject(arg[1]) ? Object.keys(arg[1]) : []
        for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const name = m[1]!.trim()
          if (locals.includes(name)) continue
          const dot = name.indexOf('.')
          if (dot > 0 && !name.startsWith('AWS::')) getAtt(path, name.slice(0, dot), name.slice(dot + 1))
          else if (!refTargets.has(name)) problems.push(`${path}: Fn::Sub references unknown \${${name}}`)
        }
      }
    }
    for (const [k, x] of Object.entries(v)) walk(`${path}.${k}`, x)
  }

  for (const section of ['Resources', 'Outputs', 'Conditions', 'Globals']) walk(section, template[section])
  for (const [name, r] of Object.entries(resources)) {
    const deps = r.DependsOn === undefined ? [] : Array.isArray(r.DependsOn) ? r.DependsOn : [r.DependsOn]
    for (const d of deps) if (!(String(d) in resources)) problems.push(`Resources.${name}.DependsOn: unknown resource ${String(d)}`)
    if (r.Condition !== undefined && !conditions.includes(String(r.Condition))) problems.push(`Resources.${name}.Condition: unknown condition ${String(r.Condition)}`)
  }
}

/** Problems of the template against the specification; an empty list when it conforms. */
export function checkSpecification (template: Json): string[] {
  const spec = specification()
  const problems: string[] = []
  for (const key of Object.keys(template)) if (!TOP_LEVEL.includes(key)) problems.push(`${key}: unknown top-level section`)
  const transforms = Array.isArray(template.Transform) ? template.Transform : [template.Transform]
  const usesSam = transforms.includes('AWS::Serverless-2016-10-31')
  const globals = isObject(template.Globals) ? template.Globals : undefined
  if (globals !== undefined) {
    if (!usesSam) problems.push('Globals: needs Transform AWS::Serverless-2016-10-31')
    for (const [section, value] of Object.entries(globals)) {
      const g = GLOBALS[section]
      if (g === undefined) {
        problems.push(`Globals.${section}: not a SAM globals section`)
        continue
      }
      const props = spec.ResourceTypes[g.type]?.Properties ?? {}
      const allowed = Object.fromEntries(Object.entries(props).filter(([k]) => !g.notGlobal.includes(k)).map(([k, v]) => [k, { ...v, Required: false }]))
      checkProperties({ spec, problems, resourceType: g.type }, `Globals.${section}`, value, allowed)
    }
  }

  const PARAMETER_TYPES = ['String', 'Number', 'List<Number>', 'CommaDelimitedList']
  for (const [name, p] of Object.entries((template.Parameters ?? {}) as Record<string, Json>)) {
    const type = String(p.Type)
    if (!PARAMETER_TYPES.includes(type) && !type.startsWith('AWS::')) problems.push(`Parameters.${name}.Type: invalid parameter type ${type}`)
    if (Array.isArray(p.AllowedValues) && p.Default !== undefined && !p.AllowedValues.map(String).includes(String(p.Default))) problems.push(`Parameters.${name}.Default: ${String(p.Default)} is not among its AllowedValues`)
  }
  for (const [name, o] of Object.entries((template.Outputs ?? {}) as Record<string, Json>)) {
    if (!isObject(o) || !('Value' in o)) problems.push(`Outputs.${name}: missing Value`)
  }

  const resources = template.Resources
  if (!isObject(resources) || Object.keys(resources).length === 0) {
    problems.push('Resources: missing or empty')
    return problems
  }
  for (const [name, resource] of Object.entries(resources)) {
    const path = `Resources.${name}`
    if (!isObject(resource)) {
      problems.push(`${path}: not an object`)
      continue
    }
    for (const key of Object.keys(resource)) if (!RESOURCE_KEYS.includes(key)) problems.push(`${path}.${key}: unknown resource attribute`)
    const type = String(resource.Type)
    const typeSpec = spec.ResourceTypes[type]
    if (typeSpec === undefined) {
      problems.push(`${path}.Type: unknown resource type ${type}`)
      continue
    }
    if (type.startsWith('AWS::Serverless::') && !usesSam) problems.push(`${path}: ${type} needs Transform AWS::Serverless-2016-10-31`)
    const ctx: Ctx = { spec, problems, resourceType: type }
    const own = (resource.Properties ?? {}) as Json
    // Required properties may come from Globals; unknown ones are reported where they are written.
    checkProperties(ctx, `${path}.Properties`, own, Object.fromEntries(Object.entries(typeSpec.Properties ?? {}).map(([k, v]) => [k, { ...v, Required: false }])))
    const merged = type.startsWith('AWS::Serverless::') ? mergeGlobals(globals, type, own) : own
    for (const [k, v] of Object.entries(typeSpec.Properties ?? {})) {
      if (v.Required === true && !(k in merged)) problems.push(`${path}.Properties: missing required property ${k}`)
    }
    for (const p of ['DeletionPolicy', 'UpdateReplacePolicy']) {
      if (resource[p] !== undefined && !['Delete', 'Retain', 'Snapshot', 'RetainExceptOnCreate'].includes(String(resource[p]))) problems.push(`${path}.${p}: invalid value ${String(resource[p])}`)
    }

    if (type === 'AWS::Serverless::Function') {
      checkEvents(ctx, `${path}.Properties.Events`, own.Events)
      const policies = Array.isArray(own.Policies) ? own.Policies : own.Policies === undefined ? [] : [own.Policies]
      policies.forEach((p, i) => checkIamPolicy(ctx, `${path}.Properties.Policies[${i}]`, p))
      const isImage = merged.PackageType === 'Image' || merged.ImageUri !== undefined
      if (!isImage) {
        if (merged.CodeUri === undefined && merged.InlineCode === undefined) problems.push(`${path}.Properties: needs CodeUri or InlineCode`)
        if (merged.Handler === undefined) problems.push(`${path}.Properties: missing Handler (required for Zip functions)`)
        if (merged.Runtime === undefined) problems.push(`${path}.Properties: missing Runtime (required for Zip functions)`)
      }
      const meta = resource.Metadata
      if (isObject(meta) && meta.BuildMethod === 'esbuild') {
        const bp = meta.BuildProperties
        if (!isObject(bp)) problems.push(`${path}.Metadata.BuildProperties: required with BuildMethod esbuild`)
        else {
          for (const k of Object.keys(bp)) if (!(SAM_ESBUILD_PROPERTIES as readonly string[]).includes(k)) problems.push(`${path}.Metadata.BuildProperties.${k}: not an esbuild property SAM understands`)
          if (!Array.isArray(bp.EntryPoints) || bp.EntryPoints.length === 0) problems.push(`${path}.Metadata.BuildProperties.EntryPoints: required`)
        }
      }
    }
  }
  checkReferences(template, problems)
  problems.push(...checkAlarmMetrics(template))
  return problems
}
