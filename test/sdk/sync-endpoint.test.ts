// GET /sdk/v1/flags through the app (inject): who gets the rules (every key kind and role), what
// the document holds (and never holds), the ETag (304 on a match; a new one after any change to a
// flag of the environment, to a segment one of them uses, or a schedule persisted; the same one
// after changes that do not touch the environment), and compression.
import t from 'tap'
import { gunzipSync, brotliDecompressSync } from 'node:zlib'
import { build, expectProblem, json } from '../helper.js'
import { definitionsOf } from '../../src/sdk/format.js'
import { createWorkers } from '../../src/workers/runtime.js'
import { loadConfig } from '../../src/config.js'
import Fastify from 'fastify'
import evaluateApp from '../../src/evaluate-app.js'
import { serverOptions } from '../../src/core.js'

t.test('the sync endpoint', async (t) => {
  // The clock seam: the ETag is provisional for 5 s after a change (src/sync/snapshots.ts).
  let now = Date.parse('2026-03-01T12:00:00Z')
  // Load shedding off: on a busy machine it would answer these requests 503 (not what is tested here).
  const ctx = await build(t, { app: { now: () => now }, env: { SHED_EVENT_LOOP_DELAY_MS: '0' } })
  const app = ctx.app
  const admin = await ctx.loginAs('ADMIN')
  const clientUser = await ctx.loginAs('CLIENT')

  async function post (url: string, payload: unknown, expect = 201) {
    const res = await app.inject({ method: 'POST', url, headers: { authorization: admin }, payload: payload as object })
    t.equal(res.statusCode, expect, `POST ${url}: ${res.body.slice(0, 200)}`)
    return json<any>(res)
  }
  const keyOf = async (environment: string, kind?: 'server' | 'client') =>
    (await post('/api-keys', { name: `${environment}-${kind ?? 'default'}`, environment, ...(kind !== undefined ? { kind } : {}) })) as { id: string; key: string; kind: string }

  await post('/segments', { key: 'staff', included: ['u-1'], excluded: [], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@corp.example'] }] }] })
  await post('/segments', { key: 'unused', included: ['u-9'], excluded: [], rules: [] })
  await post('/features', {
    name: 'checkout',
    type: 'string',
    variants: [{ key: 'old', value: 'old' }, { key: 'new', value: 'new' }],
    environments: {
      dev: {
        enabled: true,
        offVariant: 'old',
        defaultServe: { variant: 'old' },
        rules: [{ id: 'staff', clauses: [{ attribute: 'targetingKey', operator: 'segmentMatch', values: ['staff'] }], serve: { variant: 'new' } }],
        schedule: [{ id: 'launch', at: '2026-03-02T00:00:00Z', change: { defaultServe: { variant: 'new' } } }]
      },
      qa: { enabled: false, offVariant: 'old', defaultServe: { variant: 'old' } }
    }
  })
  await post('/features', { name: 'dark-mode', environments: { dev: true } })

  const server = await keyOf('dev', 'server')
  const client = await keyOf('dev', 'client')
  const legacy = await keyOf('dev')
  const qaServer = await keyOf('qa', 'server')
  t.equal(server.kind, 'server')
  t.equal(legacy.kind, 'client', 'a key created without a kind is a client key')

  const sync = (headers: Record<string, string>, query = '') => app.inject({ method: 'GET', url: `/sdk/v1/flags${query}`, headers })

  t.test('who gets the rules', async (t) => {
    expectProblem(t, await sync({}), 401, 'no credential')
    expectProblem(t, await sync({ authorization: 'Bearer sy_dev_nonsense' }), 401, 'garbage key')
    expectProblem(t, await sync({ authorization: admin }), 403, 'an admin token')
    expectProblem(t, await sync({ authorization: clientUser }), 403, 'a CLIENT token')
    const refused = expectProblem(t, await sync({ 'x-api-key': client.key }), 403, 'a client key')
    t.match(refused.detail, /client API key.*kind "server"/)
    expectProblem(t, await sync({ 'x-api-key': legacy.key }), 403, 'a key created before kinds (client)')
    expectProblem(t, await sync({ 'x-api-key': qaServer.key }, '?environment=dev'), 403, 'a server key of another environment')
    t.equal((await sync({ authorization: `Bearer ${server.key}` })).statusCode, 200, 'a server key, as a bearer token')
    t.equal((await sync({ 'x-api-key': server.key }, '?environment=dev')).statusCode, 200, 'naming its own environment')

    const qa = definitionsOf(json(await sync({ 'x-api-key': qaServer.key })))
    t.same([...qa.keys()], ['checkout'], 'a qa key gets qa\'s flags only')

    const revoked = await keyOf('dev', 'server')
    t.equal((await sync({ 'x-api-key': revoked.key })).statusCode, 200)
    t.equal((await app.inject({ method: 'DELETE', url: `/api-keys/${revoked.id}`, headers: { authorization: admin } })).statusCode, 204)
    expectProblem(t, await sync({ 'x-api-key': revoked.key }), 401, 'a revoked server key')

    // Client and server keys alike still evaluate remotely.
    for (const k of [client.key, server.key]) {
      const res = await app.inject({ method: 'POST', url: '/features/evaluate', headers: { 'x-api-key': k }, payload: { feature: 'dark-mode', environment: 'dev', context: {} } })
      t.equal(res.statusCode, 200)
    }
  })

  t.test('the document: every flag with its segments and pending schedule, no secrets', async (t) => {
    const res = await sync({ 'x-api-key': server.key })
    t.equal(res.statusCode, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    t.match(res.headers.etag, /^"1-dev-\d+(-p)?"$/, 'a strong ETag')
    t.equal(res.headers['cache-control'], 'private, no-cache')
    const doc = json<any>(res)
    t.match(doc, { formatVersion: 1, environment: 'dev', revision: Number, generatedAt: String })
    t.same(doc.flags.map((f: any) => f.key), ['checkout', 'dark-mode'], 'every flag of the environment, in key order')
    const checkout = doc.flags[0]
    t.match(checkout, { type: 'string', version: 1, segments: ['staff'], enabled: true, offVariant: 'old', schedule: [{ id: 'launch' }] })
    t.same(Object.keys(doc.segments), ['staff'], 'the segments referenced, not the others')
    t.notMatch(res.body, /sy_|digest|passwordHash|updatedBy|@example\.com/, 'no key, hash or user in the rules')
    const defs = definitionsOf(doc)
    t.same(defs.get('checkout')?.segments.staff?.included, ['u-1'])
  })

  t.test('ETag: 304 on a match, new after every change touching the environment', async (t) => {
    const first = await sync({ 'x-api-key': server.key })
    const etag = String(first.headers.etag)
    const again = await sync({ 'x-api-key': server.key, 'if-none-match': etag })
    t.equal(again.statusCode, 304)
    t.equal(again.body, '', '304 has no body')
    t.notOk(Number(again.headers['content-length']) > 0, 'and announces none (a client trusting Content-Length would wait for it)')
    t.equal(again.headers.etag, etag)
    t.equal((await sync({ 'x-api-key': server.key, 'if-none-match': `"other", ${etag}` })).statusCode, 304, 'a list naming it')
    t.equal((await sync({ 'x-api-key': server.key, 'if-none-match': `W/${etag}` })).statusCode, 304, 'the weak form of the tag matches: If-None-Match compares weakly (RFC 9110 §13.1.2), as OFREP bulk does')

    now += 10_000 // past the settle window: the ETag is final, and stays so
    const settled = String((await sync({ 'x-api-key': server.key })).headers.etag)
    t.not(settled, etag, 'the provisional ETag is replaced once the index has settled')
    t.notMatch(settled, /-p"$/)
    const tagAfter = async (what: string, change: () => Promise<unknown>, changes = true) => {
      const before = String((await sync({ 'x-api-key': server.key })).headers.etag)
      await change()
      now += 10_000
      const after = String((await sync({ 'x-api-key': server.key })).headers.etag)
      if (changes) t.not(after, before, `${what}: new ETag`)
      else t.equal(after, before, `${what}: same ETag`)
      t.equal((await sync({ 'x-api-key': server.key, 'if-none-match': after })).statusCode, 304)
    }
    const put = (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'PUT', url, headers: { authorization: admin, 'if-match': '*', ...headers }, payload: payload as object })
    await tagAfter('a flag\'s config', async () => t.equal((await put('/features/dark-mode/env/dev', { enabled: false, offVariant: 'off', defaultServe: { variant: 'on' }, targets: [], rules: [], prerequisites: [], schedule: [] }, { 'if-match': '*' })).statusCode, 200))
    await tagAfter('a segment a flag uses', async () => t.equal((await put('/segments/staff', { included: ['u-1', 'u-2'], excluded: [], rules: [] })).statusCode, 200))
    const doc = definitionsOf(json(await sync({ 'x-api-key': server.key })))
    t.same(doc.get('checkout')?.segments.staff?.included, ['u-1', 'u-2'], 'the new segment is in the rules')
    await tagAfter('a segment no flag uses', async () => t.equal((await put('/segments/unused', { included: [], excluded: [], rules: [] })).statusCode, 200), false)
    await tagAfter('a flag of another environment', async () => t.equal((await put('/features/checkout/env/qa', { enabled: true, offVariant: 'old', defaultServe: { variant: 'new' }, targets: [], rules: [], prerequisites: [], schedule: [] }, { 'if-match': '*' })).statusCode, 200), false)
    await tagAfter('a new flag', async () => post('/features', { name: 'new-flag', environments: { dev: true } }))
    await tagAfter('a feature\'s variants', async () => t.equal((await app.inject({ method: 'PATCH', url: '/features/new-flag', headers: { authorization: admin, 'if-match': '*' }, payload: { description: 'x', variants: [{ key: 'on', value: true }, { key: 'off', value: false }, { key: 'maybe', value: false }] } })).statusCode, 200))
    await tagAfter('a deleted flag', async () => t.equal((await app.inject({ method: 'DELETE', url: '/features/new-flag', headers: { authorization: admin, 'if-match': '*' } })).statusCode, 204))
    t.notOk(definitionsOf(json(await sync({ 'x-api-key': server.key }))).has('new-flag'))
    // Last: the clock moves a day on, past the admin token's lifetime.
    await tagAfter('a schedule persisted by the scheduler', async () => {
      now = Date.parse('2026-03-02T00:00:01Z')
      const workers = createWorkers({ config: loadConfig(ctx.env), log: app.log, now: () => now })
      t.teardown(() => workers.destroy())
      t.match(await workers.schedule(), { applied: 1 })
    })
    const launched = json<any>(await sync({ 'x-api-key': server.key }))
    t.same(launched.flags.find((f: any) => f.key === 'checkout').schedule, [], 'the fired entry is gone from the rules')
  })

  t.test('compressed when the client accepts it', async (t) => {
    const plain = await sync({ 'x-api-key': server.key })
    const gz = await sync({ 'x-api-key': server.key, 'accept-encoding': 'gzip' })
    t.equal(gz.headers['content-encoding'], 'gzip')
    t.equal(gz.headers.vary, 'Origin, accept-encoding', 'the body depends on Accept-Encoding, and CORS on Origin')
    t.same(JSON.parse(gunzipSync(gz.rawPayload).toString('utf8')), json(plain))
    const br = await sync({ 'x-api-key': server.key, 'accept-encoding': 'gzip, deflate, br' })
    t.equal(br.headers['content-encoding'], 'br')
    t.same(JSON.parse(brotliDecompressSync(br.rawPayload).toString('utf8')), json(plain))
    t.notOk((await sync({ 'x-api-key': server.key, 'accept-encoding': 'identity' })).headers['content-encoding'])
    t.equal((await sync({ 'x-api-key': server.key, 'accept-encoding': '*' })).headers['content-encoding'], 'br', '* is any encoding')
    t.equal((await sync({ 'x-api-key': server.key, 'accept-encoding': 'br;q=0, *' })).headers['content-encoding'], 'gzip', '* is not br when br is refused')
    t.notOk((await sync({ 'x-api-key': server.key, 'accept-encoding': 'br;q=0, gzip;q=0, *' })).headers['content-encoding'], 'nor gzip when both are refused')
  })

  t.test('EvaluateFunction (Lambda) sends a large document only compressed: 406 problem+json otherwise', async (t) => {
    // The same table through the Lambda surface, its bound lowered under this small document.
    const lambda = Fastify(serverOptions('silent'))
    t.teardown(() => lambda.close())
    await lambda.register(evaluateApp, { env: ctx.env, sdkMaxUncompressedBytes: 100 })
    const get = (headers: Record<string, string>) => lambda.inject({ method: 'GET', url: '/sdk/v1/flags', headers: { 'x-api-key': server.key, ...headers } })
    for (const enc of [undefined, 'identity', 'deflate']) {
      const res = await get(enc === undefined ? {} : { 'accept-encoding': enc })
      const refused = expectProblem(t, res, 406, `Accept-Encoding: ${enc ?? '(none)'}`)
      t.match(refused.detail, /bytes of JSON, \d+ once escaped into the response, more than this deployment sends uncompressed \(100\): ask for them with Accept-Encoding: br or gzip/)
      // An error answer is not the document: with its ETag and `private` a browser-like cache
      // would store it and serve it again after the next 304.
      t.equal(res.headers.etag, undefined, 'no ETag on the 406')
      t.equal(res.headers['cache-control'], 'no-store', 'the 406 is not stored')
      t.match(res.headers.vary, /accept-encoding/i, 'the 406 depends on Accept-Encoding')
    }
    const gz = await get({ 'accept-encoding': 'gzip' })
    t.equal(gz.statusCode, 200)
    t.same(JSON.parse(gunzipSync(gz.rawPayload).toString('utf8')).flags.map((f: { key: string }) => f.key).sort(), ['checkout', 'dark-mode'])
    t.equal((await get({ 'if-none-match': String(gz.headers.etag) })).statusCode, 304, 'a 304 has no body to refuse')
  })

  t.test('the bound is on the document as Lambda counts it: escaped into the response, each " and \\ one byte more', async (t) => {
    const body = (await sync({ 'x-api-key': server.key })).rawPayload
    const escaped = JSON.stringify(body.toString('utf8')).length - 2
    t.ok(escaped > body.length, `${body.length} bytes, ${escaped} escaped`)
    const uncompressedWithin = async (bound: number) => {
      const lambda = Fastify(serverOptions('silent'))
      t.teardown(() => lambda.close())
      await lambda.register(evaluateApp, { env: ctx.env, sdkMaxUncompressedBytes: bound })
      return await lambda.inject({ method: 'GET', url: '/sdk/v1/flags', headers: { 'x-api-key': server.key } })
    }
    expectProblem(t, await uncompressedWithin(body.length), 406, 'a bound of the bytes of JSON: the response would be larger')
    t.equal((await uncompressedWithin(escaped)).statusCode, 200, 'a bound of the escaped size: sent')
  })
})
