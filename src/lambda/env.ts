// The shared bootstrap of the Lambda entry points: turns a function's environment into the map
// the app (plugins/config.ts, through loadConfig) or the workers validate. The entry modules
// are the only code that reads process.env; they hand it to these functions.
//
// JWT secret: on AWS the functions get JWT_SECRET_ARN, never the secret itself (environment
// variables are readable by anyone with lambda:GetFunctionConfiguration). The secret is read
// from Secrets Manager during the init phase, and re-read by the auth plugin every
// JWT_SECRET_REFRESH_SECONDS or when a token names a key it does not hold (jwtSecretSource:
// rotation without a redeploy, src/auth/tokens.ts). It is never logged (the app's logger also
// redacts `*.JWT_SECRET`).
//
// Workers: the audit consumer and the maintenance job never sign or verify tokens, so they do not
// get the secret or the IAM permission to read it. They validate their own slice of the config
// schema (WorkerConfigSchema) instead of passing a placeholder secret to the full one.
import { Type, type Static } from '@sinclair/typebox'
import { ConfigSchema, ConfigError, checkEnv } from '../config.js'

export type Env = Record<string, string | undefined>

/** Reads one secret's string value; the seam the tests use instead of Secrets Manager. */
export type SecretFetcher = (secretId: string) => Promise<string>

const CONFIG_KEYS = Object.keys(ConfigSchema.properties)

/** Only the keys the config schema knows: nothing else from the Lambda environment reaches the app. */
function configSlice (env: Env, keys: string[] = CONFIG_KEYS): Env {
  const out: Env = {}
  for (const k of keys) if (env[k] !== undefined && env[k] !== '') out[k] = env[k]
  return out
}

const secretCache = new Map<string, Promise<string>>()

/** The default fetcher: Secrets Manager in the function's region, through the execution role. */
export function secretsManagerFetcher (region: string | undefined): SecretFetcher {
  return async function fetchSecret (secretId: string): Promise<string> {
    // Imported on demand so the worker functions, which never read secrets, do not load the client.
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager')
    const client = new SecretsManagerClient({ region, maxAttempts: 4 })
    try {
      const res = await client.send(new GetSecretValueCommand({ SecretId: secretId }))
      if (typeof res.SecretString !== 'string') throw new ConfigError(`secret ${secretId} has no string value`)
      return res.SecretString
    } finally {
      client.destroy()
    }
  }
}

/** The secret's value, fetched at most once per container (a failed fetch is not cached). */
export async function cachedSecret (secretId: string, fetch: SecretFetcher): Promise<string> {
  let pending = secretCache.get(secretId)
  if (pending === undefined) {
    pending = fetch(secretId).then((value) => value.trim())
    secretCache.set(secretId, pending)
    pending.catch(() => { secretCache.delete(secretId) })
  }
  return await pending
}

/** For tests: forget cached secrets, as a new container would. */
export function clearSecretCache (): void {
  secretCache.clear()
}

/**
 * The env map for the app (ApiFunction, EvaluateFunction). With JWT_SECRET_ARN set, JWT_SECRET
 * comes from Secrets Manager and wins over any JWT_SECRET variable; without it (sam local, tests)
 * JWT_SECRET is taken from the environment. Validation is left to the app's config plugin.
 */
export async function appEnv (env: Env, opts: { fetchSecret?: SecretFetcher } = {}): Promise<Env> {
  const out = configSlice(env)
  const arn = env.JWT_SECRET_ARN
  if (arn !== undefined && arn !== '') {
    const fetchSecret = opts.fetchSecret ?? secretsManagerFetcher(env.AWS_REGION)
    try {
      out.JWT_SECRET = await cachedSecret(arn, fetchSecret)
    } catch (err) {
      // The error names the secret, never its value.
      throw new ConfigError(`cannot read the JWT secret ${arn}: ${(err as Error).name}: ${(err as Error).message}`)
    }
  }
  return out
}

/** Re-reads the JWT secret from Secrets Manager (uncached), or undefined without JWT_SECRET_ARN. */
export function jwtSecretSource (env: Env, opts: { fetchSecret?: SecretFetcher } = {}): (() => Promise<string>) | undefined {
  const arn = env.JWT_SECRET_ARN
  if (arn === undefined || arn === '') return undefined
  const fetchSecret = opts.fetchSecret ?? secretsManagerFetcher(env.AWS_REGION)
  return async function readJwtSecret () { return (await fetchSecret(arn)).trim() }
}

/** The part of the configuration the workers use; no JWT secret, no admin bootstrap. */
export const WorkerConfigSchema = Type.Pick(ConfigSchema, [
  'TABLE_NAME', 'AWS_REGION', 'DYNAMODB_ENDPOINT', 'SQS_ENDPOINT', 'AUDIT_QUEUE_URL', 'LOG_LEVEL', 'OUTBOX_SWEEP_AGE_MS', 'AUDIT_RETENTION_DAYS',
  'WEBHOOK_QUEUE_URL', 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', 'WEBHOOK_TIMEOUT_MS', 'WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT'
])
export type LambdaWorkerConfig = Static<typeof WorkerConfigSchema>

/** Validate the workers' configuration with the rules loadConfig() applies. */
export function workerConfig (env: Env): LambdaWorkerConfig {
  const result = checkEnv(WorkerConfigSchema, configSlice(env, Object.keys(WorkerConfigSchema.properties)))
  if (!result.ok) throw new ConfigError('Invalid worker configuration: ' + result.problems.join('; '))
  return result.value as LambdaWorkerConfig
}
