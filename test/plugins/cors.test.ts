// CORS (src/cors.ts, in the headers hook of plugins/security-headers.ts) answers as @fastify/cors
// did with the service's options, request for request: actual requests, preflights, malformed
// preflights, allowed and refused origins, for CORS_ORIGINS=* and for a list. Two deliberate
// differences: Access-Control-Expose-Headers only on answers to an allowed Origin (@fastify/cors
// sent it on every answer, where a browser ignores it), and a malformed preflight is refused with
// problem+json, not text/plain.
import t from 'tap'
import Fastify from 'fastify'
import fastifyCors from '@fastify/cors'
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE_SECONDS, CORS_METHODS, corsOrigin } from '../../src/core.js'
import securityHeaders, { API_SECURITY_HEADERS } from '../../plugins/security-headers.js'
import { build, expectProblem } from '../helper.js'

async function pair (setting: string) {
  const routes = (app: ReturnType<typeof Fastify>) => {
    app.get('/features', async () => ({ ok: true }))
    app.post('/ofrep/v1/evaluate/flags', async () => ({ flags: [] }))
  }
  const theirs = Fastify()
  await theirs.register(fastifyCors, { origin: corsOrigin(setting), methods: CORS_METHODS, allowedHeaders: CORS_ALLOWED_HEADERS, exposedHeaders: CORS_EXPOSED_HEADERS, maxAge: CORS_MAX_AGE_SECONDS })
  routes(theirs)
  const ours = Fastify()
  await ours.register(securityHeaders, { cors: { origins: corsOrigin(setting), methods: CORS_METHODS, allowedHeaders: CORS_ALLOWED_HEADERS, exposedHeaders: CORS_EXPOSED_HEADERS, maxAgeSeconds: CORS_MAX_AGE_SECONDS } })
  routes(ours)
  await Promise.all([theirs.ready(), ours.ready()])
  return { theirs, ours }
}

// A malformed preflight (400) is the other deliberate difference: problem+json (the app's error
// handler; a bare instance answers Fastify's JSON error) where @fastify/cors sent text/plain, so
// its body and length are not compared.
const corsOf = (res: { statusCode: number, headers: Record<string, unknown>, body: string }, dropExpose: boolean) => ({
  status: res.statusCode,
  body: res.statusCode === 200 ? res.body : res.statusCode === 400 ? '(refused)' : res.body.slice(0, 40),
  ...Object.fromEntries(Object.entries(res.headers).filter(([k]) => (k.startsWith('access-control-') && !(dropExpose && k === 'access-control-expose-headers')) || k === 'vary' || (res.statusCode !== 200 && res.statusCode !== 400 && k === 'content-length')))
})

const preflight = (origin: string, extra: Record<string, string> = {}) => ({ origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type', ...extra })

for (const setting of ['*', 'https://app.example.com,https://admin.example.com']) {
  t.test(`CORS_ORIGINS=${setting}: the same answers as @fastify/cors`, async (t) => {
    const { theirs, ours } = await pair(setting)
    t.teardown(() => Promise.all([theirs.close(), ours.close()]))
    const cases: Array<{ what: string, method: 'GET' | 'POST' | 'OPTIONS', url: string, headers: Record<string, string>, allowedOrigin: boolean }> = [
      { what: 'no Origin', method: 'GET', url: '/features', headers: {}, allowedOrigin: false },
      { what: 'an allowed Origin', method: 'GET', url: '/features', headers: { origin: 'https://app.example.com' }, allowedOrigin: true },
      { what: 'another Origin', method: 'POST', url: '/ofrep/v1/evaluate/flags', headers: { origin: 'https://evil.example' }, allowedOrigin: setting === '*' },
      { what: 'a preflight', method: 'OPTIONS', url: '/ofrep/v1/evaluate/flags', headers: preflight('https://app.example.com'), allowedOrigin: true },
      { what: 'a preflight from another Origin', method: 'OPTIONS', url: '/features', headers: preflight('https://evil.example'), allowedOrigin: setting === '*' },
      { what: 'a preflight to a path with no route', method: 'OPTIONS', url: '/nowhere', headers: preflight('https://app.example.com'), allowedOrigin: true },
      { what: 'OPTIONS without Origin', method: 'OPTIONS', url: '/features', headers: { 'access-control-request-method': 'GET' }, allowedOrigin: false },
      { what: 'OPTIONS without a requested method', method: 'OPTIONS', url: '/features', headers: { origin: 'https://app.example.com' }, allowedOrigin: true }
    ]
    for (const c of cases) {
      const request = { method: c.method, url: c.url, headers: c.headers, ...(c.method === 'POST' ? { payload: {} } : {}) }
      const [a, b] = await Promise.all([theirs.inject(request), ours.inject(request)])
      t.same(corsOf(b, false), corsOf(a, !c.allowedOrigin), `${c.what}: ${b.statusCode}`)
      if (!c.allowedOrigin) t.equal(b.headers['access-control-expose-headers'], undefined, `${c.what}: no Expose-Headers`)
    }
  })
}

t.test('the app refuses an OPTIONS request that is no preflight with 400 problem+json saying what is missing', async (t) => {
  const { app } = await build(t, { env: { CORS_ORIGINS: 'https://app.example.com' } })
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ 'access-control-request-method': 'GET' }, /send Origin and Access-Control-Request-Method \(missing: Origin\)/],
    [{ origin: 'https://app.example.com' }, /\(missing: Access-Control-Request-Method\)/]
  ]
  for (const [headers, detail] of cases) {
    const res = await app.inject({ method: 'OPTIONS', url: '/features', headers })
    t.match(expectProblem(t, res, 400, Object.keys(headers).join()), { detail, requestId: res.headers['x-request-id'] })
    t.match(res.headers, API_SECURITY_HEADERS, 'with the API set')
    t.equal(res.headers.vary, 'Origin')
  }
  const ok = await app.inject({ method: 'OPTIONS', url: '/features', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } })
  t.equal(ok.statusCode, 204, 'a preflight is still answered')
})

t.test('an Origin no browser sends (characters past U+00FF, as a Lambda event can hold) is not reflected, and the answer is no 500', async (t) => {
  const { ours } = await pair('*')
  t.teardown(() => ours.close())
  // inject is how @fastify/aws-lambda hands a Lambda event to the app (src/lambda/http-handler.ts).
  const res = await ours.inject({ url: '/features', headers: { origin: 'https://\u20ac.example' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['access-control-allow-origin'], undefined)
  t.equal((await ours.inject({ url: '/features', headers: { origin: 'https://xn--lzg.example' } })).headers['access-control-allow-origin'], 'https://xn--lzg.example', 'its punycode form is')
})
