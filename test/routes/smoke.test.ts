import t from 'tap'
import { build, eventually } from '../helper.js'

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
