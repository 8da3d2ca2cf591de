// Configuration is validated once, at boot: the app refuses to start on a missing or weak value,
// and the documented defaults apply.
import t from 'tap'
import Fastify from 'fastify'
import app from '../src/app.js'
import configPlugin from '../plugins/config.js'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { ConfigError, ConfigSchema, loadConfig } from '../src/config.js'
import { checkEnv } from '../src/env-check.js'
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

t.test('loadConfig applies the rules Ajv applied: same verdicts, same values, same settings named', async (t) => {
  // The validator the config had before checkEnv: Ajv with @fastify/env's options.
  const ajv = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: true, allErrors: true, strict: false })
  addFormats.default(ajv)
  const validate = ajv.compile({ ...ConfigSchema, additionalProperties: false })
  const junk = ['', ' ', ' 12', '0x10', '1e3', '12.0', '12.5', '-1', '0', '1', '3', '4', '15', '16', '59', '60', '86400', '86401', '65535', '65536',
    'eighty', 'true', 'false', 'Infinity', '-Infinity', 'NaN', 'info', 'loud', 'INFO', 'silent', 'http://127.0.0.1:8000', 'not a uri', 'urn:x', 'a@b.co', 'root@example',
    'k'.repeat(31), 'k'.repeat(32), '\u{1F600}'.repeat(20), '\u{1F600}'.repeat(40), 'ab', 'abc', 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(12), 'x'.repeat(11)]
  const valid: Record<string, string> = { AUDIT_QUEUE_URL: 'http://q', JWT_SECRET: SECRET, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'a long enough passphrase', DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', SQS_ENDPOINT: 'http://127.0.0.1:9324' }
  let seed = 20261125
  const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const keys = Object.keys(ConfigSchema.properties)
  const mismatches: string[] = []
  let accepted = 0
  let refused = 0
  for (let i = 0; i < 4000; i++) {
    const env: Record<string, string | undefined> = { UNRELATED: 'x' }
    const junkRate = 0.02 * (i % 10)
    for (const key of keys) {
      const r = random()
      const d = (ConfigSchema.properties as Record<string, { default?: unknown }>)[key]?.default
      if (r < (d === undefined && (ConfigSchema.required as string[]).includes(key) ? 0.05 : 0.3)) continue
      if (random() >= junkRate) env[key] = valid[key] ?? (d !== undefined ? String(d) : junk[Math.floor(random() * junk.length)]!)
      else env[key] = junk[Math.floor(random() * junk.length)]!
    }
    const data: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(env)) if (v !== undefined && k in ConfigSchema.properties) data[k] = v
    let ajvOk = validate(data)
    const ajvKeys = new Set((validate.errors ?? []).map((e) => e.keyword === 'required' ? String(e.params.missingProperty) : e.instancePath.slice(1).split('/')[0]!))
    // The one deliberate difference: Ajv took 'Infinity' for an integer; loadConfig refuses it.
    for (const [k, v] of Object.entries(data)) if (typeof v === 'number' && !Number.isFinite(v)) { ajvOk = false; ajvKeys.add(k) }
    let ours: { ok: true; value: unknown } | { ok: false; keys: Set<string> }
    try {
      ours = { ok: true, value: loadConfig(env) }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      ours = { ok: false, keys: new Set(err.message.replace('Invalid configuration: ', '').split('; ').map((p) => p.split(' ')[0]!)) }
    }
    if (ajvOk) accepted++
    else refused++
    const same = ours.ok === ajvOk && (ours.ok ? JSON.stringify(ours.value) === JSON.stringify(Object.fromEntries(keys.filter((k) => k in data).map((k) => [k, data[k]]))) : [...ajvKeys].sort().join() === [...ours.keys].sort().join())
    if (!same && mismatches.length < 5) mismatches.push(`${JSON.stringify(env)}: Ajv ${ajvOk ? JSON.stringify(data) : [...ajvKeys].join()}; ours ${ours.ok ? JSON.stringify(ours.value) : [...ours.keys].join()}`)
  }
  t.same(mismatches, [], 'no environment where they differ')
  t.ok(accepted > 300 && refused > 300, `both verdicts exercised (${accepted} accepted, ${refused} refused)`)
})

t.test('a schema keyword the checker does not implement fails loudly, not silently', async (t) => {
  t.throws(() => checkEnv({ properties: { X: { type: 'string', pattern: '^a' } } }, { X: 'b' }), /X uses "pattern"/)
  t.throws(() => checkEnv({ properties: { X: { type: 'string', format: 'hostname-ish' } } }, { X: 'b' }), /format "hostname-ish"/)
})

t.test('problems name the setting and the rule, never the value', async (t) => {
  const err = (() => { try { loadConfig({ JWT_SECRET: 'short-secret-value', PORT: 'eighty', LOG_LEVEL: 'loud', DYNAMODB_ENDPOINT: 'not a uri' }) } catch (e) { return e as Error } })()
  t.equal(err?.message, 'Invalid configuration: PORT must be integer; DYNAMODB_ENDPOINT must match format "uri"; AUDIT_QUEUE_URL is required; JWT_SECRET must NOT have fewer than 32 characters; LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent')
})
