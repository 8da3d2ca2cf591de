// GET /users and PUT /users/{email}/role: list accounts, promote and demote (audited); a demoted
// admin's token stops working.
import t from 'tap'
import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { userKey } from '../../src/repositories/keys.js'
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
    const p = expectProblem(t, await setRole('grace@example.com', { role: 'admin' }), 400, 'lower-case role')
    t.match(p.errors, [{ path: '/body/role', message: 'must be one of "ADMIN", "CLIENT"' }], 'says which roles exist, once')
    t.equal((await app.users.get('grace@example.com'))?.role, 'CLIENT', 'none of that changed the user')
  })
})

t.test('GET /users: accounts with their roles, paginated, admins only', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  const client = await ctx.loginAs('CLIENT', 'carol@example.com')
  for (const who of ['alice@example.com', 'bob@example.com', 'dave@example.com']) await ctx.loginAs('CLIENT', who)
  const list = (query: string, authorization = admin) => app.inject({ method: 'GET', url: `/users${query}`, headers: { authorization } })

  const all = await list('')
  t.equal(all.statusCode, 200, all.body)
  t.same(all.json().items.map((u: { email: string; role: string }) => `${u.email} ${u.role}`),
    ['admin@example.com ADMIN', 'alice@example.com CLIENT', 'bob@example.com CLIENT', 'carol@example.com CLIENT', 'dave@example.com CLIENT'], 'by email, with roles')
  t.notOk(all.body.includes('passwordHash') || all.body.includes('$2b$'), 'no password hash')

  const seen: string[] = []
  let cursor: string | null = null
  do {
    const page = await list(`?limit=2${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    t.equal(page.statusCode, 200, page.body)
    t.ok(page.json().items.length <= 2)
    seen.push(...page.json().items.map((u: { email: string }) => u.email))
    cursor = page.json().nextCursor
  } while (cursor !== null)
  t.same(seen, all.json().items.map((u: { email: string }) => u.email), 'pages of 2 give every account once')

  t.same((await list('?role=ADMIN')).json().items.map((u: { email: string }) => u.email), ['admin@example.com'], 'filter by role')
  const bad = expectProblem(t, await list('?role=admin'), 400, 'unknown role filter')
  t.match(bad.errors, [{ path: '/querystring/role', message: /"ADMIN", "CLIENT"/ }])
  expectProblem(t, await list('', client), 403, 'a CLIENT may not list accounts')
  expectProblem(t, await app.inject({ method: 'GET', url: '/users' }), 401, 'anonymous')

  t.test('an account stored before GET /users existed is listed after its next login', async (t) => {
    await ctx.loginAs('CLIENT', 'old@example.com')
    await app.store.doc.send(new UpdateCommand({ TableName: app.store.tableName, Key: userKey('old@example.com'), UpdateExpression: 'REMOVE GSI1PK, GSI1SK' }))
    t.notOk((await list('')).json().items.some((u: { email: string }) => u.email === 'old@example.com'), 'not listed without its index keys')
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'old@example.com', password: 'purple monkey dishwasher 42' } })
    t.equal(login.statusCode, 200)
    t.ok((await list('')).json().items.some((u: { email: string }) => u.email === 'old@example.com'), 'listed after logging in')
  })
})
