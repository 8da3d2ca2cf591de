// The one description of the service's configuration, validated once at boot by loadConfig():
// plugins/config.ts (the app), the workers and the scripts all call it.
import { Type, type Static } from '@sinclair/typebox'
import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'

export const ConfigSchema = Type.Object({
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535 }),
  DATA_DIR: Type.String({ default: '.data' }),
  TABLE_NAME: Type.String({ default: 'switchyard', minLength: 3, maxLength: 255 }),
  AWS_REGION: Type.String({ default: 'us-east-1' }),
  DYNAMODB_ENDPOINT: Type.Optional(Type.String({ format: 'uri' })),
  SQS_ENDPOINT: Type.Optional(Type.String({ format: 'uri' })),
  AUDIT_QUEUE_URL: Type.String({ minLength: 1 }),
  JWT_SECRET: Type.String({ minLength: 32, description: 'HS256 signing secret, at least 32 bytes' }),
  JWT_TTL_SECONDS: Type.Integer({ default: 3600, minimum: 60, maximum: 86400 }),
  ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email' })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12 })),
  BCRYPT_ROUNDS: Type.Integer({ default: 12, minimum: 4, maximum: 15 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  OUTBOX_SWEEP_AGE_MS: Type.Integer({ default: 30_000, minimum: 0 }),
  CORS_ORIGINS: Type.String({ default: '*', description: 'Comma-separated origins allowed by CORS, or *' }),
  EVAL_CACHE_TTL_MS: Type.Integer({ default: 5_000, minimum: 0 }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 6_000, minimum: 1, description: 'Evaluation requests per client per minute' }),
  LOGIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 10, minimum: 1 }),
  SHED_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 1000, minimum: 0, description: 'Answer 503 while the event loop lags more than this; 0 disables' })
})
export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

let validate: ReturnType<Ajv['compile']> | undefined

/**
 * Validate a plain env map: strings coerced to the schema's types, defaults applied, unknown keys
 * ignored, every problem named in one ConfigError (never a value: JWT_SECRET is one of them).
 * One Ajv instance without meta-schema validation: compiling the JSON Schema meta-schema costs a
 * Lambda cold start tens of milliseconds, and ConfigSchema is a constant that
 * test/schemas.test.ts checks against the meta-schema instead.
 */
export function loadConfig (env: Record<string, string | undefined>): Config {
  if (validate === undefined) {
    const ajv = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: true, allErrors: true, strict: false, validateSchema: false })
    addFormats.default(ajv)
    validate = ajv.compile({ ...ConfigSchema, additionalProperties: false })
  }
  const data: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k in ConfigSchema.properties) data[k] = v
  if (!validate(data)) {
    throw new ConfigError('Invalid configuration: ' + describeConfigErrors(validate.errors ?? [], ConfigSchema))
  }
  return data as Config
}

/** One phrase per problem, naming the setting, never its value ("LOG_LEVEL must be one of …"). */
export function describeConfigErrors (errors: ErrorObject[], schema: { properties: Record<string, unknown> }): string {
  const phrases: string[] = []
  for (const e of errors) {
    if (e.keyword === 'const') continue // one branch of a union of literals: its anyOf error says it all
    const key = e.keyword === 'required' ? String(e.params.missingProperty) : e.instancePath.slice(1)
    const literals = ((schema.properties[key] as { anyOf?: Array<{ const?: unknown }> } | undefined)?.anyOf ?? []).map((b) => b.const).filter((c) => c !== undefined)
    const phrase = e.keyword === 'required'
      ? `${key} is required`
      : e.keyword === 'anyOf' && literals.length > 0 ? `${key} must be one of ${literals.join(', ')}` : `${key} ${e.message ?? 'is invalid'}`
    if (!phrases.includes(phrase)) phrases.push(phrase)
  }
  return phrases.join('; ')
}
