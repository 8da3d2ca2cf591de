// GET/POST /environments: the registry seeded on first start, registration audited.
import t from 'tap'
import { build, eventually, expectProblem } from '../helper.js'

t.test('environments routes', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const client = await ctx.loginAs('CLIENT')
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/environments', headers: { authorization: admin }, payload: payload as object })
  const list = async (authorization = client) => {
    const res = await app.inject({ method: 'GET', url: '/environments', headers: { authorization } })
    t.equal(res.statusCode, 200, res.body)
    return res.json().items as Array<{ name: string; createdBy: string }>
  }

  t.test('the defaults exist on first start and clients can read them', async (t) => {
    const items = await list()
    t.same(items.map((e) => e.name).sort(), ['dev', 'prod', 'qa', 'staging'])
    t.ok(items.every((e) => e.createdBy === 'system:bootstrap'))
  })

  t.test('registering an environment makes it usable and is audited once', async (t) => {
    const res = await post({ name: 'canary', description: 'One region first' })
    t.equal(res.statusCode, 201, res.body)
    t.match(res.json(), { name: 'canary', description: 'One region first', createdBy: 'admin@example.com', createdAt: String })
    t.ok((await list()).some((e) => e.name === 'canary'))
    const flag = await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'in-canary', environments: { canary: true } } })
    t.equal(flag.statusCode, 201, 'flags can target it at once')
    const records = await eventually(async () => {
      const page = await app.audit.list('environment:canary', { order: 'asc', limit: 10 })
      return page.items.length > 0 ? page.items : undefined
    }, { what: 'ENVIRONMENT_REGISTERED record' })
    t.equal(records.length, 1)
    t.match(records[0], { action: 'ENVIRONMENT_REGISTERED', actor: 'admin@example.com', environment: 'canary', before: null, after: { name: 'canary' } })
  })

  t.test('errors', async (t) => {
    expectProblem(t, await post({ name: 'canary' }), 409, 'duplicate')
    expectProblem(t, await post({ name: 'dev' }), 409, 'duplicate default')
    expectProblem(t, await post({ name: 'Prod EU' }), 400, 'not a slug')
    expectProblem(t, await post({ name: 'x'.repeat(33) }), 400, 'too long')
    const extra = expectProblem(t, await post({ name: 'eu', region: 'eu-west-1' }), 400, 'extra field')
    t.match(extra.detail, /region/)
    expectProblem(t, await post({ name: 7 }), 400, 'number not coerced')
    t.notOk((await list()).some((e) => e.name === 'eu'))
  })
})
