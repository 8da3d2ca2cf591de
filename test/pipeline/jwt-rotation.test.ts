// JWT secret rotation without a restart (issue 24 item 5): tokens carry the id of their key; the
// secret holds the current key and, during a rotation, the previous one with the end of its
// window; a process re-reads the secret on an interval, and at once for a key id it does not know.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTokenService, kidOf, parseJwtSecret, bearerToken, JwtSecretError } from '../../src/auth/tokens.js'
import { startDevServer } from '../../src/local/dev.js'
import { build, eventually } from '../helper.js'

const A = 'a'.repeat(40)
const B = 'b'.repeat(40)
const C = 'c'.repeat(40)
const rotation = (current: string, previous: string, until: number) => JSON.stringify({ current, previous, previousUntil: new Date(until).toISOString() })
const claims = { sub: 'someone@example.com', role: 'CLIENT' as const, rv: 0 }
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as { kid?: string; alg: string }

t.test('the secret: one key, or the rotation document; errors never quote a value', async (t) => {
  t.same(parseJwtSecret(A), { current: { kid: kidOf(A), secret: A } })
  const until = Date.parse('2030-01-01T00:00:00Z')
  t.same(parseJwtSecret(rotation(B, A, until)), { current: { kid: kidOf(B), secret: B }, previous: { kid: kidOf(A), secret: A, until } })
  for (const bad of ['short', JSON.stringify({ current: 'short' }), JSON.stringify({ current: B, previous: A }), JSON.stringify({ current: B, extra: 1 }), '{not json']) {
    t.throws(() => parseJwtSecret(bad), { name: 'JwtSecretError' })
    try { parseJwtSecret(bad) } catch (err) {
      t.ok(err instanceof JwtSecretError)
      t.notOk((err as Error).message.includes(bad) || (err as Error).message.includes(B), `the message quotes no value: ${(err as Error).message}`)
    }
  }
  t.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi')
})

t.test('a token of the previous key verifies during the window and not after; a new key is picked up without a restart', async (t) => {
  let now = Date.parse('2030-01-01T00:00:00Z')
  let secret = A
  let loads = 0
  const service = createTokenService({ secret: A, ttlSeconds: 3600, now: () => now, refreshMs: 300_000, load: async () => { loads++; return secret } })
  const oldToken = service.sign(claims)
  t.equal(headerOf(oldToken).kid, kidOf(A), 'tokens carry their key id')
  t.match(service.verify(oldToken), { sub: claims.sub })

  // Another process already has the new secret and signs with B.
  secret = rotation(B, A, now + 60_000)
  const elsewhere = createTokenService({ secret, ttlSeconds: 3600, now: () => now })
  const newToken = elsewhere.sign(claims)
  t.equal(headerOf(newToken).kid, kidOf(B))
  const pending = service.verify(newToken)
  t.ok(pending instanceof Promise, 'an unknown key id makes this process re-read the secret')
  t.match(await pending, { sub: claims.sub }, 'and the new key verifies, no restart')
  t.equal(headerOf(service.sign(claims)).kid, kidOf(B), 'new tokens are signed with the new key')
  t.match(service.verify(oldToken), { sub: claims.sub }, 'the previous key still verifies during its window')

  now += 60_000
  t.equal(service.verify(oldToken), undefined, 'and not after it (even though it was verified and cached before)')
  t.match(service.verify(newToken), { sub: claims.sub })

  // Unknown key ids re-read the secret at most once a second.
  const stranger = createTokenService({ secret: C, ttlSeconds: 3600, now: () => now }).sign(claims)
  const before = loads
  t.equal(await service.verify(stranger), undefined, 'a key the secret does not hold: refused after the re-read')
  t.equal(service.verify(stranger), undefined, 'and again at once, without another read')
  t.equal(loads, before + 1)
  now += 1_000
  t.equal(await service.verify(stranger), undefined)
  t.equal(loads, before + 2, 'a second later it may read again')

  // The interval: a secret changed with nothing asking for its key is read within refreshMs.
  secret = C
  now += 300_000
  service.verify(newToken)
  await eventually(async () => service.currentKid() === kidOf(C), { what: 'the periodic re-read' })
  t.equal(await service.verify(newToken), undefined, 'B was dropped from the secret: its tokens stop verifying')
})

t.test('through the app: rotation on a running server', async (t) => {
  let now = Date.now()
  let secret = A
  // Load shedding off: it is armed on the app's clock, which this test moves by an hour.
  const ctx = await build(t, { env: { JWT_SECRET: A, SHED_EVENT_LOOP_DELAY_MS: '0' }, app: { now: () => now, jwtSecretSource: async () => secret } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'f', environments: { dev: true } } })).statusCode, 201)
  const evaluate = (authorization: string) => app.inject({ method: 'POST', url: '/features/evaluate', headers: { authorization }, payload: { feature: 'f', environment: 'dev' } })
  t.equal((await evaluate(admin)).statusCode, 200)

  secret = rotation(B, A, now + 3_600_000)
  const fromElsewhere = `Bearer ${createTokenService({ secret, ttlSeconds: 3600, now: Date.now }).sign(claims)}`
  t.equal((await evaluate(fromElsewhere)).statusCode, 200, 'a token signed with the new key verifies at once')
  t.equal((await evaluate(admin)).statusCode, 200, 'the old one too, during the window')
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'admin@example.com', password: 'correct horse battery staple' } })
  t.equal(headerOf(login.json().access_token as string).kid, kidOf(B), 'login signs with the new key')
  now += 3_600_000
  const refused = await evaluate(admin)
  t.equal(refused.statusCode, 401, 'after the window the old token is refused')
  t.match(refused.json(), { type: 'about:blank', status: 401 })
  t.equal((await evaluate(fromElsewhere)).statusCode, 200)
})

t.test('npm run dev: rotating DATA_DIR/jwt-secret needs no restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-rotation-'))
  const server = await startDevServer({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent' }, { maintenanceEveryMs: 60_000 })
  t.teardown(async () => { await server.close(); await rm(dataDir, { recursive: true, force: true }) })
  const token = createTokenService({ secret: C, ttlSeconds: 3600, now: Date.now }).sign(claims)
  const call = async () => (await fetch(server.url + '/ofrep/v1/configuration', { headers: { authorization: `Bearer ${token}` } })).status
  t.equal(await call(), 401, 'a key the server does not hold')
  await writeFile(join(dataDir, 'jwt-secret'), C + '\n')
  // Unknown key ids re-read the secret at most once a second: poll until this one is read.
  await eventually(async () => await call() === 200, { what: 'the new key to be picked up' })
  t.pass('the new key verifies without a restart')
})
