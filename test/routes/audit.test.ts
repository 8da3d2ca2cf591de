// GET /features/{flag}/audit: oldest first, order=desc, pagination, the record shape; and first, the
// smoke test of the whole write path: a flag created, evaluated, and its audit record read back.
import t from 'tap'
import { build, eventually, expectProblem } from '../helper.js'

interface Rec { eventId: string; action: string; actor: string; timestamp: string; environment?: string; before: unknown; after: unknown }

t.test('create, evaluate, audit through the app', async (t) => {
  const ctx = await build(t)
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const created = await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'new-checkout', environments: { dev: true, prod: false } } })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.headers.etag, '"1"')
  const ev = await ctx.app.inject({ method: 'POST', url: '/features/evaluate', headers: { authorization: admin }, payload: { feature: 'new-checkout', environment: 'prod', context: { targetingKey: 'u1' } } })
  t.equal(ev.statusCode, 200, ev.body)
  t.match(ev.json(), { enabled: false, value: false, reason: 'DISABLED' })
  const audit = await eventually(async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/features/new-checkout/audit', headers: { authorization: admin } })
    const items = res.json().items as unknown[]
    return items.length === 1 ? items : undefined
  }, { what: 'audit record' })
  t.match(audit[0], { action: 'FEATURE_CREATED', actor: 'admin@example.com', before: null })
})

t.test('audit route', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const get = (url: string) => app.inject({ method: 'GET', url, headers: { authorization: admin } })

  t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'audited', environments: { dev: false } } })).statusCode, 201)
  for (const [i, enabled] of [true, false, true].entries()) {
    const res = await app.inject({ method: 'PUT', url: '/features/audited/env/dev', headers: { authorization: admin, 'if-match': `"${i + 1}"` }, payload: { enabled } })
    t.equal(res.statusCode, 200, res.body)
  }
  const all = await eventually(async () => {
    const items = (await get('/features/audited/audit')).json().items as Rec[]
    return items.length >= 4 ? items : undefined
  }, { what: 'four audit records' })

  t.test('oldest first, with who, what, when, before and after', async (t) => {
    t.equal(all.length, 4)
    t.same(all.map((r) => r.action), ['FEATURE_CREATED', 'ENVIRONMENT_UPDATED', 'ENVIRONMENT_UPDATED', 'ENVIRONMENT_UPDATED'])
    const times = all.map((r) => Date.parse(r.timestamp))
    t.same([...times].sort((a, b) => a - b), times, 'timestamps ascend')
    t.match(all[0], { actor: 'admin@example.com', before: null, after: { name: 'audited', version: 1 } })
    t.notOk('environment' in all[0], 'a feature-level change has no environment')
    t.match(all[1], { environment: 'dev', before: { enabled: false }, after: { enabled: true, version: 2 } })
    t.match(all[3], { before: { enabled: false }, after: { enabled: true, version: 4 } })
    t.equal(new Set(all.map((r) => r.eventId)).size, 4, 'distinct event ids')
  })

  t.test('order=desc gives newest first', async (t) => {
    const desc = (await get('/features/audited/audit?order=desc')).json().items as Rec[]
    t.same(desc.map((r) => r.eventId), all.map((r) => r.eventId).reverse())
  })

  t.test('pagination with limit and nextCursor, both orders', async (t) => {
    for (const order of ['asc', 'desc'] as const) {
      const ids: string[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const res = await app.inject({ method: 'GET', url: '/features/audited/audit', query: { order, limit: '3', ...(cursor !== null ? { cursor } : {}) }, headers: { authorization: admin } })
        t.equal(res.statusCode, 200, res.body)
        const body = res.json() as { items: Rec[]; nextCursor: string | null }
        t.ok(body.items.length <= 3)
        ids.push(...body.items.map((r) => r.eventId))
        cursor = body.nextCursor
        pages++
      } while (cursor !== null && pages < 10)
      const expected = all.map((r) => r.eventId)
      t.same(ids, order === 'asc' ? expected : expected.reverse(), `${order}: every record once, in order`)
      t.equal(pages, 2)
    }
  })

  t.test('errors', async (t) => {
    expectProblem(t, await get('/features/audited/audit?limit=101'), 400, 'limit 101')
    expectProblem(t, await get('/features/audited/audit?order=sideways'), 400, 'bad order')
    expectProblem(t, await get('/features/audited/audit?cursor=%25%25%25'), 400, 'bad cursor')
    expectProblem(t, await get('/features/Bad_Name/audit'), 400, 'bad flag name')
    t.same((await get('/features/never-existed/audit')).json(), { items: [], nextCursor: null }, 'a flag without history has an empty log')
  })
})
