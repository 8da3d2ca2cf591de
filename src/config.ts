// The one description of the service's configuration, validated once at boot by loadConfig():
// plugins/config.ts (the app), the workers and the scripts all call it.
import { FormatRegistry, Type, type Static, type TObject, type TSchema } from '@sinclair/typebox'
// Named imports, not the Value namespace: the bundles keep only these four (~23 kB minified;
// the namespace is ~60 kB, and TypeBox's Errors another 31 kB, hence expectation() below).
import { Check, Clean, Convert, Default } from '@sinclair/typebox/value'
import { fullFormats } from 'ajv-formats/dist/formats.js'

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
  JWT_SECRET_REFRESH_SECONDS: Type.Integer({ default: 300, minimum: 1, maximum: 86400, description: 'How often a process re-reads the JWT secret (rotation without a restart)' }),
  JWT_TTL_SECONDS: Type.Integer({ default: 3600, minimum: 60, maximum: 86400 }),
  ADMIN_EMAIL: Type.Optional(Type.String({ format: 'email' })),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12 })),
  BCRYPT_ROUNDS: Type.Integer({ default: 12, minimum: 4, maximum: 15 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  OUTBOX_SWEEP_AGE_MS: Type.Integer({ default: 30_000, minimum: 0 }),
  AUDIT_RETENTION_DAYS: Type.Integer({ default: 0, minimum: 0, maximum: 36_500, description: 'Days an audit record lives before DynamoDB TTL deletes it; 0 keeps it forever' }),
  CORS_ORIGINS: Type.String({ default: '*', description: 'Comma-separated origins allowed by CORS, or *' }),
  EVAL_CACHE_TTL_MS: Type.Integer({ default: 5_000, minimum: 0 }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 6_000, minimum: 1, description: 'Evaluation requests per client per minute' }),
  LOGIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 10, minimum: 1 }),
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 1, description: 'Long-running server: a request (headers and body) must arrive within this; 408 after' }),
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 1, description: 'Long-running server: request headers must arrive within this (an idle new connection is closed after it)' }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ default: 72_000, minimum: 1, description: 'Long-running server: an idle keep-alive connection is closed after this' }),
  HTTP_MAX_REQUESTS_PER_SOCKET: Type.Integer({ default: 1_000, minimum: 1, description: 'Long-running server: requests per connection, then Connection: close' }),
  HTTP_MAX_CONNECTIONS: Type.Integer({ default: 1_000, minimum: 1, description: 'Long-running server: open connections; more are refused at once' }),
  SDK_STREAMS_PER_KEY: Type.Integer({ default: 250, minimum: 1, description: 'Long-running server: open change streams (GET /sdk/v1/stream) per API key; more are answered 429 and their providers poll' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 0, description: 'Long-running server: on SIGTERM/SIGINT, connections still open after this are cut' }),
  SHED_EVENT_LOOP_DELAY_MS: Type.Integer({ default: 1000, minimum: 0, description: 'Answer 503 while the event loop lags more than this; 0 disables' }),
  WEBHOOK_QUEUE_URL: Type.Optional(Type.String({ minLength: 1, description: 'Queue of webhook delivery wake-ups; without it no webhook is delivered' })),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: Type.Boolean({ default: false, description: 'Allow webhook URLs on loopback/private/link-local addresses and plain http:// (local receivers only)' }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, maximum: 60_000, description: 'Deadline of one webhook attempt: DNS, connect, TLS, request and response headers' }),
  WEBHOOK_URL_CHECK_TIMEOUT_MS: Type.Integer({ default: 5_000, minimum: 100, maximum: 8_000, description: 'Deadline of the name resolution that checks a webhook URL when it is saved (400 after); at most 8 s, inside the API function\'s 10 s timeout on AWS' }),
  CONSOLE_DIR: Type.Optional(Type.String({ minLength: 2, pattern: '^/', description: 'Absolute path of the built console (index.html + assets/); unset, dist/console is looked up. On AWS the template sets /opt/console, where ConsoleLayer puts it' })),
  WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: Type.Integer({ default: 4, minimum: 1, maximum: 100, description: 'Attempts in progress per webhook endpoint in one process; more wait their turn' })
})
export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

// The formats the schema uses, with ajv-formats' own checks, for TypeBox's checker.
for (const name of ['uri', 'email'] as const) {
  if (!FormatRegistry.Has(name)) {
    const format = fullFormats[name] as RegExp | ((s: string) => boolean)
    FormatRegistry.Set(name, (v) => format instanceof RegExp ? format.test(v) : format(v))
  }
}

/**
 * An env map checked against a flat object schema with TypeBox's own Value functions (no compiled
 * validator: a Lambda cold start pays nothing for it): defaults applied, strings converted to the
 * schema's types, unknown keys dropped, one problem per setting. An integer setting is refused
 * unless the string is that integer (Convert would truncate '1.5' to 1). Problems name the
 * setting and the rule, never the value (JWT_SECRET is one of them).
 */
export function checkEnv (schema: TObject, env: Record<string, string | undefined>): { ok: true; value: Record<string, unknown> } | { ok: false; problems: string[] } {
  const given: Record<string, unknown> = {}
  for (const key of Object.keys(schema.properties)) if (env[key] !== undefined) given[key] = env[key]
  const value = Clean(schema, Convert(schema, Default(schema, { ...given }))) as Record<string, unknown>
  const problems = new Map<string, string>()
  for (const [key, property] of Object.entries(schema.properties)) {
    const raw = given[key]
    const v = value[key]
    if (v === undefined) {
      if (schema.required?.includes(key) === true) problems.set(key, `${key}: required`)
    } else if (!Check(property, v) || (property.type === 'integer' && typeof raw === 'string' && Number(raw) !== v)) {
      problems.set(key, `${key}: expected ${expectation(property)}`)
    }
  }
  return problems.size === 0 ? { ok: true, value: inSchemaOrder(schema, value) } : { ok: false, problems: [...problems.values()] }
}

/** What a flat setting's schema allows, in words: 'an integer from 4 to 15', 'a string of at least 32 characters'. */
function expectation (p: TSchema): string {
  const literals = (p.anyOf as Array<{ const?: unknown }> | undefined)?.map((b) => b.const)
  if (literals !== undefined) return `one of ${literals.join(', ')}`
  if (p.type === 'boolean') return 'true or false'
  if (p.type === 'integer' || p.type === 'number') {
    const what = p.type === 'integer' ? 'an integer' : 'a number'
    if (p.minimum !== undefined && p.maximum !== undefined) return `${what} from ${String(p.minimum)} to ${String(p.maximum)}`
    if (p.minimum !== undefined) return `${what} >= ${String(p.minimum)}`
    return p.maximum !== undefined ? `${what} <= ${String(p.maximum)}` : what
  }
  const limits = [
    p.minLength !== undefined ? `at least ${String(p.minLength)}` : '',
    p.maxLength !== undefined ? `at most ${String(p.maxLength)}` : ''
  ].filter((l) => l !== '').join(' and ')
  return `a string${limits !== '' ? ` of ${limits} characters` : ''}${p.format !== undefined ? ` in format ${String(p.format)}` : ''}`
}

/** The checked values in the schema's order, whatever order the environment listed them in. */
function inSchemaOrder (schema: TObject, value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(schema.properties).filter((k) => k in value).map((k) => [k, value[k]]))
}

/** Validate the service's env map (checkEnv against ConfigSchema); every problem in one ConfigError. */
export function loadConfig (env: Record<string, string | undefined>): Config {
  const result = checkEnv(ConfigSchema, env)
  if (!result.ok) throw new ConfigError('Invalid configuration: ' + result.problems.join('; '))
  return result.value as Config
}
