// The console's static files through the app: index.html for every console path (not cached,
// strict CSP), hashed assets cached immutably, nothing outside the built directory.
import t from 'tap'
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from '../helper.js'
import { CONSOLE_CSP } from '../../routes/console.js'

t.test('console files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sy-console-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'assets'))
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Switchyard</title><script type="module" src="/console/assets/index-abc123.js"></script>')
  await writeFile(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)')
  await writeFile(join(dir, 'secret.txt'), 'not served')
  const { app } = await build(t, { app: { consoleDir: dir } })

  for (const url of ['/console', '/console/', '/console/flags', '/console/flags/new-checkout/history']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    t.match(res.headers['content-type'], /^text\/html/, url)
    t.match(res.body, /<title>Switchyard<\/title>/, url)
    t.equal(res.headers['cache-control'], 'no-store', `${url}: the page is never cached`)
    t.equal(res.headers['content-security-policy'], CONSOLE_CSP, url)
  }
  t.match(CONSOLE_CSP, /frame-ancestors 'none'/)
  t.notMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval/)

  const js = await app.inject({ url: '/console/assets/index-abc123.js' })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /^text\/javascript/)
  t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(js.body, 'console.log(1)')

  const missing = await app.inject({ url: '/console/assets/index-zzz.js' })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['content-type'], /application\/problem\+json/)
  for (const url of ['/console/assets/..%2Fsecret.txt', '/console/assets/%2e%2e%2fsecret.txt', '/console/assets/secret.txt']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 404, url)
    t.notMatch(res.body, /not served/, url)
  }
  // Not part of the API document: the console has no endpoints of its own.
  const doc = (await app.inject({ url: '/openapi.json' })).json()
  t.notOk(Object.keys(doc.paths).some((p) => p.startsWith('/console')))
})

t.test('an unbuilt console says how to build it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sy-console-empty-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const { app } = await build(t, { app: { consoleDir: dir } })
  const res = await app.inject({ url: '/console' })
  t.equal(res.statusCode, 503)
  t.match(res.json().detail, /npm run build/)
})

t.test('CONSOLE_DIR names the console (as on AWS); one without a build says it is not deployed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'sy-console-dir-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>From CONSOLE_DIR</title>')
  const { app } = await build(t, { env: { CONSOLE_DIR: dir } })
  const res = await app.inject({ url: '/console/flags' })
  t.equal(res.statusCode, 200)
  t.match(res.body, /From CONSOLE_DIR/)

  const { app: empty } = await build(t, { env: { CONSOLE_DIR: join(dir, 'missing') } })
  const missing = await empty.inject({ url: '/console' })
  t.equal(missing.statusCode, 503)
  t.match(missing.json().detail, /not deployed: CONSOLE_DIR has no index\.html/)
  t.notMatch(missing.body, new RegExp(dir), 'the path is not disclosed')

  await t.rejects(build(t, { env: { CONSOLE_DIR: 'dist/console' } }), /CONSOLE_DIR: expected/, 'a relative path is refused at start')
})

t.test('PUT /features/{flag}/env/{env}: validation errors point into the request body', async (t) => {
  const { app, loginAs } = await build(t)
  const admin = await loginAs('ADMIN')
  const created = await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'regex-flag', environments: { prod: false } } })
  t.equal(created.statusCode, 201)
  const res = await app.inject({
    method: 'PUT',
    url: '/features/regex-flag/env/prod',
    headers: { authorization: admin, 'if-match': '"1"' },
    payload: { enabled: true, rules: [{ id: 'r', clauses: [{ attribute: 'email', operator: 'matches', values: ['([a-z'] }], serve: { variant: 'on' } }] }
  })
  t.equal(res.statusCode, 400)
  t.match(res.json().errors, [{ path: '/body/rules/0/clauses/0/values/0', message: /invalid regular expression/ }])
  t.match(res.json().detail, /^\/body\/rules\/0\/clauses\/0\/values\/0: invalid regular expression/)
  const flag = await app.inject({ url: '/features/regex-flag', headers: { authorization: admin } })
  t.equal(flag.headers.etag, '"1"', 'nothing written')
})

t.test('GET /features?include=environments: a page of flags with their environments in one request', async (t) => {
  const { app, loginAs } = await build(t)
  const admin = await loginAs('ADMIN')
  for (const name of ['inc-a', 'inc-b', 'inc-c']) {
    const res = await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name, environments: { dev: true, prod: name === 'inc-b' } } })
    t.equal(res.statusCode, 201)
  }
  const plain = await app.inject({ url: '/features?prefix=inc-&limit=2', headers: { authorization: admin } })
  t.equal(plain.statusCode, 200)
  t.notOk('environments' in plain.json().items[0], 'without include: summaries only, as before')
  const page = await app.inject({ url: '/features?prefix=inc-&limit=2&include=environments', headers: { authorization: await loginAs('CLIENT') } })
  t.equal(page.statusCode, 200)
  const body = page.json()
  t.same(body.items.map((f: { name: string }) => f.name), ['inc-a', 'inc-b'])
  t.match(body.items[1].environments, { dev: { enabled: true, enableAt: null }, prod: { enabled: true, version: 1 } })
  const single = await app.inject({ url: '/features/inc-b', headers: { authorization: admin } })
  t.same(body.items[1], single.json(), 'each item is what GET /features/{flag} answers')
  t.type(body.nextCursor, 'string')
  t.equal((await app.inject({ url: '/features?include=everything', headers: { authorization: admin } })).statusCode, 400)
})
