// Promise 5 (docs/RELIABILITY.md): authentication and authorization hold against stolen, forged
// and stale credentials. Forged tokens (alg none, another algorithm, a wrong signature, expired, not
// yet valid, a tampered role, missing claims) are refused everywhere; a deleted or demoted user's old
// token is refused at once on admin routes and stays valid until it expires on read/evaluate
// routes (DESIGN.md §6); login is rate limited per account and per address; signup and login do not
// tell more than they must; bcrypt cost is 12 by default; no secret or hash reaches an error
// answer or an audit record; security headers are on every answer. CLIENT → 403 and anonymous →
// 401 on every admin route is test/routes/role-matrix.test.ts (it fails when a route is added
// without an access decision); secrets in logs is test/plugins/redaction.test.ts.
import t from 'tap'
import { createHmac } from 'node:crypto'
import Fastify from 'fastify'
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb'
import app from '../../src/app.js'
import { serverOptions } from '../../src/core.js'
import { build, eventually, expectProblem, startStack, testEnv, ADMIN, CLIENT_PASSWORD } from '../helper.js'
import { scanAll } from './support.js'

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

/** A JWT with any header, payload and HMAC; `alg` in the header is whatever the attacker writes. */
function jwt (header: Record<string, unknown>, payload: Record<string, unknown>, key: string | undefined, hash: 'sha256' | 'sha512' = 'sha256'): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`
  const signature = key === undefined ? '' : createHmac(hash, key).update(signingInput).digest('base64url')
  return `${signingInput}.${signature}`
}

t.test('forged, expired and tampered tokens are refused on every kind of route', async (t) => {
  // The app's clock: expiry is judged on it, so the test moves past a token's exp instead of waiting.
  // Moving it also ends load shedding's start-up grace; on a loaded machine the loop can lag past
  // the 1 s threshold, so shedding is off here (it has its own test, plugins/load-shedding.test.ts).
  let offset = 0
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000', SHED_EVENT_LOOP_DELAY_MS: '0' }, app: { now: () => Date.now() + offset } })
  const secret = ctx.env.JWT_SECRET
  const admin = await ctx.loginAs('ADMIN')
  const client = await ctx.loginAs('CLIENT')
  t.equal((await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'guarded', environments: { dev: true } } })).statusCode, 201)
  const adminClaims = ctx.app.jwt.decode<{ sub: string; role: string; rv: number }>(admin.slice('Bearer '.length))!
  const now = Math.floor(Date.now() / 1000)
  const claims = { sub: adminClaims.sub, role: 'ADMIN', rv: adminClaims.rv, iat: now, exp: now + 600 }
  const HS256 = { alg: 'HS256', typ: 'JWT' }
  interface Route { what: string; method: 'GET' | 'POST'; url: string; payload?: Record<string, unknown> }
  const routes: Route[] = [
    { what: 'admin route', method: 'POST' as const, url: '/environments', payload: { name: 'forged-env' } },
    { what: 'read route', method: 'GET' as const, url: '/features/guarded' },
    { what: 'evaluate route', method: 'POST' as const, url: '/features/evaluate', payload: { feature: 'guarded', environment: 'dev' } }
  ]
  const send = (token: string, r: Route) => ctx.app.inject({ method: r.method, url: r.url, headers: { authorization: `Bearer ${token}` }, ...(r.payload !== undefined ? { payload: r.payload } : {}) })

  // Control: a token the test signs itself, correctly, is accepted, so each refusal below is due
  // to the one defect of that token and not to how the test builds tokens.
  const genuine = jwt(HS256, claims, secret)
  for (const r of routes) {
    const res = await send(genuine, r.what === 'admin route' ? { ...r, payload: { name: 'control-env' } } : r)
    t.ok(res.statusCode < 300, `control: a correctly signed token works on the ${r.what} (${res.statusCode})`)
  }

  const [, clientPayload, clientSignature] = client.slice('Bearer '.length).split('.')
  const tamperedRole = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ ...JSON.parse(Buffer.from(clientPayload, 'base64url').toString()), role: 'ADMIN' })}.${clientSignature}`
  const forged: Array<[string, string]> = [
    ['alg none, no signature', jwt({ alg: 'none', typ: 'JWT' }, claims, undefined)],
    ['alg none with a signature', `${jwt({ alg: 'none', typ: 'JWT' }, claims, undefined)}${createHmac('sha256', secret).update('x').digest('base64url')}`],
    ['HS512 signed with the real secret', jwt({ alg: 'HS512', typ: 'JWT' }, claims, secret, 'sha512')],
    ['RS256 header, HMAC with the secret (algorithm confusion)', jwt({ alg: 'RS256', typ: 'JWT' }, claims, secret)],
    ['wrong signature (another secret)', jwt(HS256, claims, 'x'.repeat(64))],
    ['signature of another token', `${jwt(HS256, claims, undefined)}${clientSignature}`],
    ['expired', jwt(HS256, { ...claims, iat: now - 7200, exp: now - 3600 }, secret)],
    ['not yet valid (nbf in the future)', jwt(HS256, { ...claims, nbf: now + 3600 }, secret)],
    ['tampered role claim (CLIENT token, role set to ADMIN)', tamperedRole],
    ['role that does not exist', jwt(HS256, { ...claims, role: 'ROOT' }, secret)],
    ['no role-version claim', jwt(HS256, { sub: claims.sub, role: 'ADMIN', iat: now, exp: now + 600 }, secret)],
    ['garbage', 'not.a.jwt'],
    ['empty bearer', '']
  ]
  for (const [what, token] of forged) {
    for (const r of routes) {
      const res = await send(token, r)
      expectProblem(t, res, 401, `${what} on the ${r.what}`)
      t.equal(res.headers['www-authenticate'], 'Bearer', `${what}: WWW-Authenticate`)
    }
  }
  // Verification may be cached (fast-jwt's cache): a token seen while valid is refused once it expires.
  const shortLived = jwt(HS256, { ...claims, exp: Math.floor(Date.now() / 1000) + 2 }, secret)
  t.equal((await send(shortLived, routes[1])).statusCode, 200, 'a token about to expire works')
  offset += 3_100 // past its exp
  expectProblem(t, await send(shortLived, routes[1]), 401, 'the same token after its expiry')
  expectProblem(t, await send(shortLived, routes[0]), 401, 'the same token after its expiry, admin route')

  const envs = (await ctx.app.inject({ method: 'GET', url: '/environments', headers: { authorization: admin } })).json() as { items?: Array<{ name: string }> } | Array<{ name: string }>
  t.ok(JSON.stringify(envs).includes('control-env'), 'control: the genuine token created its environment')
  t.notOk(JSON.stringify(envs).includes('forged-env'), 'no forged token created anything')
  t.comment(`${forged.length} forged tokens × ${routes.length} routes refused with 401`)
})

t.test('a deleted or demoted user\'s old token: refused at once on admin routes, valid until expiry on read routes', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'readable', environments: { dev: true } } })).statusCode, 201)
  const adminRoute = (authorization: string) => app.inject({ method: 'POST', url: '/environments', headers: { authorization }, payload: { name: `env-${Math.random().toString(36).slice(2, 8)}` } })
  const readRoute = (authorization: string) => app.inject({ method: 'GET', url: '/features/readable', headers: { authorization } })
  const evaluateRoute = (authorization: string) => app.inject({ method: 'POST', url: '/features/evaluate', headers: { authorization }, payload: { feature: 'readable', environment: 'dev' } })

  const deletedAdmin = await ctx.loginAs('ADMIN', 'deleted-admin@example.com')
  const deletedClient = await ctx.loginAs('CLIENT', 'deleted-client@example.com')
  const demoted = await ctx.loginAs('ADMIN', 'demoted@example.com')
  t.equal((await adminRoute(deletedAdmin)).statusCode, 201, 'before: the admin token works')
  t.equal((await adminRoute(demoted)).statusCode, 201, 'before: the other admin token works')

  // There is no delete-user route: an operator removes the account from the table.
  for (const email of ['deleted-admin@example.com', 'deleted-client@example.com']) {
    await app.dynamo.send(new DeleteCommand({ TableName: app.config.TABLE_NAME, Key: { PK: `USER#${email}`, SK: 'PROFILE' } }))
  }
  t.equal((await app.inject({ method: 'PUT', url: '/users/demoted%40example.com/role', headers: { authorization: admin }, payload: { role: 'CLIENT' } })).statusCode, 200)

  expectProblem(t, await adminRoute(deletedAdmin), 401, 'deleted admin on an admin route')
  expectProblem(t, await adminRoute(demoted), 401, 'demoted admin on an admin route')
  // The documented window: read and evaluate routes do not re-read the account (the hot path).
  t.equal((await readRoute(deletedAdmin)).statusCode, 200, 'deleted admin: read route until expiry')
  t.equal((await readRoute(deletedClient)).statusCode, 200, 'deleted client: read route until expiry')
  t.equal((await evaluateRoute(deletedClient)).statusCode, 200, 'deleted client: evaluate route until expiry')
  t.equal((await readRoute(demoted)).statusCode, 200, 'demoted admin: still a reader')
  const claims = app.jwt.decode<{ iat: number; exp: number }>(deletedClient.slice('Bearer '.length))!
  t.ok(claims.exp - claims.iat <= 3600, `the window is the token lifetime: ${claims.exp - claims.iat} s ≤ 1 h (JWT_TTL_SECONDS)`)
  t.equal(app.config.JWT_TTL_SECONDS, 3600, 'default lifetime 1 h')

  // Promoted again: the old token is still refused, because the role version moved twice.
  t.equal((await app.inject({ method: 'PUT', url: '/users/demoted%40example.com/role', headers: { authorization: admin }, payload: { role: 'ADMIN' } })).statusCode, 200)
  expectProblem(t, await adminRoute(demoted), 401, 'a token from before a demotion stays refused after re-promotion')
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'demoted@example.com', password: CLIENT_PASSWORD } })
  t.equal((await adminRoute(`Bearer ${login.json().access_token as string}`)).statusCode, 201, 'a fresh login works')
  // A deleted account cannot log in again.
  expectProblem(t, await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'deleted-client@example.com', password: CLIENT_PASSWORD } }), 401, 'deleted account login')
})

t.test('failed logins are limited per account and per address; signup per address', async (t) => {
  const LIMIT = 5
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: String(LIMIT) } })
  const { app } = ctx
  const login = (email: string, password: string, remoteAddress: string) => app.inject({ method: 'POST', url: '/auth/login', remoteAddress, payload: { email, password } })

  await t.test('per account: guesses from many addresses', async (t) => {
    const codes: number[] = []
    for (let i = 0; i < LIMIT; i++) codes.push((await login(ADMIN.email, `wrong guess number ${i}`, `10.0.0.${i + 1}`)).statusCode)
    t.same(codes, Array(LIMIT).fill(401), `the first ${LIMIT} guesses are answered`)
    const limited = await login(ADMIN.email, 'yet another wrong guess', '10.0.0.200')
    expectProblem(t, limited, 429, 'guess from a fresh address')
    t.match(String(limited.headers['retry-after']), /^\d+$/, 'Retry-After')
    expectProblem(t, await login(ADMIN.email, ADMIN.password, '10.0.0.201'), 429, 'even the right password is held back until the window ends')
  })

  await t.test('per account: guesses sent all at once are limited too (attempts in flight count)', async (t) => {
    const victim = 'parallel@example.com'
    const answers = await Promise.all(Array.from({ length: LIMIT * 4 }, (_, i) => login(victim, `parallel guess ${i}`, `10.1.0.${i + 1}`)))
    const answered = answers.filter((r) => r.statusCode === 401).length
    t.ok(answered <= LIMIT, `at most ${LIMIT} of ${LIMIT * 4} concurrent guesses are checked (got ${answered})`)
    t.equal(answers.filter((r) => r.statusCode === 429).length, LIMIT * 4 - answered, 'the others are 429')
  })

  await t.test('per address: one guess each at many accounts (password spraying)', async (t) => {
    const codes: number[] = []
    for (let i = 0; i < LIMIT; i++) codes.push((await login(`victim${i}@example.com`, 'Summer2024!!', '192.0.2.7')).statusCode)
    t.same(codes, Array(LIMIT).fill(401), `the first ${LIMIT} attempts from the address are answered`)
    const limited = await login('victim99@example.com', 'Summer2024!!', '192.0.2.7')
    expectProblem(t, limited, 429, 'the next account from the same address')
    t.match(String(limited.headers['retry-after']), /^\d+$/, 'Retry-After')
    expectProblem(t, await login('someone@example.com', 'Summer2024!!', '192.0.2.8'), 401, 'another address is not affected')
  })

  await t.test('failures on one account do not lock anyone else out of the same address', async (t) => {
    await ctx.loginAs('CLIENT', 'typo@example.com')
    await ctx.loginAs('ADMIN', 'colleague@example.com')
    for (let i = 0; i < LIMIT; i++) t.equal((await login('typo@example.com', `mistyped ${i}`, '203.0.113.5')).statusCode, 401)
    expectProblem(t, await login('typo@example.com', CLIENT_PASSWORD, '203.0.113.5'), 429, 'that account waits for the window')
    // (ADMIN.email itself is held back by the first subtest's guesses, as it should be.)
    const admin = await login('colleague@example.com', CLIENT_PASSWORD, '203.0.113.5')
    t.equal(admin.statusCode, 200, 'an admin behind the same address logs in')
    for (let i = 0; i < LIMIT * 3; i++) {
      const again = await login('colleague@example.com', CLIENT_PASSWORD, '203.0.113.5')
      if (again.statusCode !== 200) return t.fail(`successful login ${i + 2} answered ${again.statusCode}: successes must not be limited`)
    }
    t.pass(`${LIMIT * 3 + 1} successful logins in a row, none limited`)
  })

  await t.test('signup (the one answer that tells an account exists) is limited per address', async (t) => {
    const codes: number[] = []
    for (let i = 0; i <= LIMIT; i++) {
      codes.push((await app.inject({ method: 'POST', url: '/auth/signup', remoteAddress: '198.51.100.9', payload: { username: `probe${i}`, email: i === 0 ? ADMIN.email : `probe${i}@example.com`, password: CLIENT_PASSWORD } })).statusCode)
    }
    t.same(codes, [409, ...Array(LIMIT - 1).fill(201), 429], 'probing is slowed to the login rate')
  })
})

t.test('signup and login answers do not enumerate accounts beyond the documented 409', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  await ctx.loginAs('CLIENT', 'known@example.com')
  const strip = (body: string) => { const { requestId: _r, instance: _i, ...rest } = JSON.parse(body) as Record<string, unknown>; return rest }
  const unknown = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'unknown@example.com', password: CLIENT_PASSWORD } })
  const wrong = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'known@example.com', password: 'not the password at all' } })
  t.same([unknown.statusCode, strip(unknown.body)], [wrong.statusCode, strip(wrong.body)], 'login: the same 401 for an unknown account and a wrong password')
  const dup = await app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'other-name', email: 'KNOWN@example.com', password: 'a different passphrase 9' } })
  const p = expectProblem(t, dup, 409, 'signup of an existing email')
  t.notMatch(dup.body, /known@|"username"|CLIENT|createdAt|\$2[aby]\$/, 'the 409 says only that the email is taken')
  t.match(p.detail, /already exists/)
})

t.test('bcrypt cost is 12 by default', async (t) => {
  const stack = await startStack(t)
  const { BCRYPT_ROUNDS: _fast, ...env } = testEnv(stack, { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' })
  const fastify = Fastify(serverOptions('silent'))
  t.teardown(() => fastify.close())
  await fastify.register(app, { env, docsUi: false })
  await fastify.ready()
  t.equal(fastify.config.BCRYPT_ROUNDS, 12, 'the configured default')
  const res = await fastify.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'cost', email: 'cost@example.com', password: CLIENT_PASSWORD } })
  t.equal(res.statusCode, 201, res.body)
  for (const email of ['cost@example.com', ADMIN.email]) {
    const item = (await fastify.dynamo.send(new GetCommand({ TableName: fastify.config.TABLE_NAME, Key: { PK: `USER#${email}`, SK: 'PROFILE' }, ConsistentRead: true }))).Item
    const cost = Number(/^\$2[aby]\$(\d{2})\$/.exec(String(item?.passwordHash))?.[1])
    t.ok(cost >= 12, `${email}: stored hash has cost ${cost}`)
  }
})

t.test('no password, hash, token or key in error answers or audit records; security headers everywhere', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const password = 'Sesame opens 4 the night owl'
  const answers: Array<{ what: string; status: number; body: string; headers: Record<string, unknown> }> = []
  const record = async (what: string, p: Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>) => {
    const res = await p
    answers.push({ what, status: res.statusCode, body: res.body, headers: res.headers })
    return res
  }
  await record('signup', app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'owl', email: 'owl@example.com', password } }))
  await record('signup, weak password', app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'weak', email: 'weak@example.com', password: 'weak-Pw1' } }))
  await record('signup, password of the wrong type', app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'typed', email: 'typed@example.com', password: { value: password } } }))
  await record('signup, duplicate', app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'owl2', email: 'owl@example.com', password } }))
  await record('login, wrong password', app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owl@example.com', password: password + '!' } }))
  await record('login, extra field', app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owl@example.com', password, otp: password } }))
  const login = await record('login', app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owl@example.com', password } }))
  const token = JSON.parse(login.body).access_token as string
  await record('bad token', app.inject({ method: 'GET', url: '/features', headers: { authorization: `Bearer ${token}x` } }))
  const key = await record('api key', app.inject({ method: 'POST', url: '/api-keys', headers: { authorization: admin }, payload: { name: 'svc', environment: 'dev' } }))
  const apiKey = JSON.parse(key.body).key as string
  const keyId = JSON.parse(key.body).id as string
  await record('revoke', app.inject({ method: 'DELETE', url: `/api-keys/${keyId}`, headers: { authorization: admin } }))
  await record('revoked key', app.inject({ method: 'POST', url: '/features/evaluate', headers: { 'x-api-key': apiKey }, payload: { feature: 'x', environment: 'dev' } }))
  await record('key as bearer on an admin route', app.inject({ method: 'GET', url: '/features', headers: { authorization: `Bearer ${apiKey}` } }))
  await record('role change', app.inject({ method: 'PUT', url: '/users/owl%40example.com/role', headers: { authorization: admin }, payload: { role: 'ADMIN' } }))
  await record('unknown route', app.inject({ method: 'GET', url: `/nothing?password=${encodeURIComponent(password)}` }))
  const broken = await build(t, { app: { bootstrap: false }, env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' } })
  await record('storage down (5xx)', broken.app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owl@example.com', password } }))

  const hash = (await app.users.get('owl@example.com'))!.passwordHash
  const secrets: Array<[string, string]> = [
    ['password', password], ['weak password', 'weak-Pw1'], ['admin password', ADMIN.password], ['bcrypt hash', hash], ['bcrypt prefix', '$2b$'],
    ['JWT secret', ctx.env.JWT_SECRET], ['API key secret', apiKey], ['API key random part', apiKey.slice(-43)] // 43 base64url characters, which may contain '_' themselves
  ]
  for (const a of answers.filter((x) => x.status >= 400)) {
    for (const [what, value] of secrets) t.notOk(a.body.includes(value), `${a.what} (${a.status}): no ${what} in the answer`)
  }
  t.ok(answers.filter((x) => x.status >= 400).length >= 9, `${answers.filter((x) => x.status >= 400).length} error answers checked`)
  const createdKey = answers.find((a) => a.what === 'api key')!
  t.ok(createdKey.body.includes(apiKey), 'control: the key is shown once, at creation')

  const audit = await eventually(async () => {
    const rs = (await scanAll(app.dynamo, app.config.TABLE_NAME)).filter((i) => i.entity === 'AuditLog')
    const actions = rs.map((r) => r.action)
    return ['USER_SIGNED_UP', 'API_KEY_CREATED', 'API_KEY_REVOKED', 'USER_ROLE_CHANGED'].every((a) => actions.includes(a)) && await app.audit.countOutbox() === 0 ? rs : undefined
  }, { what: 'the audit records of those changes' })
  const text = JSON.stringify(audit)
  for (const [what, value] of secrets) t.notOk(text.includes(value), `no ${what} in any audit record`)
  t.notMatch(text, /passwordHash|secretHash|keyHash/i, 'no hash field in audit records')

  const headers = ['x-content-type-options', 'strict-transport-security', 'x-frame-options', 'cache-control', 'content-security-policy']
  const missing = answers.filter((a) => a.what !== 'storage down (5xx)').flatMap((a) => headers.filter((h) => a.headers[h] === undefined).map((h) => `${a.what}: ${h}`))
  t.same(missing, [], 'security headers on success and error answers')
  t.equal(answers[0].headers['x-content-type-options'], 'nosniff')
  t.notOk('x-powered-by' in answers[0].headers, 'no X-Powered-By')
})
