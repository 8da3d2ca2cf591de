// OpenFeature Remote Evaluation Protocol (OFREP) request/response shapes, after the component
// schemas of open-feature/protocol `service/openapi.yaml` (copied as JSON Schema into
// test/fixtures/ofrep/, which the tests validate every response against).
import { Type, type Static } from '@sinclair/typebox'
import { EvaluationContextSchema } from './evaluate.js'

export const OFREP_ERROR_CODES = ['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL'] as const
export type OfrepErrorCode = (typeof OFREP_ERROR_CODES)[number] | 'FLAG_NOT_FOUND'

export const OfrepEvaluationRequest = Type.Object({
  context: Type.Optional(EvaluationContextSchema)
}, { additionalProperties: false, description: 'OFREP evaluationRequest; the body may also be omitted', examples: [{ context: { targetingKey: 'user-42', country: 'FR' } }] })
export type OfrepEvaluationRequest = Static<typeof OfrepEvaluationRequest>

export const OfrepMetadata = Type.Record(Type.String(), Type.Union([Type.Boolean(), Type.String(), Type.Number()]), {
  description: 'Flag metadata: environment, version (the flag version that produced the value) and, when a rule or target decided, ruleId'
})

export const OfrepEvaluationSuccess = Type.Object({
  key: Type.String(),
  value: Type.Unknown({ description: 'The served value: boolean, string, number or object' }),
  reason: Type.String({ description: 'OpenFeature reason: STATIC, TARGETING_MATCH, SPLIT, DISABLED or DEFAULT' }),
  variant: Type.Optional(Type.String()),
  metadata: Type.Optional(OfrepMetadata)
}, { description: 'OFREP evaluationSuccess' })
export type OfrepEvaluationSuccess = Static<typeof OfrepEvaluationSuccess>

export const OfrepEvaluationFailure = Type.Object({
  key: Type.String(),
  errorCode: Type.Union(OFREP_ERROR_CODES.map((c) => Type.Literal(c))),
  errorDetails: Type.Optional(Type.String())
}, { description: 'OFREP evaluationFailure' })
export type OfrepEvaluationFailure = Static<typeof OfrepEvaluationFailure>

export const OfrepFlagNotFound = Type.Object({
  key: Type.String(),
  errorCode: Type.Literal('FLAG_NOT_FOUND'),
  errorDetails: Type.Optional(Type.String())
}, { description: 'OFREP flagNotFound' })

export const OfrepBulkEvaluationSuccess = Type.Object({
  flags: Type.Array(Type.Union([OfrepEvaluationSuccess, OfrepEvaluationFailure]), { description: 'Every flag configured in the environment, by key' })
}, { description: 'OFREP bulkEvaluationSuccess' })
export type OfrepBulkEvaluationSuccess = Static<typeof OfrepBulkEvaluationSuccess>

export const OfrepBulkEvaluationFailure = Type.Object({
  errorCode: Type.String(),
  errorDetails: Type.Optional(Type.String())
}, { description: 'OFREP bulkEvaluationFailure' })

export const OfrepFlagParams = Type.Object({
  key: Type.String({ minLength: 1, maxLength: 256, description: 'Flag key (the flag name)' })
})

export const OfrepHeaders = Type.Object({
  'x-environment': Type.Optional(Type.String({ description: 'Environment to evaluate in, for a user token (ADMIN or CLIENT JWT). API keys carry their environment; if sent with one, it must match.' })),
  'if-none-match': Type.Optional(Type.String({ description: 'Bulk only: the ETag of a previous bulk response; 304 when the evaluated result is unchanged' }))
}, { additionalProperties: true })

export const OfrepQuery = Type.Object({
  environment: Type.Optional(Type.String({ description: 'Alternative to the X-Environment header' }))
}, {
  // Providers may append protocol query parameters (e.g. ADR-0008 refetch metadata): ignore them.
  additionalProperties: true
})

export const OfrepConfiguration = Type.Object({
  name: Type.String(),
  capabilities: Type.Object({
    cacheInvalidation: Type.Object({
      polling: Type.Object({ enabled: Type.Boolean(), minPollingIntervalMs: Type.Number() })
    }),
    flagEvaluation: Type.Object({
      supportedTypes: Type.Array(Type.String())
    })
  })
}, { description: 'OFREP configurationResponse' })
