// Configuration is validated once, at boot: the app refuses to start on a missing or weak value,
// and the documented defaults apply.
import t from 'tap'
import Fastify from 'fastify'
import app from '../src/app.js'
import configPlugin from '../plugins/config.js'
import { loadConfig } from '../src/config.js'
import { startStack, testEnv } from './helper.js'

const SECRET = 'k'.repeat(32)
const base = (): Record<string, string | undefined> => ({
  AUDIT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/audit',
  JWT_SECRET: SECRET,
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
  SQS_ENDPOINT: 'http://127.0.0.1:1',
  LOG_LEVEL: 'silent'
})

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
