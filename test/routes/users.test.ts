// PUT /users/{email}/role: promote and demote, audited; a demoted admin's token stops working.
import t from 'tap'
import { build, eventually, expectProblem, ADMIN } from '../helper.js'

t.test('users routes', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const setRole = (email: string, payload: unknown, authorization = admin) =>
    app.inject({ method: 'PUT', url: `/users/${encodeURIComponent(email)}/role`, headers: { authorization }, payload: payload as object })
  const adminRoute = (authorization: string) => app.inject({ method: 'POST', url: '/environments', headers: { authorization }, payload: { name: `env-${Math.random().toString(36).slice(2, 8)}` } })

  t.test('promote a client: a fresh login carries the new role', async (t) => {
    const oldToken = await ctx.loginAs('CLIENT', 'grace@example.com')
    const res = await setRole('grace@example.com', { role: 'ADMIN' })
    t.equal(res.statusCode, 200, res.body)
    t.same(res.json(), { username: 'grace', email: 'grace@example.com', role: 'ADMIN', createdAt: res.json().createdAt })
    expectProblem(t, await adminRoute(oldToken), 403, 'the old CLIENT token still says CLIENT')
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'grace@example.com', password: 'purple monkey dishwasher 42' } })
    const fresh = `Bearer ${login.json().access_token as string}`
    t.equal((await adminRoute(fresh)).statusCode, 201, 'the new token is an admin token')

    t.test('demote: the old admin token gets 401 on admin routes', async (t) => {
      const demote = await setRole('GRACE@example.com', { role: 'CLIENT' })
      t.equal(demote.statusCode, 200, demote.body)
      t.equal(demote.json().role, 'CLIENT')
      const p = expectProblem(t, await adminRoute(fresh), 401, 'demoted admin')
      t.match(p.detail, /log in again/)
      t.equal((await app.inject({ method: 'GET', url: '/features', headers: { authorization: fresh } })).statusCode, 200, 'still a client on read routes')
    })
  })

  t.test('role changes are audited, one record each', async (t) => {
    const records = await eventually(async () => {
      const page = await app.audit.list('user:grace@example.com', { order: 'asc', limit: 10 })
      const changes = page.items.filter((r) => r.action === 'USER_ROLE_CHANGED')
      return changes.length >= 2 ? page.items : undefined
    }, { what: 'role change records' })
    t.same(records.map((r) => r.action), ['USER_SIGNED_UP', 'USER_ROLE_CHANGED', 'USER_ROLE_CHANGED'])
    t.match(records[1], { actor: ADMIN.email, before: { role: 'CLIENT' }, after: { role: 'ADMIN' } })
    t.match(records[2], { actor: ADMIN.email, before: { role: 'ADMIN' }, after: { role: 'CLIENT' } })
    t.notOk(JSON.stringify(records).includes('$2b$'), 'no password hash in the audit log')
  })

  t.test('errors', async (t) => {
    expectProblem(t, await setRole('nobody@example.com', { role: 'ADMIN' }), 404, 'unknown user')
    expectProblem(t, await setRole('grace@example.com', { role: 'ROOT' }), 400, 'unknown role')
    expectProblem(t, await setRole('grace@example.com', { role: 'ADMIN', reason: 'x' }), 400, 'extra field')
    expectProblem(t, await setRole('not-an-email', { role: 'ADMIN' }), 400, 'invalid email in path')
    t.equal((await app.users.get('grace@example.com'))?.role, 'CLIENT', 'none of that changed the user')
  })
})
