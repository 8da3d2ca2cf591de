// Security headers: the OWASP REST set on JSON API answers (routes, 404s, errors, the evaluation
// path), @fastify/helmet's document set on /docs, and a per-route override that replaces the set.
import t from 'tap'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import helmet from '@fastify/helmet'
import securityHeaders, { API_SECURITY_HEADERS, BODY_ONLY_HEADERS, DOCUMENT_SECURITY_HEADERS, securityHeadersHook } from '../../plugins/security-headers.js'
import { build } from '../helper.js'

const IGNORED = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'x-request-id'])
const securityOf = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([k]) => !IGNORED.has(k)).sort(([a], [b]) => a.localeCompare(b)))

async function bare (register: (app: ReturnType<typeof Fastify>) => Promise<void>) {
  const app = Fastify()
  await register(app)
  app.get('/ok', async () => ({ ok: true }))
  app.get('/boom', async () => { throw new Error('boom') })
  await app.ready()
  return app
}

t.test('API answers: exactly the OWASP REST set, on routes, 404s and errors', async (t) => {
  const app = await bare(async (app) => { await app.register(securityHeaders) })
  t.teardown(() => app.close())
  for (const url of ['/ok', '/missing', '/boom']) {
    t.same(securityOf((await app.inject({ url })).headers), securityOf({ ...API_SECURITY_HEADERS }), `${url}: the API set`)
  }
  t.equal(API_SECURITY_HEADERS['cache-control'], 'no-store')
  t.equal(API_SECURITY_HEADERS['content-security-policy'], "frame-ancestors 'none'")
  t.equal(API_SECURITY_HEADERS['x-frame-options'], 'DENY')
})

t.test('documents: the same headers as @fastify/helmet { contentSecurityPolicy: false }, no API-only header left', async (t) => {
  const withHelmet = await bare(async (app) => { await app.register(helmet, { contentSecurityPolicy: false, global: true }) })
  const withOurs = await bare(async (app) => {
    await app.register(securityHeaders)
    app.get('/doc', { onRequest: app.securityHeaders(DOCUMENT_SECURITY_HEADERS) }, async () => ({ ok: true }))
  })
  t.teardown(() => Promise.all([withHelmet.close(), withOurs.close()]))
  t.same(securityOf((await withOurs.inject({ url: '/doc' })).headers), securityOf((await withHelmet.inject({ url: '/ok' })).headers))
})

t.test('a route can replace the set (a page with its own CSP)', async (t) => {
  const app = await bare(async (app) => {
    await app.register(securityHeaders)
    const csp = { ...API_SECURITY_HEADERS, 'content-security-policy': "default-src 'self'", 'cache-control': 'no-cache' }
    app.get('/page', { onRequest: securityHeadersHook(csp) }, async () => 'page')
  })
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/page' })
  t.equal(res.headers['content-security-policy'], "default-src 'self'")
  t.equal(res.headers['cache-control'], 'no-cache')
  t.equal((await app.inject({ url: '/ok' })).headers['content-security-policy'], "frame-ancestors 'none'", 'other routes keep the API set')
})

t.test('a 304 (reply.notModified) carries no header that describes a body, and keeps the others', async (t) => {
  const app = await bare(async (app) => {
    await app.register(securityHeaders)
    app.get('/cached', async (request: FastifyRequest, reply: FastifyReply) => {
      reply.header('etag', '"7"').header('cache-control', 'private, no-cache').header('vary', 'accept-encoding')
      if (request.headers['if-none-match'] === '"7"') return await reply.notModified()
      return { ok: true }
    })
  })
  t.teardown(() => app.close())
  const full = await app.inject({ url: '/cached' })
  t.match(full.headers, { ...API_SECURITY_HEADERS, 'cache-control': 'private, no-cache' }, '200: the API set')
  const revalidated = await app.inject({ url: '/cached', headers: { 'if-none-match': '"7"' } })
  t.equal(revalidated.statusCode, 304)
  t.equal(revalidated.body, '')
  for (const h of BODY_ONLY_HEADERS) t.equal(revalidated.headers[h], undefined, `304: no ${h}`)
  t.match(revalidated.headers, { etag: '"7"', 'cache-control': 'private, no-cache', vary: 'accept-encoding', 'strict-transport-security': API_SECURITY_HEADERS['strict-transport-security'], 'x-request-id': /./ }, '304: what a cache refreshes, HSTS and the request id')
})

t.test('the app sends the API set on the evaluation path and elsewhere, the document set on /docs', async (t) => {
  const { app } = await build(t, { app: { docsUi: true } })
  for (const res of [await app.inject({ method: 'POST', url: '/features/evaluate', payload: {} }), await app.inject({ url: '/health' }), await app.inject({ url: '/openapi.json' })]) {
    t.match(res.headers, API_SECURITY_HEADERS)
  }
  const docs = await app.inject({ url: '/docs/' })
  t.equal(docs.statusCode, 200)
  t.match(docs.headers, DOCUMENT_SECURITY_HEADERS)
  t.equal(docs.headers['cache-control'] === 'no-store', false, 'documents are not marked no-store')
  t.equal(docs.headers['content-security-policy'], undefined)
})

t.test('Fastify\'s own answers to a malformed URL or an overlong parameter carry the same headers (no hook runs for them)', async (t) => {
  const { app } = await build(t, { env: { CORS_ORIGINS: 'https://app.example.com' } })
  for (const url of ['/features/%E0%A4%A', `/features/${'a'.repeat(301)}`]) {
    const res = await app.inject({ url, headers: { origin: 'https://app.example.com', 'x-correlation-id': 'trace-1' } })
    t.ok(res.statusCode === 400 || res.statusCode === 414, `${url.slice(0, 30)}: ${res.statusCode}`)
    t.match(res.headers, API_SECURITY_HEADERS, 'the API set')
    t.equal(res.headers['x-request-id'], res.json().requestId, 'the request id the problem names')
    t.equal(res.headers['x-correlation-id'], 'trace-1')
    t.equal(res.headers['access-control-allow-origin'], 'https://app.example.com', 'a browser may read it')
    t.equal(res.headers.vary, 'Origin')
  }
})
