// Configuration is validated once, at boot: the app refuses to start on a missing or weak value,
// and the documented defaults apply.
import t from 'tap'
import Fastify from 'fastify'
import app from '../src/app.js'
import configPlugin from '../plugins/config.js'
import { ConfigError, loadConfig } from '../src/config.js'
import { OFFLINE_ENV, startStack, testEnv } from './helper.js'

const SECRET = OFFLINE_ENV.JWT_SECRET
const base = (): Record<string, string | undefined> => ({ ...OFFLINE_ENV })

async function start (env: Record<string, string | undefined>) {
  const fastify = Fastify()
  try {
    await fastify.register(app, { env, docsUi: false, bootstrap: false })
    await fastify.ready()
  } finally {
    await fastify.close()
  }
}

t.test('the app refuses to start', async (t) => {
  const cases: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['AUDIT_QUEUE_URL missing', { ...base(), AUDIT_QUEUE_URL: undefined }, /AUDIT_QUEUE_URL/],
    ['AUDIT_QUEUE_URL empty', { ...base(), AUDIT_QUEUE_URL: '' }, /AUDIT_QUEUE_URL/],
    ['JWT_SECRET missing', { ...base(), JWT_SECRET: undefined }, /JWT_SECRET/],
    ['JWT_SECRET of 31 bytes', { ...base(), JWT_SECRET: 's'.repeat(31) }, /JWT_SECRET/],
    ['only ADMIN_EMAIL', { ...base(), ADMIN_EMAIL: 'root@example.com' }, /ADMIN_EMAIL and ADMIN_PASSWORD/],
    ['only ADMIN_PASSWORD', { ...base(), ADMIN_PASSWORD: 'a long enough passphrase' }, /ADMIN_EMAIL and ADMIN_PASSWORD/],
    ['PORT not a number', { ...base(), PORT: 'eighty' }, /PORT/],
    ['BCRYPT_ROUNDS too low', { ...base(), BCRYPT_ROUNDS: '2' }, /BCRYPT_ROUNDS/],
    ['LOG_LEVEL unknown', { ...base(), LOG_LEVEL: 'loud' }, /LOG_LEVEL/]
  ]
  for (const [name, env, why] of cases) {
    const err = await start(env).then(() => undefined, (e: Error) => e)
    t.ok(err, `${name}: refused`)
    t.match(err?.message, why, `${name}: says which setting`)
    t.notOk(err?.message.includes('s'.repeat(31)), `${name}: does not echo the secret`)
  }
})

t.test('the worker/script config loader refuses the same values', async (t) => {
  t.throws(() => loadConfig({ ...base(), AUDIT_QUEUE_URL: undefined }), /AUDIT_QUEUE_URL/)
  t.throws(() => loadConfig({ ...base(), JWT_SECRET: 's'.repeat(31) }), /JWT_SECRET/)
})

t.test('defaults: HOST 127.0.0.1, PORT 3000, BCRYPT_ROUNDS 12', async (t) => {
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  await fastify.register(configPlugin, { env: { AUDIT_QUEUE_URL: 'http://q', JWT_SECRET: SECRET } })
  await fastify.ready()
  t.match(fastify.config, { HOST: '127.0.0.1', PORT: 3000, BCRYPT_ROUNDS: 12, DATA_DIR: '.data', TABLE_NAME: 'switchyard', LOG_LEVEL: 'info', JWT_TTL_SECONDS: 3600 })
  t.same(loadConfig({ AUDIT_QUEUE_URL: 'http://q', JWT_SECRET: SECRET }).PORT, 3000, 'the loader applies the same defaults')
  t.match(loadConfig({ AUDIT_QUEUE_URL: 'http://q', JWT_SECRET: SECRET }), { HOST: '127.0.0.1', BCRYPT_ROUNDS: 12 })
})

t.test('a 32-byte JWT_SECRET and an env map without process.env leaking in', async (t) => {
  process.env.AUDIT_QUEUE_URL = 'http://leaked'
  t.teardown(() => { delete process.env.AUDIT_QUEUE_URL })
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  await fastify.register(configPlugin, { env: { AUDIT_QUEUE_URL: 'http://given', JWT_SECRET: 'x'.repeat(32) } })
  await fastify.ready()
  t.equal(fastify.config.AUDIT_QUEUE_URL, 'http://given')
})

t.test('a weak ADMIN_PASSWORD stops the start instead of creating a weak admin', async (t) => {
  const stack = await startStack(t)
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  await fastify.register(app, { env: testEnv(stack, { ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'aaaaaaaaaaaaaaa' }), docsUi: false })
  await t.rejects(async () => { await fastify.ready() }, /ADMIN_PASSWORD refused/)
})

t.test('loadConfig converts the strings an environment holds, and refuses what is not the type', async (t) => {
  const accepted: Array<[Record<string, string>, Record<string, unknown>]> = [
    [{ PORT: ' 12' }, { PORT: 12 }],
    [{ PORT: '12.0' }, { PORT: 12 }],
    [{ PORT: '0x10' }, { PORT: 16 }],
    [{ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: false }],
    [{ WEBHOOK_ALLOW_PRIVATE_NETWORKS: '0' }, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: false }],
    [{ LOG_LEVEL: 'silent' }, { LOG_LEVEL: 'silent' }],
    [{ DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }, { DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000' }],
    [{ ADMIN_EMAIL: 'a@b.co', ADMIN_PASSWORD: 'x'.repeat(12) }, { ADMIN_EMAIL: 'a@b.co' }]
  ]
  for (const [env, wanted] of accepted) t.match(loadConfig({ ...base(), ...env }), wanted, JSON.stringify(env))
  t.notOk('UNRELATED' in loadConfig({ ...base(), UNRELATED: 'x' }), 'unknown keys are dropped')
  const refused: Array<[Record<string, string>, string]> = [
    [{ PORT: '80.5' }, 'PORT'], [{ PORT: 'Infinity' }, 'PORT'], [{ PORT: '1e3' }, 'PORT'], [{ PORT: '' }, 'PORT'], [{ PORT: ' ' }, 'PORT'],
    [{ PORT: '65536' }, 'PORT'], [{ BCRYPT_ROUNDS: '16' }, 'BCRYPT_ROUNDS'], [{ JWT_TTL_SECONDS: '59' }, 'JWT_TTL_SECONDS'],
    [{ WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'yes' }, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS'], [{ LOG_LEVEL: 'INFO' }, 'LOG_LEVEL'], [{ DYNAMODB_ENDPOINT: 'not a uri' }, 'DYNAMODB_ENDPOINT'],
    [{ ADMIN_EMAIL: 'root@example' }, 'ADMIN_EMAIL'], [{ ADMIN_PASSWORD: 'x'.repeat(11) }, 'ADMIN_PASSWORD'], [{ TABLE_NAME: 'ab' }, 'TABLE_NAME'],
    [{ TABLE_NAME: 'x'.repeat(256) }, 'TABLE_NAME'], [{ JWT_SECRET: 'k'.repeat(31) }, 'JWT_SECRET']
  ]
  for (const [env, key] of refused) {
    const err = (() => { try { loadConfig({ ...base(), ...env }) } catch (e) { return e as Error } })()
    t.ok(err instanceof ConfigError, `${JSON.stringify(env)} refused`)
    t.same(err?.message.replace('Invalid configuration: ', '').split('; ').map((p) => p.split(':')[0]), [key], `${JSON.stringify(env)}: names ${key} alone`)
  }
})

t.test('problems name the setting and the rule, never the value', async (t) => {
  const err = (() => { try { loadConfig({ JWT_SECRET: 'short-secret-value', PORT: 'eighty', LOG_LEVEL: 'loud', DYNAMODB_ENDPOINT: 'not a uri' }) } catch (e) { return e as Error } })()
  t.equal(err?.message, 'Invalid configuration: PORT: expected an integer from 0 to 65535; DYNAMODB_ENDPOINT: expected a string in format uri; AUDIT_QUEUE_URL: required; JWT_SECRET: expected a string of at least 32 characters; LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent')
  t.throws(() => loadConfig({ ...base(), PORT: '80.5' }), /PORT: expected an integer/, 'an integer setting is never truncated')
})
