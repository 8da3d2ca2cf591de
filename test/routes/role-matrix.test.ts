// The role matrix: anonymous / CLIENT / ADMIN × every route of the app, table-driven. The table
// must name every registered route, so a new route cannot ship without an access decision.
import t from 'tap'
import { build, expectProblem, ADMIN } from '../helper.js'

type Access = 'public' | 'reader' | 'admin' | 'apiKey'
interface Row { method: string; route: string; url: string; access: Access; body?: unknown; headers?: Record<string, string> }

// Concrete requests are chosen so an allowed caller gets a non-auth answer (2xx or a 4xx such as
// 404/409 that is about the resource, not the caller). Destructive rows come last. Changes to
// existing state send `If-Match: *` (required, 428 without it): this table is about access.
const ANY = { 'if-match': '*' }
const ROWS: Row[] = [
  { method: 'POST', route: '/auth/signup', url: '/auth/signup', access: 'public', body: { username: 'm', email: 'matrix-signup@example.com', password: 'a fine passphrase 9' } },
  { method: 'POST', route: '/auth/login', url: '/auth/login', access: 'public', body: { email: ADMIN.email, password: ADMIN.password } },
  { method: 'GET', route: '/health', url: '/health', access: 'public' },
  { method: 'GET', route: '/openapi.json', url: '/openapi.json', access: 'public' },
  { method: 'GET', route: '/', url: '/', access: 'public' },
  // The console's static files: public (the data they show comes from the API with the user's token).
  { method: 'GET', route: '/console', url: '/console', access: 'public' },
  { method: 'GET', route: '/console/*', url: '/console/flags', access: 'public' },
  { method: 'GET', route: '/console/assets/:name', url: '/console/assets/no-such-file.js', access: 'public' },

  { method: 'GET', route: '/features', url: '/features', access: 'reader' },
  { method: 'GET', route: '/features/:flag', url: '/features/matrix-flag', access: 'reader' },
  { method: 'POST', route: '/features/evaluate', url: '/features/evaluate', access: 'reader', body: { feature: 'matrix-flag', environment: 'dev' } },
  { method: 'GET', route: '/environments', url: '/environments', access: 'reader' },
  { method: 'GET', route: '/segments', url: '/segments', access: 'reader' },
  { method: 'GET', route: '/segments/:key', url: '/segments/matrix-segment', access: 'reader' },
  { method: 'POST', route: '/ofrep/v1/evaluate/flags/:key', url: '/ofrep/v1/evaluate/flags/matrix-flag', access: 'reader', body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'dev' } },
  { method: 'POST', route: '/ofrep/v1/evaluate/flags', url: '/ofrep/v1/evaluate/flags', access: 'reader', body: { context: { targetingKey: 'u' } }, headers: { 'x-environment': 'dev' } },
  { method: 'GET', route: '/ofrep/v1/configuration', url: '/ofrep/v1/configuration', access: 'reader' },
  // The rules go to server API keys only (test/sdk/sync-endpoint.test.ts): every user token is refused.
  { method: 'GET', route: '/sdk/v1/flags', url: '/sdk/v1/flags', access: 'apiKey' },

  { method: 'POST', route: '/features', url: '/features', access: 'admin', body: { name: 'matrix-created', environments: { dev: true } } },
  { method: 'PATCH', route: '/features/:flag', url: '/features/matrix-flag', access: 'admin', body: { description: 'patched' }, headers: ANY },
  { method: 'PUT', route: '/features/:flag/env/:env', url: '/features/matrix-flag/env/qa', access: 'admin', body: { enabled: true } },
  { method: 'GET', route: '/features/:flag/audit', url: '/features/matrix-flag/audit', access: 'admin' },
  { method: 'POST', route: '/features/:flag/env/:env/explain', url: '/features/matrix-flag/env/dev/explain', access: 'admin', body: { context: { targetingKey: 'u' } } },
  { method: 'POST', route: '/environments', url: '/environments', access: 'admin', body: { name: 'matrix-env' } },
  { method: 'GET', route: '/users', url: '/users', access: 'admin' },
  { method: 'PUT', route: '/users/:email/role', url: '/users/matrix-target%40example.com/role', access: 'admin', body: { role: 'CLIENT' } },
  { method: 'POST', route: '/segments', url: '/segments', access: 'admin', body: { key: 'matrix-segment-2', included: ['u1'], excluded: [], rules: [] } },
  { method: 'PUT', route: '/segments/:key', url: '/segments/matrix-segment', access: 'admin', body: { included: ['u2'], excluded: [], rules: [] }, headers: ANY },
  { method: 'POST', route: '/api-keys', url: '/api-keys', access: 'admin', body: { environment: 'dev', name: 'matrix' } },
  { method: 'GET', route: '/api-keys', url: '/api-keys', access: 'admin' },
  { method: 'GET', route: '/api-keys/:id', url: '/api-keys/00000000000000000000000000', access: 'admin' },
  { method: 'GET', route: '/api-keys/:id/audit', url: '/api-keys/00000000000000000000000000/audit', access: 'admin' },
  { method: 'DELETE', route: '/api-keys/:id', url: '/api-keys/00000000000000000000000000', access: 'admin' },
  { method: 'POST', route: '/webhooks', url: '/webhooks', access: 'admin', body: { url: 'https://93.184.215.14/matrix' } },
  { method: 'GET', route: '/webhooks', url: '/webhooks', access: 'admin' },
  { method: 'GET', route: '/webhooks/:id', url: '/webhooks/wh_00000000000000000000', access: 'admin' },
  { method: 'PATCH', route: '/webhooks/:id', url: '/webhooks/wh_00000000000000000000', access: 'admin', body: { status: 'paused' } },
  { method: 'DELETE', route: '/webhooks/:id', url: '/webhooks/wh_00000000000000000000', access: 'admin' },
  { method: 'POST', route: '/webhooks/:id/rotate-secret', url: '/webhooks/wh_00000000000000000000/rotate-secret', access: 'admin', body: {} },
  { method: 'GET', route: '/webhooks/:id/deliveries', url: '/webhooks/wh_00000000000000000000/deliveries', access: 'admin' },
  { method: 'GET', route: '/webhooks/:id/deliveries/:eventId', url: '/webhooks/wh_00000000000000000000/deliveries/0190d6a4-0000-7000-8000-000000000000', access: 'admin' },
  { method: 'POST', route: '/webhooks/:id/deliveries/:eventId/replay', url: '/webhooks/wh_00000000000000000000/deliveries/0190d6a4-0000-7000-8000-000000000000/replay', access: 'admin' },
  { method: 'POST', route: '/webhooks/:id/test', url: '/webhooks/wh_00000000000000000000/test', access: 'admin' },
  { method: 'GET', route: '/webhooks/:id/audit', url: '/webhooks/wh_00000000000000000000/audit', access: 'admin' },
  { method: 'DELETE', route: '/segments/:key', url: '/segments/matrix-segment-2', access: 'admin', headers: ANY },
  { method: 'DELETE', route: '/features/:flag/env/:env', url: '/features/matrix-flag/env/qa', access: 'admin', headers: ANY },
  { method: 'DELETE', route: '/features/:flag', url: '/features/matrix-victim', access: 'admin', headers: ANY }
]

t.test('role matrix', async (t) => {
  const registered = new Set<string>()
  const ctx = await build(t, {
    env: { LOGIN_RATE_LIMIT_PER_MINUTE: '1000' },
    beforeRegister: (f) => f.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD' && m !== 'OPTIONS') registered.add(`${m} ${r.url.replace(/\/$/, '') || '/'}`)
    })
  })
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  const client = await ctx.loginAs('CLIENT')
  await ctx.loginAs('CLIENT', 'matrix-target@example.com')
  for (const name of ['matrix-flag', 'matrix-victim']) {
    const res = await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name, environments: { dev: true } } })
    t.equal(res.statusCode, 201, res.body)
  }
  const seg = await app.inject({ method: 'POST', url: '/segments', headers: { authorization: admin }, payload: { key: 'matrix-segment', included: [], excluded: [], rules: [] } })
  t.equal(seg.statusCode, 201, `segment fixture: ${seg.body}`)

  t.test('the table names every registered route', async (t) => {
    const table = new Set(ROWS.map((r) => `${r.method} ${r.route}`))
    const missing = [...registered].filter((k) => !table.has(k)).sort()
    t.same(missing, [], 'routes without an access decision in ROWS: add them')
    const stale = [...table].filter((k) => !registered.has(k)).sort()
    t.same(stale, [], 'rows for routes that do not exist')
  })

  const send = (row: Row, authorization?: string) => app.inject({
    method: row.method as 'GET',
    url: row.url,
    headers: { ...row.headers, ...(authorization !== undefined ? { authorization } : {}) },
    ...(row.body !== undefined ? { payload: row.body as object } : {})
  })

  t.test('anonymous', async (t) => {
    for (const row of ROWS) {
      const res = await send(row)
      if (row.access === 'public') {
        t.ok(res.statusCode !== 401 && res.statusCode !== 403 && res.statusCode < 500, `${row.method} ${row.route} is public: ${res.statusCode}`)
      } else {
        expectProblem(t, res, 401, `${row.method} ${row.route}`)
      }
    }
  })

  t.test('CLIENT', async (t) => {
    for (const row of ROWS) {
      const res = await send(row, client)
      if (row.access === 'admin' || row.access === 'apiKey') {
        expectProblem(t, res, 403, `${row.method} ${row.route}`)
      } else if (row.route !== '/auth/signup') {
        t.ok(res.statusCode !== 401 && res.statusCode !== 403 && res.statusCode < 500, `${row.method} ${row.route} allowed: ${res.statusCode} ${res.body.slice(0, 200)}`)
      }
    }
    t.equal((await app.inject({ method: 'GET', url: '/features/matrix-flag', headers: { authorization: admin } })).json().description, '', 'no CLIENT write went through')
  })

  t.test('ADMIN', async (t) => {
    for (const row of ROWS) {
      if (row.route === '/auth/signup') continue
      const res = await send(row, admin)
      if (row.access === 'apiKey') {
        expectProblem(t, res, 403, `${row.method} ${row.route}`)
        continue
      }
      t.ok(res.statusCode !== 401 && res.statusCode !== 403 && res.statusCode < 500, `${row.method} ${row.route} allowed: ${res.statusCode} ${res.body.slice(0, 200)}`)
    }
    t.equal((await app.inject({ method: 'GET', url: '/features/matrix-victim', headers: { authorization: admin } })).statusCode, 404, 'the admin delete went through')
  })
})
