// POST /auth/signup and POST /auth/login through the app, against dynalite + local SQS; GET /users
// and PUT /users/{email}/role: list accounts, promote and demote (audited); a demoted admin's token
// stops working. (One process for both: each test builds its own stack and app.)
import t from 'tap'
import { UpdateCommand } from '@aws-sdk/lib-dynamodb'
import { userKey } from '../../src/repositories/keys.js'
import { build, eventually, expectProblem, ADMIN, CLIENT_PASSWORD } from '../helper.js'

t.test('auth routes', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  const signup = (payload: unknown) => app.inject({ method: 'POST', url: '/auth/signup', payload: payload as object })
  const login = (payload: unknown) => app.inject({ method: 'POST', url: '/auth/login', payload: payload as object })

  t.test('signup creates a CLIENT and hides the hash', async (t) => {
    const res = await signup({ username: 'ada', email: 'Ada@Example.com', password: CLIENT_PASSWORD })
    t.equal(res.statusCode, 201, res.body)
    const body = res.json()
    t.match(body, { username: 'ada', email: 'ada@example.com', role: 'CLIENT', createdAt: String })
    t.notOk('passwordHash' in body, 'no password hash in the response')
    t.notOk('roleVersion' in body || 'password' in body)
    const stored = await app.users.get('ada@example.com')
    t.equal(stored?.role, 'CLIENT')
    t.not(stored?.passwordHash, CLIENT_PASSWORD, 'password stored hashed')
  })

  t.test('signup cannot choose a role: the field is refused, not ignored', async (t) => {
    const res = await signup({ username: 'eve', email: 'eve@example.com', password: CLIENT_PASSWORD, role: 'ADMIN' })
    const p = expectProblem(t, res, 400)
    t.match(p.detail, /role/, 'names the unknown property')
    t.match(p.errors, [{ path: '/body/role', message: /unknown property/ }])
    t.equal(await app.users.get('eve@example.com'), undefined, 'nothing created')
  })

  t.test('duplicate email (any case) is 409', async (t) => {
    const first = await signup({ username: 'bob', email: 'bob@example.com', password: CLIENT_PASSWORD })
    t.equal(first.statusCode, 201)
    const again = await signup({ username: 'bob2', email: 'BOB@example.com', password: 'another good passphrase' })
    expectProblem(t, again, 409)
    t.equal((await app.users.get('bob@example.com'))?.username, 'bob', 'the first account is untouched')
  })

  t.test('weak passwords are 400 saying why', async (t) => {
    const cases: Array<[string, RegExp]> = [
      ['short1', /at least 12 characters/],
      ['aaaaaaaaaaaaaaaa', /5 different characters/],
      ['password1234', /too common/],
      ['x'.repeat(40) + 'é'.repeat(20) + 'abcd', /72 bytes/],
      ['carolinepassphrase', /email name/]
    ]
    for (const [password, why] of cases) {
      const res = await signup({ username: 'carol', email: 'caroline@example.com', password })
      const p = expectProblem(t, res, 400, password)
      t.match(p.detail, why, `reason for ${password}`)
      t.match(p.errors, [{ path: '/body/password' }])
    }
    t.equal(await app.users.get('caroline@example.com'), undefined)
  })

  t.test('signup body is validated strictly', async (t) => {
    expectProblem(t, await signup({ username: 'x', email: 'not-an-email', password: CLIENT_PASSWORD }), 400, 'bad email')
    expectProblem(t, await signup({ username: 'x', email: 'x@example.com' }), 400, 'missing password')
    const p = expectProblem(t, await signup({ username: 42, email: 'x@example.com', password: CLIENT_PASSWORD }), 400, 'number username not coerced')
    t.match(p.detail, /username/)
  })

  t.test('login answers an OAuth-style token usable as a bearer', async (t) => {
    const res = await login({ email: ADMIN.email, password: ADMIN.password })
    t.equal(res.statusCode, 200, res.body)
    const body = res.json()
    t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type'])
    t.equal(body.token_type, 'Bearer')
    t.equal(body.expires_in, 3600)
    const claims = app.jwt.decode<{ sub: string; role: string; exp: number; iat: number }>(body.access_token)
    t.match(claims, { sub: ADMIN.email, role: 'ADMIN' })
    t.equal(claims!.exp - claims!.iat, 3600)
    const me = await app.inject({ method: 'GET', url: '/features', headers: { authorization: `Bearer ${body.access_token}` } })
    t.equal(me.statusCode, 200)
    const mixedCase = await login({ email: 'ADMIN@example.com', password: ADMIN.password })
    t.equal(mixedCase.statusCode, 200, 'email is case-insensitive')
  })

  t.test('unknown email and wrong password give the same 401', async (t) => {
    const unknown = await login({ email: 'nobody@example.com', password: CLIENT_PASSWORD })
    const wrong = await login({ email: ADMIN.email, password: 'not the admin password' })
    const a = expectProblem(t, unknown, 401, 'unknown email')
    const b = expectProblem(t, wrong, 401, 'wrong password')
    const strip = (p: Record<string, unknown>) => { const { requestId: _r, instance: _i, ...rest } = p; return rest }
    t.same(strip(a as unknown as Record<string, unknown>), strip(b as unknown as Record<string, unknown>), 'identical bodies')
    t.equal(unknown.headers['www-authenticate'], wrong.headers['www-authenticate'])
    t.notOk(/exist|unknown|not found/i.test(a.detail), 'does not reveal whether the account exists')
  })

  t.test('login body is validated strictly', async (t) => {
    expectProblem(t, await login({ email: ADMIN.email }), 400)
    expectProblem(t, await login({ email: ADMIN.email, password: ADMIN.password, remember: true }), 400)
  })

  t.test('a forged or garbage token is 401', async (t) => {
    const res = await login({ email: ADMIN.email, password: ADMIN.password })
    const token = res.json().access_token as string
    const [h, p] = token.split('.')
    const forged = `${h}.${p}.${'A'.repeat(43)}`
    for (const authorization of [`Bearer ${forged}`, 'Bearer nonsense', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      const r = await app.inject({ method: 'GET', url: '/features', headers: { authorization } })
      expectProblem(t, r, 401, authorization.slice(0, 12))
    }
  })
})

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
