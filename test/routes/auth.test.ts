// POST /auth/signup and POST /auth/login through the app, against dynalite + local SQS.
import t from 'tap'
import { build, expectProblem, ADMIN, CLIENT_PASSWORD } from '../helper.js'

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
