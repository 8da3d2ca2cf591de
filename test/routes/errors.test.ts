// Errors are RFC 9457 application/problem+json everywhere: unknown routes, oversized bodies,
// wrong content types, malformed JSON, validation and domain errors.
import t from 'tap'
import { build, expectProblem } from '../helper.js'

t.test('error responses', async (t) => {
  const ctx = await build(t, { env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' } })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')

  t.test('unknown route is 404 problem+json', async (t) => {
    const p = expectProblem(t, await app.inject({ method: 'GET', url: '/no/such/route?x=1' }), 404)
    t.match(p.detail, /GET \/no\/such\/route/)
    t.equal(p.instance, '/no/such/route', 'instance without the query string')
    t.type(p.requestId, 'string')
    expectProblem(t, await app.inject({ method: 'DELETE', url: '/environments' }), 404, 'unknown method on a known path')
  })

  t.test('a body over 1 MiB is 413 problem+json', async (t) => {
    const big = JSON.stringify({ username: 'big', email: 'big@example.com', password: 'x'.repeat(1024 * 1024) })
    const res = await app.inject({ method: 'POST', url: '/auth/signup', headers: { 'content-type': 'application/json' }, payload: big })
    expectProblem(t, res, 413)
    const authed = await app.inject({ method: 'POST', url: '/features', headers: { 'content-type': 'application/json', authorization: admin }, payload: JSON.stringify({ name: 'big', description: 'y'.repeat(1024 * 1024 + 10), environments: {} }) })
    expectProblem(t, authed, 413, 'admin route')
    t.equal(await app.users.get('big@example.com'), undefined)
  })

  t.test('content-type text/plain is 415 problem+json', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'email=a&password=b' })
    expectProblem(t, res, 415)
    const authed = await app.inject({ method: 'POST', url: '/features', headers: { 'content-type': 'text/plain', authorization: admin }, payload: '{"name":"x","environments":{}}' })
    expectProblem(t, authed, 415, 'admin route')
    const form = await app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=a' })
    expectProblem(t, form, 415, 'form encoding')
  })

  t.test('malformed JSON is 400 problem+json', async (t) => {
    const res = await app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email": "a@example.com", "password": ' })
    expectProblem(t, res, 400)
    const authed = await app.inject({ method: 'PUT', url: '/features/x/env/dev', headers: { 'content-type': 'application/json', authorization: admin }, payload: '{enabled: true}' })
    expectProblem(t, authed, 400, 'admin route')
    const proto = await app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"__proto__": {"admin": true}, "email": "a@example.com", "password": "p"}' })
    expectProblem(t, proto, 400, 'prototype poisoning refused')
  })

  t.test('a missing body on a route that needs one is 400 problem+json', async (t) => {
    expectProblem(t, await app.inject({ method: 'POST', url: '/auth/login' }), 400)
  })

  t.test('auth errors carry WWW-Authenticate', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/features' })
    expectProblem(t, res, 401)
    t.equal(res.headers['www-authenticate'], 'Bearer')
  })

  t.test('5xx details stay in the logs', async (t) => {
    const broken = await build(t, { app: { bootstrap: false }, env: { DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' } })
    const res = await broken.app.inject({ method: 'POST', url: '/auth/login', payload: { email: 'a@example.com', password: 'whatever it is' } })
    const p = expectProblem(t, res, 503)
    t.notMatch(p.detail, /127\.0\.0\.1|ECONNREFUSED|:9/, 'no internal detail leaks')
    t.equal(res.headers['retry-after'], '1')
  })
})
