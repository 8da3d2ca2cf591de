import { Type } from '@sinclair/typebox'
import { EnvName, FlagName } from '../domain/model.js'

export const EvaluationContextSchema = Type.Object({
  targetingKey: Type.Optional(Type.String({ maxLength: 256, description: 'The subject being evaluated (user id, …); used by targets and rollouts' }))
}, {
  additionalProperties: true,
  maxProperties: 200,
  // Checked by the keyword plugins/validation.ts adds; DynamoDB's own nesting limit.
  maxDepth: 32,
  description: 'Attributes of the subject; any JSON values (at most 200 attributes, nested at most 32 levels deep)',
  examples: [{ targetingKey: 'user-42', country: 'FR', plan: 'pro', appVersion: '2.3.1' }]
})

export const EvaluateBody = Type.Object({
  feature: FlagName,
  environment: EnvName,
  context: Type.Optional(EvaluationContextSchema)
}, { additionalProperties: false, examples: [{ feature: 'new-checkout', environment: 'prod', context: { targetingKey: 'user-42', country: 'FR' } }] })

export const EvaluationResponse = Type.Object({
  feature: Type.String(),
  environment: Type.String(),
  enabled: Type.Boolean({ description: 'For boolean flags the value; for other types, whether the flag is on (not DISABLED, no error)' }),
  value: Type.Unsafe<unknown>({ description: 'The served value (boolean, string, number or JSON)' }),
  variant: Type.Optional(Type.String()),
  reason: Type.Union(['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'DEFAULT', 'ERROR'].map((r) => Type.Literal(r))),
  ruleId: Type.Optional(Type.String()),
  errorCode: Type.Optional(Type.String()),
  errorMessage: Type.Optional(Type.String())
})
