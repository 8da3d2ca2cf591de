// OFREP through inject: every status the protocol defines, each body validated against the
// spec's schemas (test/fixtures/ofrep), ETag/304, environments from keys and tokens, CORS.
import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { build, eventually, type TestContext } from '../helper.js'
import { serverOptions } from '../../src/core.js'
import evaluateApp from '../../src/evaluate-app.js'
import { ofrepErrors, type OfrepSchemaName } from './spec.js'
import { createApiKey, DEV_FLAG_KEYS, seedFlags, type Call } from './seed.js'

export function injectCall (app: FastifyInstance): Call {
  return async (method, url, opts = {}) => {
    const res = await app.inject({ method: method as 'GET', url, headers: opts.headers, payload: opts.body as object })
    return { status: res.statusCode, body: res.body === '' ? undefined : res.json() }
  }
}

function assertSchema (t: Test, name: OfrepSchemaName, res: LightMyRequestResponse) {
  t.match(res.headers['content-type'], /^application\/json/, `${name}: OFREP bodies are application/json`)
  t.equal(ofrepErrors(name, res.json()), '', `${name}: body matches the OFREP schema: ${res.body}`)
}

interface Fixture { ctx: TestContext; admin: string; client: string; devKey: string; prodKey: string }

async function setup (t: Test, env: Record<string, string> = {}): Promise<Fixture> {
  const ctx = await build(t, { env })
  // under-pressure (src/core.ts) may answer 503 while a freshly started process is still busy
  // compiling: poll the first login with a deadline instead of failing on it.
  const admin = await eventually(() => ctx.loginAs('ADMIN'), { what: 'admin login', timeoutMs: 30_000, intervalMs: 250 })
  const client = await ctx.loginAs('CLIENT')
  const call = injectCall(ctx.app)
  await seedFlags(call, admin)
  const devKey = (await createApiKey(call, admin, 'dev')).key
  const prodKey = (await createApiKey(call, admin, 'prod')).key
  return { ctx, admin, client, devKey, prodKey }
}

t.test('OFREP', async (t) => {
  const { ctx, admin, client, devKey, prodKey } = await setup(t)
  const app = ctx.app
  const single = (flag: string, headers: Record<string, string>, payload?: unknown, query = '') =>
    app.inject({ method: 'POST', url: `/ofrep/v1/evaluate/flags/${flag}${query}`, headers, payload: payload as object })
  const bulk = (headers: Record<string, string>, payload?: unknown, query = '') =>
    app.inject({ method: 'POST', url: `/ofrep/v1/evaluate/flags${query}`, headers, payload: payload as object })
  const bearer = { authorization: `Bearer ${devKey}` }

  t.test('single evaluation of every type, with the key as Bearer or X-API-Key', async (t) => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
      ['dark-mode', { targetingKey: 'u1' }, { value: true, variant: 'on', reason: 'STATIC' }],
      ['banner-color', { targetingKey: 'u1' }, { value: 'blue', variant: 'blue', reason: 'DEFAULT' }],
      ['banner-color', { targetingKey: 'vip-user' }, { value: 'green', variant: 'green', reason: 'TARGETING_MATCH' }],
      ['max-items', { targetingKey: 'u1' }, { value: 2.5, variant: 'many', reason: 'DEFAULT' }],
      ['max-items', { targetingKey: 'u1', plan: 'beta' }, { value: 10, variant: 'few', reason: 'TARGETING_MATCH', metadata: { ruleId: 'beta-plan' } }],
      ['checkout-config', { targetingKey: 'u1' }, { value: { layout: 'single', steps: 3 }, variant: 'v1', reason: 'DEFAULT' }],
      ['checkout-config', { targetingKey: 'vip-user' }, { value: { layout: 'multi', steps: 5, extras: ['gift'] }, variant: 'v2', reason: 'TARGETING_MATCH' }]
    ]
    for (const [flag, context, want] of cases) {
      for (const headers of [bearer, { 'x-api-key': devKey }]) {
        const res = await single(flag, headers, { context })
        t.equal(res.statusCode, 200, res.body)
        assertSchema(t, 'serverEvaluationSuccess', res)
        t.same(res.json().value, want.value, `${flag} value for ${JSON.stringify(context)}`)
        t.match(res.json(), { key: flag, ...want, metadata: { environment: 'dev', version: 1 } })
      }
    }
    const split = await single('gradual', bearer, { context: { targetingKey: 'someone' } })
    t.equal(split.statusCode, 200)
    t.match(split.json(), { key: 'gradual', reason: 'SPLIT' })
  })

  t.test('the body is optional', async (t) => {
    const bare = await single('dark-mode', bearer)
    t.equal(bare.statusCode, 200, bare.body)
    t.match(bare.json(), { value: true })
    const empty = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/dark-mode', headers: { ...bearer, 'content-type': 'application/json' }, payload: '' })
    t.equal(empty.statusCode, 200, empty.body)
  })

  t.test('404 FLAG_NOT_FOUND', async (t) => {
    for (const flag of ['no-such-flag', 'Not_A_Valid_Name']) {
      const res = await single(flag, bearer, { context: { targetingKey: 'u1' } })
      t.equal(res.statusCode, 404, res.body)
      assertSchema(t, 'flagNotFound', res)
      t.match(res.json(), { key: flag, errorCode: 'FLAG_NOT_FOUND', errorDetails: /dev/ })
    }
    // configured in dev only
    const prod = await single('banner-color', { 'x-api-key': prodKey }, { context: {} })
    t.equal(prod.statusCode, 404)
  })

  t.test('400 with OFREP error codes', async (t) => {
    const missing = await single('gradual', bearer, { context: {} })
    t.equal(missing.statusCode, 400, missing.body)
    assertSchema(t, 'evaluationFailure', missing)
    t.match(missing.json(), { key: 'gradual', errorCode: 'TARGETING_KEY_MISSING', errorDetails: /targetingKey/ })

    const invalidJson = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/dark-mode', headers: { ...bearer, 'content-type': 'application/json' }, payload: '{"context": ' })
    t.equal(invalidJson.statusCode, 400)
    assertSchema(t, 'evaluationFailure', invalidJson)
    t.match(invalidJson.json(), { key: 'dark-mode', errorCode: 'PARSE_ERROR' })

    for (const payload of [[1, 2], { context: {}, flags: ['x'] }]) {
      const res = await single('dark-mode', bearer, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      assertSchema(t, 'evaluationFailure', res)
      t.match(res.json(), { key: 'dark-mode', errorCode: 'PARSE_ERROR' })
    }
    for (const payload of [{ context: 'user-1' }, { context: { targetingKey: 42 } }, { context: [1] }]) {
      const res = await single('dark-mode', bearer, payload)
      t.equal(res.statusCode, 400, JSON.stringify(payload))
      assertSchema(t, 'evaluationFailure', res)
      t.match(res.json(), { key: 'dark-mode', errorCode: 'INVALID_CONTEXT' }, JSON.stringify(payload))
    }
  })

  t.test('401 and 403', async (t) => {
    const none = await single('dark-mode', {}, { context: {} })
    t.equal(none.statusCode, 401)
    const bogus = await single('dark-mode', { authorization: 'Bearer sy_dev_0123456789abcdef0123_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, { context: {} })
    t.equal(bogus.statusCode, 401)
    const tampered = await single('dark-mode', { 'x-api-key': devKey.slice(0, -2) + (devKey.endsWith('AA') ? 'BB' : 'AA') }, { context: {} })
    t.equal(tampered.statusCode, 401, 'right key id, wrong secret')
    const bulkNone = await bulk({}, { context: {} })
    t.equal(bulkNone.statusCode, 401)

    const otherEnv = await single('dark-mode', { ...bearer, 'x-environment': 'prod' }, { context: {} })
    t.equal(otherEnv.statusCode, 403, 'a dev key cannot name prod')
    const otherEnvQuery = await bulk(bearer, { context: {} }, '?environment=prod')
    t.equal(otherEnvQuery.statusCode, 403)
    const sameEnv = await single('dark-mode', { ...bearer, 'x-environment': 'dev' }, { context: {} })
    t.equal(sameEnv.statusCode, 200, 'naming its own environment is fine')
  })

  t.test('user tokens name the environment', async (t) => {
    for (const token of [client, admin]) {
      const noEnv = await single('dark-mode', { authorization: token }, { context: {} })
      t.equal(noEnv.statusCode, 400)
      assertSchema(t, 'evaluationFailure', noEnv)
      t.match(noEnv.json(), { errorCode: 'GENERAL', errorDetails: /X-Environment/ })
      const dev = await single('dark-mode', { authorization: token, 'x-environment': 'dev' }, { context: {} })
      t.match(dev.json(), { value: true, reason: 'STATIC' })
      const prod = await single('dark-mode', { authorization: token }, { context: {} }, '?environment=prod')
      t.match(prod.json(), { value: false, variant: 'off', reason: 'DISABLED' })
    }
    const unknown = await single('dark-mode', { authorization: client, 'x-environment': 'nowhere' }, { context: {} })
    t.equal(unknown.statusCode, 400)
    t.match(unknown.json(), { errorCode: 'GENERAL', errorDetails: /not registered/ })
    const bulkNoEnv = await bulk({ authorization: client }, { context: {} })
    t.equal(bulkNoEnv.statusCode, 400)
    assertSchema(t, 'bulkEvaluationFailure', bulkNoEnv)
    const bulkDev = await bulk({ authorization: client, 'x-environment': 'dev' }, { context: { targetingKey: 'u1' } })
    t.equal(bulkDev.statusCode, 200)
    t.same(bulkDev.json().flags.map((f: { key: string }) => f.key), DEV_FLAG_KEYS)
  })

  t.test('bulk evaluation, ETag and 304', async (t) => {
    const first = await bulk(bearer, { context: { targetingKey: 'vip-user' } })
    t.equal(first.statusCode, 200, first.body)
    assertSchema(t, 'bulkEvaluationSuccess', first)
    const flags = first.json().flags as Array<Record<string, unknown>>
    t.same(flags.map((f) => f.key), DEV_FLAG_KEYS, 'every flag of the environment, by key')
    t.match(Object.fromEntries(flags.map((f) => [f.key, f])), {
      'dark-mode': { value: true, reason: 'STATIC' },
      'banner-color': { value: 'green', variant: 'green', reason: 'TARGETING_MATCH' },
      'max-items': { value: 2.5, reason: 'DEFAULT' },
      'checkout-config': { value: { layout: 'multi' }, reason: 'TARGETING_MATCH' },
      gradual: { reason: 'SPLIT' }
    })
    const etag = first.headers.etag as string
    t.match(etag, /^"[A-Za-z0-9_-]+"$/)

    const again = await bulk({ ...bearer, 'if-none-match': etag }, { context: { targetingKey: 'vip-user' } })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '', '304 has no body')
    t.equal(again.headers.etag, etag)
    const weak = await bulk({ ...bearer, 'if-none-match': `"other", W/${etag}` }, { context: { targetingKey: 'vip-user' } })
    t.equal(weak.statusCode, 304, 'weak comparison, list of tags')

    const otherContext = await bulk({ ...bearer, 'if-none-match': etag }, { context: { targetingKey: 'u1' } })
    t.equal(otherContext.statusCode, 200, 'another context evaluates differently')
    t.not(otherContext.headers.etag, etag)

    const noKey = await bulk(bearer, { context: {} })
    t.equal(noKey.statusCode, 200)
    assertSchema(t, 'bulkEvaluationSuccess', noKey)
    const gradual = (noKey.json().flags as Array<Record<string, unknown>>).find((f) => f.key === 'gradual')
    t.match(gradual, { key: 'gradual', errorCode: 'TARGETING_KEY_MISSING', errorDetails: /targetingKey/ })
    t.notOk(gradual !== undefined && 'value' in gradual, 'a failure entry carries no value')

    // An admin change moves the ETag.
    const put = await app.inject({ method: 'PUT', url: '/features/banner-color/env/dev', headers: { authorization: admin, 'if-match': '*' }, payload: { enabled: false, offVariant: 'blue', defaultServe: { variant: 'blue' } } })
    t.equal(put.statusCode, 200, put.body)
    const changed = await bulk({ ...bearer, 'if-none-match': etag }, { context: { targetingKey: 'vip-user' } })
    t.equal(changed.statusCode, 200)
    t.not(changed.headers.etag, etag)
    t.match((changed.json().flags as Array<Record<string, unknown>>).find((f) => f.key === 'banner-color'), { value: 'blue', reason: 'DISABLED' })

    const badBody = await bulk(bearer, { context: 'nope' })
    t.equal(badBody.statusCode, 400)
    assertSchema(t, 'bulkEvaluationFailure', badBody)
    t.match(badBody.json(), { errorCode: 'INVALID_CONTEXT' })
    t.notOk('key' in badBody.json(), 'bulk failures have no key')

    const prodBulk = await bulk({ 'x-api-key': prodKey }, { context: { targetingKey: 'u1' } })
    t.same(prodBulk.json().flags, [{ key: 'dark-mode', value: false, variant: 'off', reason: 'DISABLED', metadata: { environment: 'prod', version: 1 } }])
  })

  t.test('configuration (extension)', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/ofrep/v1/configuration', headers: bearer })
    t.equal(res.statusCode, 200)
    assertSchema(t, 'configurationResponse', res)
  })

  t.test('CORS for browser clients', async (t) => {
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/ofrep/v1/evaluate/flags',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,if-none-match' }
    })
    t.equal(preflight.statusCode, 204)
    t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com')
    t.match(preflight.headers['access-control-allow-methods'], /POST/)
    for (const h of ['authorization', 'content-type', 'if-none-match', 'x-api-key', 'x-environment']) {
      t.match(String(preflight.headers['access-control-allow-headers']).toLowerCase(), h)
    }
    const actual = await bulk({ ...bearer, origin: 'https://app.example.com' }, { context: {} })
    t.equal(actual.statusCode, 200)
    t.equal(actual.headers['access-control-allow-origin'], 'https://app.example.com')
    t.match(String(actual.headers['access-control-expose-headers']).toLowerCase(), 'etag', 'the web provider can read the ETag')
  })

  t.test('the OpenAPI document describes the routes', async (t) => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
    t.ok(doc.paths['/ofrep/v1/evaluate/flags/{key}']?.post)
    t.ok(doc.paths['/ofrep/v1/evaluate/flags']?.post)
  })
})

t.test('429 with Retry-After, per key', async (t) => {
  const { ctx, admin, devKey } = await setup(t, { RATE_LIMIT_PER_MINUTE: '3' })
  const other = (await createApiKey(injectCall(ctx.app), admin, 'dev', 'other')).key
  const call = (key: string) => ctx.app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/dark-mode', headers: { 'x-api-key': key }, payload: { context: {} } })
  for (let i = 0; i < 3; i++) {
    const answered = await call(devKey)
    t.equal(answered.statusCode, 200)
    t.match(answered.headers, { 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': String(2 - i), 'x-ratelimit-reset': /^\d+$/ }, 'the budget left, on every answer')
  }
  const limited = await call(devKey)
  t.equal(limited.statusCode, 429)
  t.match(limited.headers, { 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '0' })
  t.match(limited.headers['retry-after'], /^\d+$/)
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await call(other)).statusCode, 200, 'another key has its own budget')

  // One budget per credential across every evaluation route (RATE_LIMIT_PER_MINUTE evaluations),
  // and keys of one environment (sy_dev_…) do not share it.
  const evaluate = (key: string) => ctx.app.inject({ method: 'POST', url: '/features/evaluate', headers: { authorization: `Bearer ${key}` }, payload: { feature: 'dark-mode', environment: 'dev' } })
  t.equal((await evaluate(devKey)).statusCode, 429, 'the budget spent on OFREP is spent for /features/evaluate too')
  const third = (await createApiKey(injectCall(ctx.app), admin, 'dev', 'third')).key
  for (let i = 0; i < 3; i++) t.equal((await evaluate(third)).statusCode, 200)
  t.equal((await evaluate(third)).statusCode, 429)
  t.equal((await evaluate(other)).statusCode, 200, 'another key of the same environment has its own budget')
})

t.test('the evaluation-only surface serves OFREP too', async (t) => {
  const { ctx, devKey } = await setup(t, {})
  // The evaluate surface reads the same table: point a second app at the first one's stack.
  const env = ctx.env
  const evalApp = Fastify(serverOptions('silent'))
  await evalApp.register(evaluateApp, { env })
  await evalApp.ready()
  t.teardown(() => evalApp.close())
  const res = await evalApp.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags', headers: { authorization: `Bearer ${devKey}` }, payload: { context: { targetingKey: 'u1' } } })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().flags.map((f: { key: string }) => f.key), DEV_FLAG_KEYS)
  t.equal((await evalApp.inject({ method: 'GET', url: '/api-keys' })).statusCode, 404, 'admin routes are not on this surface')
})
