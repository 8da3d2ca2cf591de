// One token extraction (bearerToken, src/auth/tokens.ts) for every route and credential kind:
// each Authorization variant gets the same answer on every route, whether the flag (and the
// credential) is cached or not — the fast lane once answered some of these 200 from its caches
// and 401 from the routes.
import t from 'tap'
import { request as httpRequest } from 'node:http'
import { build } from '../helper.js'

const VARIANTS: Array<{ name: string; header: (token: string) => string; valid: boolean }> = [
  { name: 'canonical', header: (x) => `Bearer ${x}`, valid: true },
  { name: 'lower-case scheme', header: (x) => `bearer ${x}`, valid: true },
  { name: 'upper-case scheme', header: (x) => `BEARER ${x}`, valid: true },
  { name: 'two spaces', header: (x) => `Bearer  ${x}`, valid: false },
  { name: 'a tab', header: (x) => `Bearer\t${x}`, valid: false },
  { name: 'a no-break space', header: (x) => `Bearer\u00a0${x}`, valid: false },
  { name: 'space and tab', header: (x) => `Bearer \t${x}`, valid: false },
  { name: 'trailing space', header: (x) => `Bearer ${x} `, valid: false },
  { name: 'two tokens', header: (x) => `Bearer ${x} ${x}`, valid: false },
  { name: 'no scheme', header: (x) => x, valid: false },
  { name: 'another scheme', header: (x) => `Token ${x}`, valid: false },
  { name: 'scheme only', header: () => 'Bearer ', valid: false }
]

for (const cacheTtl of ['5000', '0']) {
  t.test(`Authorization variants, evaluation cache ${cacheTtl === '0' ? 'off' : 'on'}`, async (t) => {
    const ctx = await build(t, { env: { EVAL_CACHE_TTL_MS: cacheTtl } })
    const { app } = ctx
    const admin = await ctx.loginAs('ADMIN')
    t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'f', environments: { dev: true } } })).statusCode, 201)
    const key = (await app.inject({ method: 'POST', url: '/api-keys', headers: { authorization: admin }, payload: { name: 'k', environment: 'dev' } })).json().key as string
    const credentials = { jwt: admin.slice('Bearer '.length), apiKey: key }

    const routes = [
      { method: 'POST' as const, url: '/features/evaluate', payload: { feature: 'f', environment: 'dev', context: { targetingKey: 'u' } } },
      { method: 'POST' as const, url: '/ofrep/v1/evaluate/flags/f?environment=dev', payload: { context: { targetingKey: 'u' } } },
      { method: 'POST' as const, url: '/ofrep/v1/evaluate/flags?environment=dev', payload: { context: { targetingKey: 'u' } } },
      { method: 'GET' as const, url: '/ofrep/v1/configuration' },
      { method: 'GET' as const, url: '/features/f' },
      { method: 'GET' as const, url: '/api-keys' }
    ]
    for (const [kind, token] of Object.entries(credentials)) {
      for (const route of routes) {
        const send = (authorization: string) => app.inject({ method: route.method, url: route.url, headers: { authorization }, ...(route.payload !== undefined ? { payload: route.payload } : {}) })
        // Twice each: the second finds the flag, the bulk answer and the credential cached.
        const canonical = [await send(`Bearer ${token}`), await send(`Bearer ${token}`)]
        t.equal(canonical[0].statusCode, canonical[1].statusCode, `${kind} ${route.url}: cached or not, one answer`)
        t.not(canonical[0].statusCode, 401, `${kind} ${route.url}: the canonical header authenticates`)
        for (const v of VARIANTS) {
          const answers = [await send(v.header(token)), await send(v.header(token))]
          const expected = v.valid ? canonical[0].statusCode : 401
          t.same(answers.map((a) => a.statusCode), [expected, expected], `${kind} ${route.method} ${route.url}, ${v.name}: ${expected} both times`)
          if (!v.valid) t.match(answers[0].json(), { status: 401, detail: /Bearer/ }, 'the problem says what is expected')
        }
      }
    }
  })
}

t.test('repeated headers over HTTP: a repeated Authorization or X-API-Key is no credential', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'f', environments: { dev: true } } })).statusCode, 201)
  const key = (await app.inject({ method: 'POST', url: '/api-keys', headers: { authorization: admin }, payload: { name: 'k', environment: 'dev' } })).json().key as string
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  const body = JSON.stringify({ feature: 'f', environment: 'dev' })
  const send = (headers: Record<string, string | string[]>) => new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/features/evaluate', headers: { 'content-type': 'application/json', ...headers } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end(body)
  })
  t.equal(await send({ authorization: admin }), 200, 'one Authorization header')
  t.equal(await send({ 'x-api-key': key }), 200, 'one X-API-Key header')
  const repeated: Record<string, Record<string, string[]>> = {
    'the same JWT twice': { authorization: [admin, admin] },
    'a JWT then garbage': { authorization: [admin, 'Bearer garbage'] },
    'garbage then a JWT': { authorization: ['Bearer garbage', admin] },
    'the same API key twice (Authorization)': { authorization: [`Bearer ${key}`, `Bearer ${key}`] },
    'the same API key twice (X-API-Key)': { 'x-api-key': [key, key] }
  }
  for (const [what, headers] of Object.entries(repeated)) {
    t.equal(await send(headers), 401, what)
  }
})
