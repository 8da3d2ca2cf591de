// The static security headers are exactly what @fastify/helmet (with the options the service used
// to register it with) sends, on routes, on 404s and on errors; and the app sends them.
import t from 'tap'
import Fastify from 'fastify'
import helmet from '@fastify/helmet'
import securityHeaders, { SECURITY_HEADERS } from '../../plugins/security-headers.js'
import { build } from '../helper.js'

const IGNORED = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive'])
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

t.test('same headers as @fastify/helmet { contentSecurityPolicy: false }', async (t) => {
  const withHelmet = await bare(async (app) => { await app.register(helmet, { contentSecurityPolicy: false, global: true }) })
  const withOurs = await bare(async (app) => { await app.register(securityHeaders) })
  t.teardown(() => Promise.all([withHelmet.close(), withOurs.close()]))
  for (const url of ['/ok', '/missing', '/boom']) {
    const expected = securityOf((await withHelmet.inject({ url })).headers)
    const actual = securityOf((await withOurs.inject({ url })).headers)
    t.same(actual, expected, `${url}: identical security headers`)
  }
  t.same(securityOf((await withOurs.inject({ url: '/ok' })).headers), securityOf({ ...SECURITY_HEADERS }))
})

t.test('the app sends them on the evaluation hot path and elsewhere', async (t) => {
  const { app } = await build(t)
  for (const res of [await app.inject({ method: 'POST', url: '/features/evaluate', payload: {} }), await app.inject({ url: '/health' })]) {
    t.match(res.headers, SECURITY_HEADERS)
  }
})
