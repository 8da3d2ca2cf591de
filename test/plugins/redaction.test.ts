// Logs at trace level never carry passwords, tokens, secrets or password hashes.
import t from 'tap'
import { build, eventually, ADMIN } from '../helper.js'

t.test('passwords, tokens and hashes never reach the logs', async (t) => {
  let logs = ''
  const stream = { write (line: string) { logs += line } }
  const password = 'Sesame opens 4 the night owl'
  const ctx = await build(t, { env: { LOG_LEVEL: 'trace', LOGIN_RATE_LIMIT_PER_MINUTE: '1000' }, logStream: stream })
  const { app } = ctx
  ctx.startConsumer()

  const signup = await app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'owl', email: 'owl@example.com', password } })
  t.equal(signup.statusCode, 201)
  const weak = await app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'weak', email: 'weak@example.com', password: 'short-Pw1' } })
  t.equal(weak.statusCode, 400)
  const bad = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owl@example.com', password: password + '!' } })
  t.equal(bad.statusCode, 401)
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'owl@example.com', password } })
  const token = login.json().access_token as string
  const adminLogin = await app.inject({ method: 'POST', url: '/auth/login', payload: ADMIN })
  const adminToken = adminLogin.json().access_token as string

  const auth = { authorization: `Bearer ${token}` }
  const admin = { authorization: `Bearer ${adminToken}` }
  t.equal((await app.inject({ method: 'GET', url: '/features', headers: auth })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/features', headers: admin, payload: { name: 'logged', environments: { dev: true } } })).statusCode, 201)
  t.equal((await app.inject({ method: 'POST', url: '/features/evaluate', headers: { 'x-api-key': 'sy_not_a_real_key_0123456789' }, payload: { feature: 'logged', environment: 'dev' } })).statusCode, 401)
  t.equal((await app.inject({ method: 'PUT', url: '/users/owl%40example.com/role', headers: admin, payload: { role: 'ADMIN' } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/features', headers: { authorization: `Bearer ${token}x` } })).statusCode, 401)
  await eventually(async () => (await app.audit.list('user:owl@example.com', { order: 'asc', limit: 10 })).items.length === 2 && (logs.match(/audit event persisted/g) ?? []).length >= 4, { what: 'the consumer to persist and log the events' })

  t.ok(logs.split('\n').length > 20, 'logging captured')
  t.match(logs, /"url":"\/auth\/login"/, 'request logs captured')
  const secrets: Array<[string, string]> = [
    ['signup password', password],
    ['weak password', 'short-Pw1'],
    ['admin password', ADMIN.password],
    ['client token', token],
    ['admin token', adminToken],
    ['token signature', token.split('.')[2]],
    ['api key', 'sy_not_a_real_key_0123456789'],
    ['JWT secret', ctx.env.JWT_SECRET],
    ['bcrypt hash', '$2b$']
  ]
  for (const [what, value] of secrets) t.notOk(logs.includes(value), `no ${what} in the logs`)
})
