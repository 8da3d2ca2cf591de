// The flag model shared by the engine, the repositories and the routes. TypeBox schemas are
// plain JSON Schema objects (no I/O), so the domain can own them and the HTTP layer reuses them.
import { Type, type Static } from '@sinclair/typebox'
import { OPERATORS, ROLLOUT_TOTAL } from './constants.js'

export const FLAG_NAME_PATTERN = '^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$'
export const ENV_NAME_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$'
export const VARIANT_KEY_PATTERN = '^[A-Za-z0-9_.-]{1,64}$'
export const SEGMENT_KEY_PATTERN = '^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$'

export { ROLLOUT_TOTAL, OPERATORS } from './constants.js'

export const FlagName = Type.String({
  pattern: FLAG_NAME_PATTERN,
  description: 'Lowercase slug: a-z, 0-9, ".", "_" and "-", 1–64 characters, starting and ending with a letter or digit',
  examples: ['new-checkout']
})
export const EnvName = Type.String({
  pattern: ENV_NAME_PATTERN,
  description: 'Lowercase slug: a-z, 0-9 and "-", 1–32 characters',
  examples: ['prod']
})

export const FlagType = Type.Union(
  [Type.Literal('boolean'), Type.Literal('string'), Type.Literal('number'), Type.Literal('json')],
  { description: 'Type of every variant value' }
)
export type FlagType = Static<typeof FlagType>

export const Variant = Type.Object(
  {
    key: Type.String({ pattern: VARIANT_KEY_PATTERN }),
    value: Type.Unknown({ description: 'Value served; must match the flag type' }),
    description: Type.Optional(Type.String({ maxLength: 500 }))
  },
  { additionalProperties: false }
)
export type Variant = Static<typeof Variant>

export type Operator = (typeof OPERATORS)[number]

export const Clause = Type.Object(
  {
    attribute: Type.String({ minLength: 1, maxLength: 128, description: 'Context attribute; `targetingKey` for the key' }),
    operator: Type.Union(OPERATORS.map((op) => Type.Literal(op))),
    values: Type.Array(Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]), { maxItems: 1000 }),
    negate: Type.Optional(Type.Boolean()),
    caseInsensitive: Type.Optional(Type.Boolean())
  },
  { additionalProperties: false }
)
export type Clause = Static<typeof Clause>

export const WeightedVariant = Type.Object(
  {
    variant: Type.String({ pattern: VARIANT_KEY_PATTERN }),
    weight: Type.Integer({ minimum: 0, maximum: ROLLOUT_TOTAL })
  },
  { additionalProperties: false }
)

export const Rollout = Type.Object(
  {
    variants: Type.Array(WeightedVariant, { minItems: 1, maxItems: 100, description: 'Weights sum to 100000' }),
    bucketBy: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Context attribute; default targetingKey' })),
    salt: Type.Optional(Type.String({ maxLength: 128, description: 'Default: the flag name' }))
  },
  { additionalProperties: false }
)
export type Rollout = Static<typeof Rollout>

export const Serve = Type.Union(
  [
    Type.Object({ variant: Type.String({ pattern: VARIANT_KEY_PATTERN }) }, { additionalProperties: false }),
    Type.Object({ rollout: Rollout }, { additionalProperties: false })
  ],
  { description: 'A fixed variant or a weighted rollout' }
)
export type Serve = Static<typeof Serve>

export const Rule = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    clauses: Type.Array(Clause, { maxItems: 50, description: 'All must match (AND)' }),
    serve: Serve
  },
  { additionalProperties: false }
)
export type Rule = Static<typeof Rule>

export const Target = Type.Object(
  {
    variant: Type.String({ pattern: VARIANT_KEY_PATTERN }),
    values: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000, description: 'targetingKeys' })
  },
  { additionalProperties: false }
)
export type Target = Static<typeof Target>

export const Prerequisite = Type.Object(
  { flag: FlagName, variant: Type.String({ pattern: VARIANT_KEY_PATTERN }) },
  { additionalProperties: false }
)
export type Prerequisite = Static<typeof Prerequisite>

export const ScheduledChange = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
    at: Type.String({ format: 'date-time', description: 'When the change applies (ISO 8601 with offset)' }),
    change: Type.Object(
      {
        enabled: Type.Optional(Type.Boolean()),
        defaultServe: Type.Optional(Serve),
        rules: Type.Optional(Type.Array(Rule, { maxItems: 200 }))
      },
      { additionalProperties: false }
    )
  },
  { additionalProperties: false }
)
export type ScheduledChange = Static<typeof ScheduledChange>

export const SegmentRule = Type.Object(
  { clauses: Type.Array(Clause, { maxItems: 50 }) },
  { additionalProperties: false }
)

export const SegmentDefinition = Type.Object(
  {
    key: Type.String({ pattern: SEGMENT_KEY_PATTERN }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    included: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 }),
    excluded: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 }),
    rules: Type.Array(SegmentRule, { maxItems: 100, description: 'A context is in the segment when any rule matches' })
  },
  { additionalProperties: false }
)
export type SegmentDefinition = Static<typeof SegmentDefinition>

/** The targeting of one flag in one environment — what an admin edits. */
export const EnvTargeting = Type.Object(
  {
    enabled: Type.Boolean(),
    offVariant: Type.String({ pattern: VARIANT_KEY_PATTERN }),
    defaultServe: Serve,
    targets: Type.Array(Target, { maxItems: 100 }),
    rules: Type.Array(Rule, { maxItems: 200 }),
    prerequisites: Type.Array(Prerequisite, { maxItems: 20 }),
    schedule: Type.Array(ScheduledChange, { maxItems: 50 })
  },
  { additionalProperties: false }
)
export type EnvTargeting = Static<typeof EnvTargeting>

/**
 * Everything the engine needs to evaluate one flag in one environment: the environment item
 * carries a copy of the flag's type and variants and of the segments its rules reference,
 * so one GetItem is enough.
 */
export interface FlagDefinition extends EnvTargeting {
  flag: string
  environment: string
  type: FlagType
  variants: Variant[]
  /** Snapshot of the segments referenced by segmentMatch clauses, keyed by segment key. */
  segments: Record<string, SegmentDefinition>
  version: number
}

export type EvaluationContext = { targetingKey?: string } & Record<string, unknown>

export type Reason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'DEFAULT' | 'ERROR'
export type ErrorCode = 'FLAG_NOT_FOUND' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'PARSE_ERROR' | 'TYPE_MISMATCH' | 'GENERAL'

export interface EvaluationResult {
  value: unknown
  variant?: string
  reason: Reason
  ruleId?: string
  errorCode?: ErrorCode
  errorMessage?: string
}

/** Off variant for boolean flags created with the original `{dev: true}` shape. */
export function booleanVariants (): Variant[] {
  return [{ key: 'on', value: true }, { key: 'off', value: false }]
}

export function simpleTargeting (enabled: boolean): EnvTargeting {
  return {
    enabled,
    offVariant: 'off',
    defaultServe: { variant: 'on' },
    targets: [],
    rules: [],
    prerequisites: [],
    schedule: []
  }
}
