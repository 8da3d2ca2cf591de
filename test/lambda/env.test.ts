// src/lambda/env.ts: the env map the entry points hand to the app, the JWT secret read once per
// container from Secrets Manager (cached, never in an error or a log line), and the workers'
// configuration that needs no secret at all.
import t from 'tap'
import { appEnv, cachedSecret, clearSecretCache, secretsManagerFetcher, workerConfig } from '../../src/lambda/env.js'
import { createLogger } from '../../src/lambda/log.js'
import { ConfigError } from '../../src/config.js'
import { startFakeSecretsManager } from './fake-secrets-manager.js'

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:switchyard/jwt-signing-secret-AbCdEf'
const SECRET = 'Zx8kQ2mW7pL4vN9rT3yB6cH1jF5sD0gA8uE2iO7qK4wM9nR3tY6bV1xC5zJ0hG8f'

t.beforeEach(() => clearSecretCache())

t.test('without JWT_SECRET_ARN the map is the config slice of the environment', async (t) => {
  const env = await appEnv({ TABLE_NAME: 'tbl', AUDIT_QUEUE_URL: 'https://sqs/q', JWT_SECRET: 'j'.repeat(40), PATH: '/usr/bin', AWS_SECRET_ACCESS_KEY: 'nope', NODE_OPTIONS: '--enable-source-maps', ADMIN_EMAIL: '' })
  t.same(env, { TABLE_NAME: 'tbl', AUDIT_QUEUE_URL: 'https://sqs/q', JWT_SECRET: 'j'.repeat(40) }, 'only config keys, empty values dropped')
})

t.test('with JWT_SECRET_ARN the secret is fetched once per container and wins over JWT_SECRET', async (t) => {
  const fetched: string[] = []
  const fetchSecret = async (id: string) => { fetched.push(id); return SECRET + '\n' }
  const first = await appEnv({ JWT_SECRET_ARN: ARN, JWT_SECRET: 'ignored'.repeat(8), TABLE_NAME: 'tbl' }, { fetchSecret })
  const second = await appEnv({ JWT_SECRET_ARN: ARN, TABLE_NAME: 'tbl' }, { fetchSecret })
  t.equal(first.JWT_SECRET, SECRET, 'trimmed value from Secrets Manager')
  t.equal(second.JWT_SECRET, SECRET)
  t.same(fetched, [ARN], 'one fetch for both')
  t.notOk('JWT_SECRET_ARN' in first, 'the ARN is not a config key')
  // Concurrent cold paths share one request too.
  clearSecretCache()
  fetched.length = 0
  await Promise.all([cachedSecret(ARN, fetchSecret), cachedSecret(ARN, fetchSecret)])
  t.same(fetched, [ARN])
})

t.test('a failed fetch names the secret, is not cached, and leaks nothing', async (t) => {
  let attempts = 0
  const failing = async () => { attempts++; throw Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), { name: 'AccessDeniedException' }) }
  const err = await appEnv({ JWT_SECRET_ARN: ARN }, { fetchSecret: failing }).catch((e: unknown) => e)
  t.ok(err instanceof ConfigError)
  t.match((err as Error).message, ARN)
  t.match((err as Error).message, /AccessDeniedException/)
  await appEnv({ JWT_SECRET_ARN: ARN }, { fetchSecret: failing }).catch(() => {})
  t.equal(attempts, 2, 'the next init tries again')
  const ok = await appEnv({ JWT_SECRET_ARN: ARN }, { fetchSecret: async () => SECRET })
  t.equal(ok.JWT_SECRET, SECRET)
})

t.test('the default fetcher reads the secret with the real SDK client', async (t) => {
  const fake = await startFakeSecretsManager({ [ARN]: SECRET })
  t.teardown(() => fake.close())
  const saved = { ...process.env }
  t.teardown(() => {
    for (const k of ['AWS_ENDPOINT_URL_SECRETS_MANAGER', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  })
  Object.assign(process.env, { AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.endpoint, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' })
  t.equal(await secretsManagerFetcher('us-east-1')(ARN), SECRET)
  t.same(fake.calls, [{ target: 'secretsmanager.GetSecretValue', secretId: ARN }])
  const missing = await secretsManagerFetcher('us-east-1')(ARN + '-gone').catch((e: unknown) => e)
  t.equal((missing as Error).name, 'ResourceNotFoundException')
})

t.test('workers validate their own slice of the config: no JWT secret needed', async (t) => {
  const config = workerConfig({ TABLE_NAME: 'tbl', AUDIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q', AWS_REGION: 'eu-west-1', OUTBOX_SWEEP_AGE_MS: '45000', JWT_SECRET_ARN: ARN })
  t.same(config, { TABLE_NAME: 'tbl', AUDIT_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/q', AWS_REGION: 'eu-west-1', OUTBOX_SWEEP_AGE_MS: 45000, LOG_LEVEL: 'info', AUDIT_RETENTION_DAYS: 0, WEBHOOK_ALLOW_PRIVATE_NETWORKS: false, WEBHOOK_TIMEOUT_MS: 10000, WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: 4 })
  const missing = (() => { try { workerConfig({ TABLE_NAME: 'tbl' }) } catch (err) { return err } })()
  t.ok(missing instanceof ConfigError)
  t.match((missing as Error).message, 'AUDIT_QUEUE_URL: required')
  t.throws(() => workerConfig({ AUDIT_QUEUE_URL: 'q', LOG_LEVEL: 'loud' }), /LOG_LEVEL/)
})

t.test('the worker logger is pino: JSON lines at or above its level, errors serialized, no pid or hostname', async (t) => {
  const lines: string[] = []
  const sink = { write: (l: string) => { lines.push(l) } }
  const log = createLogger('info', { fn: 'test' }, sink).child({ batch: 1 })
  log.debug({ hidden: true }, 'not shown')
  log.info({ eventId: 'e1' }, 'persisted')
  log.error({ err: Object.assign(new Error('boom'), { code: 'E42' }) }, 'failed')
  t.equal(lines.length, 2)
  t.match(JSON.parse(lines[0]!), { level: 30, fn: 'test', batch: 1, eventId: 'e1', msg: 'persisted', time: Number })
  t.notOk('pid' in JSON.parse(lines[0]!) || 'hostname' in JSON.parse(lines[0]!), 'no pid or hostname')
  t.match(JSON.parse(lines[1]!), { level: 50, err: { type: 'Error', message: 'boom', code: 'E42', stack: /boom/ }, msg: 'failed' })
  const silent: string[] = []
  createLogger('silent', {}, { write: (l: string) => { silent.push(l) } }).error({}, 'x')
  t.equal(silent.length, 0)
})
