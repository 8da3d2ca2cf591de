// The one description of the service's configuration. plugins/config.ts validates it at boot
// with @fastify/env; the workers and scripts validate the same schema with loadConfig().
import { Type, type Static } from '@sinclair/typebox'
import { Ajv } from 'ajv'
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

/** Validate a plain env map outside Fastify (workers, scripts) with the rules @fastify/env applies. */
export function loadConfig (env: Record<string, string | undefined>): Config {
  if (validate === undefined) {
    const ajv = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: true, allErrors: true, strict: false })
    addFormats.default(ajv)
    validate = ajv.compile({ ...ConfigSchema, additionalProperties: false })
  }
  const data: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k in ConfigSchema.properties) data[k] = v
  if (!validate(data)) {
    throw new ConfigError('Invalid configuration: ' + (validate.errors ?? []).map((e) => `${e.instancePath.slice(1) || e.params.missingProperty as string} ${e.message ?? ''}`).join('; '))
  }
  return data as Config
}
