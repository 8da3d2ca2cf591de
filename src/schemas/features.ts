import { Type, type Static } from '@sinclair/typebox'
import {
  EnvName, FlagName, FlagType, Variant, Serve, Target, Rule, Prerequisite, ScheduledChange,
  VARIANT_KEY_PATTERN, ENV_NAME_PATTERN
} from '../domain/model.js'
import { Cursor } from './common.js'

export const EnvConfigBody = Type.Object({
  enabled: Type.Boolean(),
  enableAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Enable automatically once this time has passed (a scheduled change with id "enable-at")' })),
  offVariant: Type.Optional(Type.String({ pattern: VARIANT_KEY_PATTERN, description: 'Served when disabled; default "off" for boolean flags' })),
  defaultServe: Type.Optional(Serve),
  targets: Type.Optional(Type.Array(Target, { maxItems: 100 })),
  rules: Type.Optional(Type.Array(Rule, { maxItems: 200 })),
  prerequisites: Type.Optional(Type.Array(Prerequisite, { maxItems: 20 })),
  schedule: Type.Optional(Type.Array(ScheduledChange, { maxItems: 50 }))
}, { additionalProperties: false, examples: [{ enabled: true }, { enabled: false, enableAt: '2030-01-01T09:00:00Z' }] })
export type EnvConfigBody = Static<typeof EnvConfigBody>

export const CreateFeatureBody = Type.Object({
  name: FlagName,
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  type: Type.Optional(FlagType),
  variants: Type.Optional(Type.Array(Variant, { minItems: 1, maxItems: 100, description: 'Default for boolean flags: on=true, off=false' })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
  environments: Type.Record(Type.String({ pattern: ENV_NAME_PATTERN }), Type.Union([Type.Boolean(), EnvConfigBody]), {
    additionalProperties: false,
    maxProperties: 40,
    description: '`true`/`false` for a simple on/off boolean flag, or a full targeting config per environment'
  })
}, { additionalProperties: false, examples: [{ name: 'new-checkout', description: 'The new checkout flow', environments: { dev: true, prod: false } }] })
export type CreateFeatureBody = Static<typeof CreateFeatureBody>

export const UpdateFeatureBody = Type.Object({
  description: Type.Optional(Type.String({ maxLength: 1000 })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
  variants: Type.Optional(Type.Array(Variant, { minItems: 1, maxItems: 100 }))
}, { additionalProperties: false, minProperties: 1 })
export type UpdateFeatureBody = Static<typeof UpdateFeatureBody>

const featureFields = {
  name: Type.String(),
  description: Type.String(),
  type: FlagType,
  variants: Type.Array(Variant),
  tags: Type.Array(Type.String()),
  createdAt: Type.String(),
  createdBy: Type.String(),
  updatedAt: Type.String(),
  updatedBy: Type.String(),
  version: Type.Integer()
}

export const FeatureSchema = Type.Object({
  ...featureFields,
  environments: Type.Record(Type.String(), Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true, description: 'Targeting, version, updatedAt/By and enableAt of the flag in that environment' }))
}, { $id: 'Feature' })

export const FeatureParams = Type.Object({ flag: FlagName })
export const FeatureEnvParams = Type.Object({ flag: FlagName, env: EnvName })

export const ListFeaturesQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Cursor,
  prefix: Type.Optional(Type.String({ maxLength: 64, description: 'Only names starting with this' })),
  include: Type.Optional(Type.Literal('environments', { description: 'Also return each flag\'s environment configs, as GET /features/{flag} does (one page, one request, e.g. for a list of per-environment switches)' }))
})

export const FeatureListSchema = Type.Object({
  items: Type.Array(Type.Object({
    ...featureFields,
    environments: Type.Optional(Type.Record(Type.String(), Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true, description: 'With include=environments: the flag in that environment, as in GET /features/{flag}' })))
  })),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})

export const PutEnvResponse = Type.Object({
  feature: Type.String(),
  environment: Type.String(),
  version: Type.Integer({ description: 'The flag version after this change (the new ETag)' }),
  config: Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true })
})
