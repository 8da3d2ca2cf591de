// POST /features/evaluate: the read path is one GetItem and never writes, even when a scheduled
// enableAt has passed.
import t from 'tap'
import { build, countingDocumentClient, expectProblem, startStack } from '../helper.js'

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
