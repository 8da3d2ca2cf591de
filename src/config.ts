// The one description of the service's configuration, validated once at boot by loadConfig():
// plugins/config.ts (the app), the workers and the scripts all call it.
import { Type, type Static } from '@sinclair/typebox'
import { checkEnv } from './env-check.js'

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
  AUDIT_RETENTION_DAYS: Type.Integer({ default: 0, minimum: 0, maximum: 36_500, description: 'Days an audit record lives before DynamoDB TTL deletes it; 0 keeps it forever' }),
  CORS_ORIGINS: Type.String({ default: '*', description: 'Comma-separated origins allowed by CORS, or *' }),
  EVAL_CACHE_TTL_MS: Type.Integer({ default: 5_000, minimum: 0 }),
  EVAL_FAST_LANE: Type.Boolean({ default: true, description: 'Long-running server only: answer cached evaluations in front of Fastify (src/fast-lane.ts)' }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 6_000, minimum: 1, description: 'Evaluation requests per client per minute' }),
  LOGIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 10, minimum: 1 }),
  SHED_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 1000, minimum: 0, description: 'Answer 503 while the event loop lags more than this; 0 disables' }),
  WEBHOOK_QUEUE_URL: Type.Optional(Type.String({ minLength: 1, description: 'Queue of webhook delivery wake-ups; without it no webhook is delivered' })),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: Type.Boolean({ default: false, description: 'Allow webhook URLs on loopback/private/link-local addresses and plain http:// (local receivers only)' }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, maximum: 60_000, description: 'Deadline of one webhook attempt: DNS, connect, TLS, request and response headers' }),
  WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: Type.Integer({ default: 4, minimum: 1, maximum: 100, description: 'Attempts in progress per webhook endpoint in one process; more wait their turn' })
})
export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

/**
 * Validate a plain env map: strings coerced to the schema's types, defaults applied, unknown keys
 * ignored, every problem named in one ConfigError (never a value: JWT_SECRET is one of them).
 * checkEnv (src/env-check.ts) applies Ajv's rules without compiling a validator: about 50 ms less
 * in a Lambda cold start.
 */
export function loadConfig (env: Record<string, string | undefined>): Config {
  const result = checkEnv(ConfigSchema, env)
  if (!result.ok) throw new ConfigError('Invalid configuration: ' + result.problems.join('; '))
  return result.value as Config
}
