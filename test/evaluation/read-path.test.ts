// The evaluation read path through the app, counting the DynamoDB commands it sends (one process
// for both: each test builds its own stack and app).
// POST /features/evaluate: the read path is one GetItem and never writes, even when a scheduled
// enableAt has passed.
// With the evaluation cache on (a TTL far longer than the test), every write through the app is
// visible to the very next evaluation — REST, OFREP single and OFREP bulk (+ its ETag) — while
// repeated evaluations are answered from memory (no DynamoDB read).
import t from 'tap'
import { build, countingDocumentClient, expectProblem, startStack } from '../helper.js'
import { createApiKey, type Call } from '../ofrep/seed.js'

t.test('evaluate route', async (t) => {
  const stack = await startStack(t)
  const { dynamo, commands } = countingDocumentClient(t, stack)
  const ctx = await build(t, { stack, app: { dynamo } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  const client = await ctx.loginAs('CLIENT')
  const evaluate = (payload: unknown, authorization = client) =>
    app.inject({ method: 'POST', url: '/features/evaluate', headers: { authorization }, payload: payload as object })
  const adminReq = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.inject({ method, url, headers: { authorization: admin, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) })
  // Replacing a config requires If-Match: send the ETag just read, as a client would.
  const ifMatch = async (flag: string) => ({ 'if-match': String((await adminReq('GET', `/features/${flag}`)).headers.etag) })

  t.equal((await adminReq('POST', '/features', { name: 'checkout', environments: { dev: true, prod: false } })).statusCode, 201)

  t.test('answers the evaluation with one GetItem', async (t) => {
    commands.length = 0
    const on = await evaluate({ feature: 'checkout', environment: 'dev', context: { targetingKey: 'user-1', country: 'FR' } })
    t.equal(on.statusCode, 200, on.body)
    t.same(on.json(), { feature: 'checkout', environment: 'dev', enabled: true, value: true, variant: 'on', reason: 'STATIC' })
    t.same(commands, ['GetItemCommand'], 'exactly one DynamoDB call, a GetItem')

    commands.length = 0
    const off = await evaluate({ feature: 'checkout', environment: 'prod' }, admin)
    t.equal(off.statusCode, 200, off.body)
    t.same(off.json(), { feature: 'checkout', environment: 'prod', enabled: false, value: false, variant: 'off', reason: 'DISABLED' })
    t.same(commands, ['GetItemCommand'], 'an admin caller costs no extra lookup either')
  })

  t.test('reflects a change at once (no stale cache in this process)', async (t) => {
    t.equal((await adminReq('PUT', '/features/checkout/env/prod', { enabled: true }, await ifMatch('checkout'))).statusCode, 200)
    t.match((await evaluate({ feature: 'checkout', environment: 'prod' })).json(), { enabled: true, value: true })
  })

  t.test('a passed enableAt evaluates as enabled without writing', async (t) => {
    const past = new Date(Date.now() - 60_000).toISOString()
    const put = await adminReq('PUT', '/features/checkout/env/dev', { enabled: false, enableAt: past }, await ifMatch('checkout'))
    t.equal(put.statusCode, 200, put.body)
    const version = put.json().version as number
    const outboxBefore = await app.audit.countOutbox()

    commands.length = 0
    const res = await evaluate({ feature: 'checkout', environment: 'dev', context: { targetingKey: 'u' } })
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json(), { enabled: true, value: true, variant: 'on' })
    t.same(commands, ['GetItemCommand'], 'no write on the read path')

    const stored = (await adminReq('GET', '/features/checkout')).json()
    t.equal(stored.version, version, 'version unchanged')
    t.equal(stored.environments.dev.enabled, false, 'stored config still says disabled until the scheduler records it')
    t.equal(stored.environments.dev.enableAt, past)
    t.equal(await app.audit.countOutbox(), outboxBefore, 'no audit event from the read path')

    const future = new Date(Date.now() + 3_600_000).toISOString()
    t.equal((await adminReq('PUT', '/features/checkout/env/dev', { enabled: false, enableAt: future }, await ifMatch('checkout'))).statusCode, 200)
    t.match((await evaluate({ feature: 'checkout', environment: 'dev' })).json(), { enabled: false, reason: 'DISABLED' }, 'a future enableAt does not enable yet')
  })

  t.test('errors', async (t) => {
    expectProblem(t, await evaluate({ feature: 'nope', environment: 'dev' }), 404, 'unknown flag')
    expectProblem(t, await evaluate({ feature: 'checkout', environment: 'qa' }), 404, 'no config in that environment')
    expectProblem(t, await evaluate({ feature: 'checkout' }), 400, 'missing environment')
    const extra = expectProblem(t, await evaluate({ feature: 'checkout', environment: 'dev', user: 'x' }), 400, 'extra field')
    t.match(extra.detail, /user/)
    expectProblem(t, await evaluate({ feature: 'checkout', environment: 'dev', context: 'x' }), 400, 'context not an object')
    expectProblem(t, await evaluate({ feature: 'checkout', environment: 'dev', context: { targetingKey: 42 } }), 400, 'targetingKey not coerced')
  })
})

t.test('read-your-writes through the cache', async (t) => {
  const stack = await startStack(t)
  const { dynamo, commands } = countingDocumentClient(t, stack)
  const { app, loginAs } = await build(t, { stack, env: { EVAL_CACHE_TTL_MS: '600000' }, app: { dynamo } })
  const admin = await loginAs('ADMIN')
  const call: Call = async (method, url, opts = {}) => {
    const res = await app.inject({ method: method as 'GET', url, headers: opts.headers, payload: opts.body as object })
    return { status: res.statusCode, body: res.body === '' ? undefined : res.json() }
  }
  const { key } = await createApiKey(call, admin, 'dev')
  const asKey = { authorization: `Bearer ${key}` }
  const asAdmin = { authorization: admin }

  const evaluate = async (feature: string, context: Record<string, unknown> = { targetingKey: 'u1' }) =>
    await call('POST', '/features/evaluate', { headers: asKey, body: { feature, environment: 'dev', context } })
  const single = async (flag: string) => await call('POST', `/ofrep/v1/evaluate/flags/${flag}`, { headers: asKey, body: { context: { targetingKey: 'u1' } } })
  const bulk = async (etag?: string) => {
    const res = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags', headers: { ...asKey, ...(etag !== undefined ? { 'if-none-match': etag } : {}) }, payload: { context: { targetingKey: 'u1' } } })
    return { status: res.statusCode, etag: res.headers.etag as string, flags: res.body === '' ? undefined : Object.fromEntries((res.json().flags as Array<{ key: string, value?: unknown }>).map((f) => [f.key, f.value])) }
  }
  const reads = () => commands.filter((c) => c === 'GetItemCommand' || c === 'QueryCommand' || c === 'BatchGetItemCommand').length

  t.equal((await evaluate('banner')).status, 404, 'not there yet (and the miss is cached)')
  t.equal((await bulk()).flags?.banner, undefined)

  const created = await call('POST', '/features', {
    headers: asAdmin,
    body: { name: 'banner', type: 'string', variants: [{ key: 'blue', value: 'blue' }, { key: 'green', value: 'green' }], environments: { dev: { enabled: true, offVariant: 'blue', defaultServe: { variant: 'blue' } } } }
  })
  t.equal(created.status, 201)
  t.equal((await evaluate('banner')).body.value, 'blue', 'a create is visible to the next evaluation')
  t.equal((await single('banner')).body.value, 'blue')
  const b1 = await bulk()
  t.equal(b1.flags?.banner, 'blue', '… and to the next bulk evaluation')

  // Answered from memory: no read for repeated evaluations, a 304 for the same bulk context.
  const before = reads()
  for (let i = 0; i < 5; i++) {
    t.equal((await evaluate('banner')).body.value, 'blue')
    t.equal((await single('banner')).status, 200)
    t.equal((await bulk(b1.etag)).status, 304)
  }
  t.equal((await bulk()).etag, b1.etag)
  t.equal(reads() - before, 0, 'no DynamoDB read for cached evaluations')

  // A targeting change.
  const put = await call('PUT', '/features/banner/env/dev', { headers: { ...asAdmin, 'if-match': '*' }, body: { enabled: true, offVariant: 'blue', defaultServe: { variant: 'green' } } })
  t.equal(put.status, 200)
  t.equal((await evaluate('banner')).body.value, 'green', 'PUT env visible at once (REST)')
  t.equal((await single('banner')).body.value, 'green', 'PUT env visible at once (OFREP)')
  const b2 = await bulk(b1.etag)
  t.equal(b2.status, 200, 'the old ETag no longer matches')
  t.not(b2.etag, b1.etag)
  t.equal(b2.flags?.banner, 'green')

  // A feature-level change that rewrites the environment items (variants are copied into them).
  const patched = await call('PATCH', '/features/banner', { headers: { ...asAdmin, 'if-match': '*' }, body: { variants: [{ key: 'blue', value: 'navy' }, { key: 'green', value: 'lime' }] } })
  t.equal(patched.status, 200, JSON.stringify(patched.body))
  t.equal((await evaluate('banner')).body.value, 'lime', 'variant values changed at once')
  t.equal((await bulk(b2.etag)).flags?.banner, 'lime')

  // A segment change refreshes the snapshot in every flag environment using it.
  t.equal((await call('POST', '/segments', { headers: asAdmin, body: { key: 'testers', included: [], excluded: [], rules: [] } })).status, 201)
  const gated = await call('POST', '/features', {
    headers: asAdmin,
    body: { name: 'beta', environments: { dev: { enabled: true, offVariant: 'off', defaultServe: { variant: 'off' }, rules: [{ id: 'testers', clauses: [{ attribute: 'targetingKey', operator: 'segmentMatch', values: ['testers'] }], serve: { variant: 'on' } }] } } }
  })
  t.equal(gated.status, 201, JSON.stringify(gated.body))
  t.equal((await evaluate('beta')).body.value, false)
  const b3 = await bulk()
  t.equal(b3.flags?.beta, false)
  t.equal((await call('PUT', '/segments/testers', { headers: { ...asAdmin, 'if-match': '*' }, body: { included: ['u1'], excluded: [], rules: [] } })).status, 200)
  t.equal((await evaluate('beta')).body.value, true, 'segment change visible at once')
  t.equal((await bulk(b3.etag)).flags?.beta, true)

  // Removal.
  t.equal((await call('DELETE', '/features/banner/env/dev', { headers: { ...asAdmin, 'if-match': '*' } })).status, 204)
  t.equal((await evaluate('banner')).status, 404, 'config removed: 404 at once')
  t.equal((await single('banner')).status, 404)
  t.equal((await bulk()).flags?.banner, undefined, 'and gone from bulk')
  t.equal((await call('DELETE', '/features/beta', { headers: { ...asAdmin, 'if-match': '*' } })).status, 204)
  t.equal((await evaluate('beta')).status, 404, 'feature deleted: 404 at once')
  t.same((await bulk()).flags, {})
})
