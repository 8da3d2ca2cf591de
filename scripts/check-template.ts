// npm run check:template
//
// Checks template.yaml offline, as far as that can go without an AWS account:
//
// 1. Specification: every resource against the CloudFormation resource specification
//    (@aws-cdk/cfnspec) and, for the SAM types, against the hand-written SAM_SPEC below (the
//    SAM part of cfnspec is years old: no LoggingConfig, no FunctionResponseTypes, ...). Unknown
//    resource types and properties, missing required properties, wrong primitive types, and
//    !Ref / !GetAtt / !Sub / Condition / DependsOn targets that do not exist.
// 2. Cross-reference with the code: every Fastify route of the app each HTTP function runs is
//    reached through an HttpApi event of a function that serves it (API Gateway's most-specific
//    route wins), and no event points at a function that serves nothing there; each function's
//    handler is exported by its bundle (built here with scripts/build-lambda.ts); every config
//    value without a default is set by the template or by the entry point (JWT_SECRET through
//    JWT_SECRET_ARN); literal values and parameter AllowedValues pass the config schema; the
//    table and queues match the local stack's (src/local/provision.ts).
import { createRequire } from 'node:module'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { ROOT, buildLambdas, loadTemplate, SAM_ESBUILD_PROPERTIES } from './build-lambda.js'

type Json = Record<string, unknown>

// ------------------------------------------------------------------ specification

export interface PropSpec {
  Required?: boolean
  PrimitiveType?: string
  PrimitiveTypes?: string[]
  Type?: string
  Types?: string[]
  ItemType?: string
  PrimitiveItemType?: string
  PrimitiveItemTypes?: string[]
  ItemTypes?: string[]
}
export interface TypeSpec { Properties?: Record<string, PropSpec>; Attributes?: Record<string, unknown> }
export interface Specification { ResourceTypes: Record<string, TypeSpec>; PropertyTypes: Record<string, TypeSpec & PropSpec> }

const S = (required = false): PropSpec => ({ PrimitiveType: 'String', Required: required })
const I: PropSpec = { PrimitiveType: 'Integer' }
const B: PropSpec = { PrimitiveType: 'Boolean' }
const D: PropSpec = { PrimitiveType: 'Double' }
const J = (required = false): PropSpec => ({ PrimitiveType: 'Json', Required: required })
const LS: PropSpec = { Type: 'List', PrimitiveItemType: 'String' }
const MS: PropSpec = { Type: 'Map', PrimitiveItemType: 'String' }
const T = (name: string, required = false): PropSpec => ({ Type: name, Required: required })

/**
 * The SAM resource types this project uses, written from the SAM specification
 * (github.com/aws/serverless-application-model, docs/*, samtranslator/model/sam_resources.py and
 * eventsources/*). Properties SAM passes through to CloudFormation unchanged are typed as Json
 * where their inner shape is CloudFormation's business.
 */
export const SAM_SPEC: Specification = {
  ResourceTypes: {
    'AWS::Serverless::Function': {
      Attributes: { Arn: {} },
      Properties: {
        Architectures: LS,
        AssumeRolePolicyDocument: J(),
        AutoPublishAlias: S(),
        AutoPublishAliasAllProperties: B,
        AutoPublishCodeSha256: S(),
        CodeSigningConfigArn: S(),
        CodeUri: { PrimitiveTypes: ['String', 'Json'] },
        DeadLetterQueue: T('DeadLetterQueue'),
        DeploymentPreference: J(),
        Description: S(),
        Environment: T('FunctionEnvironment'),
        EphemeralStorage: T('EphemeralStorage'),
        EventInvokeConfig: T('EventInvokeConfig'),
        Events: { Type: 'Map', ItemType: 'EventSource' },
        FileSystemConfigs: { Type: 'List', PrimitiveItemType: 'Json' },
        FunctionName: S(),
        FunctionUrlConfig: J(),
        Handler: S(),
        ImageConfig: J(),
        ImageUri: S(),
        InlineCode: S(),
        KmsKeyArn: S(),
        Layers: LS,
        LoggingConfig: T('LoggingConfig'),
        MemorySize: I,
        PackageType: S(),
        PermissionsBoundary: S(),
        Policies: { PrimitiveTypes: ['String', 'Json'] },
        PropagateTags: B,
        ProvisionedConcurrencyConfig: J(),
        RecursiveLoop: S(),
        ReservedConcurrentExecutions: I,
        Role: S(),
        RolePath: S(),
        Runtime: S(),
        RuntimeManagementConfig: J(),
        SnapStart: J(),
        SourceKMSKeyArn: S(),
        Tags: MS,
        Timeout: I,
        Tracing: S(),
        VersionDescription: S(),
        VpcConfig: J()
      }
    },
    'AWS::Serverless::HttpApi': {
      Attributes: { ApiEndpoint: {} },
      Properties: {
        AccessLogSettings: T('AccessLogSettings'),
        Auth: J(),
        CorsConfiguration: { PrimitiveTypes: ['Boolean'], Types: ['CorsConfiguration'] },
        DefaultRouteSettings: T('RouteSettings'),
        DefinitionBody: J(),
        DefinitionUri: { PrimitiveTypes: ['String', 'Json'] },
        Description: S(),
        DisableExecuteApiEndpoint: B,
        Domain: J(),
        FailOnWarnings: B,
        Name: S(),
        PropagateTags: B,
        RouteSettings: J(),
        StageName: S(),
        StageVariables: MS,
        Tags: MS
      }
    },
    'AWS::Serverless::LayerVersion': {
      Properties: {
        CompatibleArchitectures: LS,
        CompatibleRuntimes: LS,
        ContentUri: { PrimitiveTypes: ['String', 'Json'], Required: true },
        Description: S(),
        LayerName: S(),
        LicenseInfo: S(),
        PublishLambdaVersion: B,
        RetentionPolicy: S()
      }
    }
  },
  PropertyTypes: {
    'AWS::Serverless::Function.FunctionEnvironment': { Properties: { Variables: MS } },
    'AWS::Serverless::Function.DeadLetterQueue': { Properties: { TargetArn: S(true), Type: S(true) } },
    'AWS::Serverless::Function.EphemeralStorage': { Properties: { Size: { ...I, Required: true } } },
    'AWS::Serverless::Function.EventInvokeConfig': { Properties: { DestinationConfig: J(), MaximumEventAgeInSeconds: I, MaximumRetryAttempts: I } },
    'AWS::Serverless::Function.LoggingConfig': { Properties: { ApplicationLogLevel: S(), LogFormat: S(), LogGroup: S(), SystemLogLevel: S() } },
    'AWS::Serverless::Function.EventSource': { Properties: { Type: S(true), Properties: J() } },
    // Event source properties, chosen by the event's Type (see EVENT_TYPES).
    'AWS::Serverless::Function.HttpApiEvent': { Properties: { ApiId: S(), Auth: J(), Method: S(), Path: S(), PayloadFormatVersion: S(), RouteSettings: J(), Stage: S(), TimeoutInMillis: I } },
    'AWS::Serverless::Function.ApiEvent': { Properties: { Auth: J(), Method: S(true), Path: S(true), RequestModel: J(), RequestParameters: J(), RestApiId: S(), TimeoutInMillis: I } },
    'AWS::Serverless::Function.SQSEvent': { Properties: { BatchSize: I, Enabled: B, FilterCriteria: J(), FunctionResponseTypes: LS, KmsKeyArn: S(), MaximumBatchingWindowInSeconds: I, MetricsConfig: J(), Queue: S(true), ScalingConfig: J() } },
    'AWS::Serverless::Function.ScheduleEvent': { Properties: { DeadLetterConfig: J(), Description: S(), Enabled: B, Input: S(), Name: S(), RetryPolicy: J(), Schedule: S(true), State: S() } },
    'AWS::Serverless::Function.ScheduleV2Event': { Properties: { DeadLetterConfig: J(), Description: S(), EndDate: S(), FlexibleTimeWindow: J(), GroupName: S(), Input: S(), KmsKeyArn: S(), Name: S(), OmitName: B, PermissionsBoundary: S(), RetryPolicy: J(), RoleArn: S(), ScheduleExpression: S(true), ScheduleExpressionTimezone: S(), StartDate: S(), State: S() } },
    'AWS::Serverless::Function.EventBridgeRuleEvent': { Properties: { DeadLetterConfig: J(), EventBusName: S(), Input: S(), InputPath: S(), InputTransformer: J(), Pattern: J(true), RetryPolicy: J(), RuleName: S(), State: S(), Target: J() } },
    'AWS::Serverless::HttpApi.AccessLogSettings': { Properties: { DestinationArn: S(true), Format: S(true) } },
    'AWS::Serverless::HttpApi.CorsConfiguration': { Properties: { AllowCredentials: B, AllowHeaders: LS, AllowMethods: LS, AllowOrigins: LS, ExposeHeaders: LS, MaxAge: I } },
    'AWS::Serverless::HttpApi.RouteSettings': { Properties: { DataTraceEnabled: B, DetailedMetricsEnabled: B, LoggingLevel: S(), ThrottlingBurstLimit: I, ThrottlingRateLimit: D } }
  }
}

/** Event source Type → its property type in SAM_SPEC. */
const EVENT_TYPES: Record<string, string> = { HttpApi: 'HttpApiEvent', Api: 'ApiEvent', SQS: 'SQSEvent', Schedule: 'ScheduleEvent', ScheduleV2: 'ScheduleV2Event', EventBridgeRule: 'EventBridgeRuleEvent' }

/** Globals sections SAM accepts, and the properties it does not allow there. */
const GLOBALS: Record<string, { type: string; notGlobal: string[] }> = {
  Function: { type: 'AWS::Serverless::Function', notGlobal: ['Events', 'FunctionName', 'Role', 'Policies', 'InlineCode', 'ImageUri', 'ImageConfig', 'AutoPublishCodeSha256', 'VersionDescription'] },
  HttpApi: { type: 'AWS::Serverless::HttpApi', notGlobal: ['DefinitionBody', 'DefinitionUri', 'StageName', 'StageVariables', 'Description', 'CorsConfiguration', 'FailOnWarnings', 'DisableExecuteApiEndpoint', 'Domain', 'RouteSettings'] },
  Api: { type: 'AWS::Serverless::Api', notGlobal: [] },
  SimpleTable: { type: 'AWS::Serverless::SimpleTable', notGlobal: [] },
  LayerVersion: { type: 'AWS::Serverless::LayerVersion', notGlobal: ['ContentUri', 'LayerName'] }
}

const TOP_LEVEL = ['AWSTemplateFormatVersion', 'Transform', 'Description', 'Metadata', 'Parameters', 'Mappings', 'Conditions', 'Rules', 'Resources', 'Outputs', 'Globals']
const RESOURCE_KEYS = ['Type', 'Properties', 'Metadata', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'UpdatePolicy', 'CreationPolicy']
const PSEUDO_PARAMETERS = ['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix']
const INTRINSICS = ['Ref', 'Condition', 'Fn::Base64', 'Fn::Cidr', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs', 'Fn::ImportValue', 'Fn::Join', 'Fn::Length', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::ToJsonString', 'Fn::If', 'Fn::Transform', 'Fn::And', 'Fn::Equals', 'Fn::Not', 'Fn::Or']

let cached: Specification | undefined

/** cfnspec's CloudFormation specification with the SAM types replaced by SAM_SPEC. */
export function specification (): Specification {
  if (cached !== undefined) return cached
  const require = createRequire(import.meta.url)
  const cfn = (require('@aws-cdk/cfnspec') as { specification(): Specification }).specification()
  const resourceTypes: Record<string, TypeSpec> = {}
  for (const [name, spec] of Object.entries(cfn.ResourceTypes)) if (!(name in SAM_SPEC.ResourceTypes)) resourceTypes[name] = spec
  const propertyTypes: Specification['PropertyTypes'] = {}
  for (const [name, spec] of Object.entries(cfn.PropertyTypes)) if (!(name.split('.')[0]! in SAM_SPEC.ResourceTypes)) propertyTypes[name] = spec
  cached = {
    ResourceTypes: { ...resourceTypes, ...SAM_SPEC.ResourceTypes },
    PropertyTypes: { ...propertyTypes, ...SAM_SPEC.PropertyTypes }
  }
  return cached
}

function isObject (v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** An intrinsic function or condition call: its value is only known at deploy time. */
export function isIntrinsic (v: unknown): boolean {
  if (!isObject(v)) return false
  const keys = Object.keys(v)
  return keys.length === 1 && INTRINSICS.includes(keys[0]!)
}

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
  return problems
}

// ------------------------------------------------------------------ HTTP API routes

export interface HttpRoute { function: string; event: string; method: string; path: string }

export function httpApiRoutes (template: Json): HttpRoute[] {
  const out: HttpRoute[] = []
  for (const [name, r] of Object.entries((template.Resources ?? {}) as Record<string, Json>)) {
    if (r.Type !== 'AWS::Serverless::Function') continue
    const events = ((r.Properties as Json | undefined)?.Events ?? {}) as Record<string, Json>
    for (const [event, e] of Object.entries(events)) {
      if (e.Type !== 'HttpApi') continue
      const p = (e.Properties ?? {}) as Json
      out.push({ function: name, event, method: String(p.Method ?? 'ANY').toUpperCase(), path: String(p.Path ?? '/$default') })
    }
  }
  return out
}

/** Path parameters when `path` matches an HTTP API route path, else undefined. */
export function matchRoutePath (routePath: string, path: string): Record<string, string> | undefined {
  const want = routePath.split('/').filter((s) => s !== '')
  const have = path.split('?')[0]!.split('/').filter((s) => s !== '')
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const seg = want[i]!
    const greedy = /^\{(.+)\+\}$/.exec(seg)
    if (greedy !== null) {
      if (i !== want.length - 1 || have.length <= i) return undefined
      params[greedy[1]!] = have.slice(i).join('/')
      return params
    }
    const h = have[i]
    if (h === undefined) return undefined
    const param = /^\{(.+)\}$/.exec(seg)
    if (param !== null) params[param[1]!] = h
    else if (seg !== h) return undefined
  }
  return have.length === want.length ? params : undefined
}

function compareScores (a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

/**
 * The route API Gateway picks for a request: full matches before greedy ({proxy+}) ones, then the
 * one with more literal segments, then a specific method before ANY.
 */
export function selectRoute (routes: HttpRoute[], method: string, path: string): { route: HttpRoute; pathParameters: Record<string, string> } | undefined {
  let best: { route: HttpRoute; pathParameters: Record<string, string>; score: number[] } | undefined
  for (const route of routes) {
    if (route.method !== 'ANY' && route.method !== method.toUpperCase()) continue
    const pathParameters = matchRoutePath(route.path, path)
    if (pathParameters === undefined) continue
    const segments = route.path.split('/').filter((s) => s !== '')
    const greedy = segments.some((s) => s.endsWith('+}'))
    const literals = segments.filter((s) => !s.startsWith('{')).length
    const score = [greedy ? 0 : 1, literals, route.method === 'ANY' ? 0 : 1]
    if (best === undefined || compareScores(score, best.score) > 0) best = { route, pathParameters, score }
  }
  return best === undefined ? undefined : { route: best.route, pathParameters: best.pathParameters }
}

/** A concrete path for a Fastify route URL (`:param` → a sample segment, `*` → two segments). */
export function samplePath (url: string): string {
  const path = url.split('/').map((seg) => seg.startsWith(':') ? 'sample-value' : seg === '*' ? 'sample/rest' : seg.replace(/:[A-Za-z0-9_]+/g, 'x')).join('/')
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

// ------------------------------------------------------------------ cross-reference with the code

export type Surface = 'api' | 'evaluate' | 'worker'

/** Which code each Lambda entry point runs. */
export const ENTRY_SURFACES: Record<string, Surface> = {
  'src/lambda/api.ts': 'api',
  'src/lambda/evaluate.ts': 'evaluate',
  'src/lambda/audit-consumer.ts': 'worker',
  'src/lambda/maintenance.ts': 'worker'
}

/** Environment variables the entry points read besides the config schema's. */
export const ENTRY_VARIABLES: Record<string, { surfaces: Surface[]; provides?: string; why: string }> = {
  JWT_SECRET_ARN: { surfaces: ['api', 'evaluate'], provides: 'JWT_SECRET', why: 'src/lambda/env.ts reads the secret from Secrets Manager' },
  JWT_SECRET_GENERATION: { surfaces: ['api', 'evaluate'], why: 'changing it after a rotation makes new containers read the new secret' },
  NODE_OPTIONS: { surfaces: ['api', 'evaluate', 'worker'], why: 'read by node itself' }
}

/** Set by the Lambda runtime; a template may not set them. */
const RESERVED_VARIABLES = /^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_EXECUTION_ENV|AWS_LAMBDA_.*|_HANDLER|_X_AMZN_TRACE_ID|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ)$/
const RUNTIME_PROVIDED = ['AWS_REGION']

export interface RouteTable { method: string; url: string }

export interface CodeFacts {
  routes: Record<'api' | 'evaluate', RouteTable[]>
  /** JSON schema of the configuration each surface validates. */
  schemas: Record<Surface, { properties: Record<string, Json>; required?: string[] }>
}

/** Builds both app surfaces on a bare Fastify (no listen, no bootstrap) and records their routes. */
export async function collectCodeFacts (): Promise<CodeFacts> {
  const { default: Fastify } = await import('fastify')
  const { default: app } = await import('../src/app.js')
  const { default: evaluateApp } = await import('../src/evaluate-app.js')
  const { ConfigSchema } = await import('../src/config.js')
  const { WorkerConfigSchema } = await import('../src/lambda/env.js')
  // Endpoints nobody listens on: building the apps must not need the network.
  const env = {
    TABLE_NAME: 'switchyard-check',
    AWS_REGION: 'us-east-1',
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    SQS_ENDPOINT: 'http://127.0.0.1:9',
    AUDIT_QUEUE_URL: 'http://127.0.0.1:9/000000000000/audit',
    JWT_SECRET: 'x'.repeat(48),
    LOG_LEVEL: 'silent'
  }
  async function routesOf (register: (f: import('fastify').FastifyInstance) => Promise<void>): Promise<RouteTable[]> {
    const fastify = Fastify({ logger: false })
    const routes: RouteTable[] = []
    fastify.addHook('onRoute', (r) => {
      for (const m of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method: String(m).toUpperCase(), url: r.url })
    })
    await register(fastify)
    await fastify.ready()
    await fastify.close()
    return routes
  }
  const api = await routesOf(async (f) => { await f.register(app, { env, docsUi: false, bootstrap: false }) })
  const evaluate = await routesOf(async (f) => { await f.register(evaluateApp, { env }) })
  const config = ConfigSchema as unknown as CodeFacts['schemas']['api']
  return { routes: { api, evaluate }, schemas: { api: config, evaluate: config, worker: WorkerConfigSchema as unknown as CodeFacts['schemas']['worker'] } }
}

function surfaceOf (fn: Json): Surface | undefined {
  const entry = (((fn.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints as string[] | undefined)?.[0]
  return entry === undefined ? undefined : ENTRY_SURFACES[entry.replace(/^\.\//, '')]
}

function functionEnv (template: Json, fn: Json): Json {
  const globalVars = (((template.Globals as Json | undefined)?.Function as Json | undefined)?.Environment as Json | undefined)?.Variables as Json | undefined
  const own = ((fn.Properties as Json | undefined)?.Environment as Json | undefined)?.Variables as Json | undefined
  return { ...(globalVars ?? {}), ...(own ?? {}) }
}

/** Values a template expression can take, when knowable offline (literals and parameter AllowedValues). */
function possibleValues (template: Json, value: unknown): unknown[] | undefined {
  if (!isIntrinsic(value)) return [value]
  const ref = (value as Json).Ref
  if (typeof ref === 'string') {
    const param = ((template.Parameters ?? {}) as Record<string, Json>)[ref]
    if (param?.AllowedValues !== undefined) return param.AllowedValues as unknown[]
    if (param?.Default !== undefined) return [param.Default]
  }
  return undefined
}

export function checkCrossReference (template: Json, facts: CodeFacts): string[] {
  const problems: string[] = []
  const resources = (template.Resources ?? {}) as Record<string, Json>
  const routes = httpApiRoutes(template)
  const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function')
  const surfaces = new Map(functions.map(([name, fn]) => [name, surfaceOf(fn)]))

  for (const [name, fn] of functions) {
    const surface = surfaces.get(name)
    const entry = (((fn.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints as string[] | undefined)?.[0]
    if (surface === undefined) problems.push(`${name}: entry point ${String(entry)} is not one of ${Object.keys(ENTRY_SURFACES).join(', ')}`)
    if (surface === 'worker' && routes.some((r) => r.function === name)) problems.push(`${name}: a worker function has HttpApi events`)
  }

  // Every route of every HTTP surface reaches a function serving it.
  const serves = (surface: Surface | undefined, method: string, url: string) =>
    surface !== undefined && surface !== 'worker' && facts.routes[surface].some((r) => r.method === method && r.url.replace(/\/$/, '') === url.replace(/\/$/, ''))
  for (const surface of ['api', 'evaluate'] as const) {
    if (![...surfaces.values()].includes(surface)) continue
    for (const r of facts.routes[surface]) {
      if (r.method === 'HEAD' || r.method === 'OPTIONS') continue // HEAD mirrors GET; CORS preflights are answered by the HttpApi
      const path = samplePath(r.url)
      const hit = selectRoute(routes, r.method, path)
      if (hit === undefined) {
        problems.push(`route ${r.method} ${r.url} (${surface}) is not reachable: no HttpApi event matches ${r.method} ${path}`)
        continue
      }
      const target = surfaces.get(hit.route.function)
      if (!serves(target, r.method, r.url)) {
        problems.push(`route ${r.method} ${r.url} (${surface}) is routed by "${hit.route.method} ${hit.route.path}" to ${hit.route.function}, whose app (${String(target)}) does not serve it`)
      }
    }
  }
  // ...and no event sends traffic to a function that serves nothing under it.
  for (const route of routes) {
    const surface = surfaces.get(route.function)
    if (surface === undefined || surface === 'worker') continue
    const served = facts.routes[surface].some((r) => {
      if (r.method === 'HEAD' || r.method === 'OPTIONS') return false
      if (route.method !== 'ANY' && route.method !== r.method) return false
      const hit = selectRoute(routes, r.method, samplePath(r.url))
      return hit?.route === route
    })
    if (!served) problems.push(`${route.function}.Events.${route.event}: "${route.method} ${route.path}" reaches no route of the ${surface} app`)
  }

  // Configuration: required values present, names known, literal values valid.
  const ajv = new Ajv({ strict: false, coerceTypes: true, allErrors: true })
  addFormats.default(ajv)
  for (const [name, fn] of functions) {
    const surface = surfaces.get(name)
    if (surface === undefined) continue
    const schema = facts.schemas[surface]
    const env = functionEnv(template, fn)
    const provided = new Set([...Object.keys(env), ...RUNTIME_PROVIDED])
    for (const key of Object.keys(env)) {
      if (RESERVED_VARIABLES.test(key)) problems.push(`${name}: sets ${key}, which the Lambda runtime reserves`)
      const entryVar = ENTRY_VARIABLES[key]
      if (entryVar !== undefined) {
        if (!entryVar.surfaces.includes(surface)) problems.push(`${name}: sets ${key}, which its entry point (${surface}) does not read`)
        if (entryVar.provides !== undefined) provided.add(entryVar.provides)
        continue
      }
      const prop = schema.properties[key]
      if (prop === undefined) {
        problems.push(`${name}: sets ${key}, which neither the ${surface} config schema nor its entry point knows`)
        continue
      }
      const values = possibleValues(template, env[key])
      if (values !== undefined) {
        const validate = ajv.compile(prop)
        for (const v of values) if (!validate(typeof v === 'number' ? String(v) : v)) problems.push(`${name}: ${key}=${JSON.stringify(v)} fails the config schema (${ajv.errorsText(validate.errors)})`)
      }
    }
    for (const key of schema.required ?? []) {
      if (schema.properties[key]?.default !== undefined) continue
      if (!provided.has(key)) problems.push(`${name}: the ${surface} config requires ${key}, which neither the template nor the entry point provides`)
    }
  }
  return problems
}

/** The table and queue settings the local stack uses, compared with the template's. */
export async function checkInfrastructure (template: Json): Promise<string[]> {
  const problems: string[] = []
  const resources = (template.Resources ?? {}) as Record<string, Json>
  const { tableDefinition, AUDIT_MAX_RECEIVE_COUNT } = await import('../src/local/provision.js')
  const local = tableDefinition('x')
  const table = Object.values(resources).find((r) => r.Type === 'AWS::DynamoDB::Table')?.Properties as Json | undefined
  if (table === undefined) problems.push('no AWS::DynamoDB::Table')
  else {
    const norm = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => isObject(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x)
    for (const key of ['AttributeDefinitions', 'KeySchema', 'GlobalSecondaryIndexes', 'BillingMode'] as const) {
      if (norm(table[key]) !== norm(local[key])) problems.push(`Table.${key} differs from src/local/provision.ts: ${norm(table[key])} vs ${norm(local[key])}`)
    }
  }
  const queues = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SQS::Queue')
  const consumers = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function').flatMap(([name, fn]) => {
    const events = ((fn.Properties as Json | undefined)?.Events ?? {}) as Record<string, Json>
    return Object.values(events).filter((e) => e.Type === 'SQS').map((e) => ({ name, fn, props: (e.Properties ?? {}) as Json }))
  })
  for (const c of consumers) {
    const q = (c.props.Queue as Json | undefined)?.['Fn::GetAtt']
    const queueName = Array.isArray(q) ? String(q[0]) : typeof q === 'string' ? q.split('.')[0]! : undefined
    const queue = queues.find(([n]) => n === queueName)?.[1]?.Properties as Json | undefined
    if (queue === undefined) {
      problems.push(`${c.name}: SQS event source does not name a queue of this template`)
      continue
    }
    const timeout = Number((c.fn.Properties as Json).Timeout ?? ((template.Globals as Json | undefined)?.Function as Json | undefined)?.Timeout ?? 3)
    if (Number(queue.VisibilityTimeout ?? 30) < 6 * timeout) problems.push(`${queueName}: VisibilityTimeout ${String(queue.VisibilityTimeout ?? 30)} s is below 6 x ${c.name}'s timeout (${timeout} s)`)
    const redrive = queue.RedrivePolicy as Json | undefined
    if (Number(redrive?.maxReceiveCount) !== AUDIT_MAX_RECEIVE_COUNT) problems.push(`${queueName}: RedrivePolicy.maxReceiveCount ${String(redrive?.maxReceiveCount)} differs from the local stack's ${AUDIT_MAX_RECEIVE_COUNT}`)
    if (!((c.props.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures')) problems.push(`${c.name}: SQS event source without FunctionResponseTypes ReportBatchItemFailures (the handler answers batchItemFailures)`)
  }
  // The bcrypt layer must carry the version the code is tested with.
  for (const [name, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::Serverless::LayerVersion') continue
    const dir = resolve(ROOT, String((r.Properties as Json).ContentUri))
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
    for (const [pkg, version] of Object.entries(manifest.dependencies ?? {})) {
      const installed = (JSON.parse(await readFile(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
      if (installed !== version) problems.push(`${name}: layer pins ${pkg}@${version}, the project uses ${installed}`)
    }
  }
  return problems
}

/** Builds the bundles into a temporary directory (build-lambda fails on a missing handler export). */
export async function checkBuild (template: Json): Promise<string[]> {
  const problems: string[] = []
  for (const [name, r] of Object.entries((template.Resources ?? {}) as Record<string, Json>)) {
    if (r.Type !== 'AWS::Serverless::Function') continue
    const entries = (((r.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints as string[] | undefined) ?? []
    for (const e of entries) await stat(resolve(ROOT, String((r.Properties as Json).CodeUri ?? '.'), e)).catch(() => problems.push(`${name}: entry point ${e} does not exist`))
  }
  if (problems.length > 0) return problems
  const out = await mkdtemp(join(tmpdir(), 'switchyard-check-'))
  try {
    await buildLambdas({ outDir: out, template })
  } catch (err) {
    problems.push(`build: ${(err as Error).message}`)
  } finally {
    await rm(out, { recursive: true, force: true })
  }
  return problems
}

export async function checkTemplate (opts: { template?: Json; build?: boolean } = {}): Promise<string[]> {
  const template = opts.template ?? await loadTemplate()
  const problems = checkSpecification(template)
  problems.push(...checkCrossReference(template, await collectCodeFacts()))
  problems.push(...await checkInfrastructure(template))
  if (opts.build !== false) problems.push(...await checkBuild(template))
  return problems
}

async function main () {
  const problems = await checkTemplate()
  if (problems.length > 0) {
    process.stderr.write(`template.yaml: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
    process.exit(1)
  }
  const template = await loadTemplate()
  const n = Object.keys(template.Resources as Json).length
  process.stdout.write(`template.yaml: ${n} resources conform to the CloudFormation/SAM specification; ${httpApiRoutes(template).length} HttpApi routes reach every app route; config, table, queues and bundles agree with the code\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`check:template failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(1)
  })
}
