// `npm run dev` as a real child process: real HTTP, a temporary DATA_DIR, stop with SIGTERM, start
// again on the same DATA_DIR and find everything still there.
import t, { type Test } from 'tap'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually } from '../eventually.js'
import { serverEnv, startChild, waitForOutput } from '../reliability/support.js'

const ADMIN = { email: 'owner@example.com', password: 'a long and unguessable passphrase' }
const USER = { username: 'dev', email: 'dev@example.com', password: 'another long passphrase 7' }

interface Running { child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> }

async function startServer (t: Test, dataDir: string): Promise<Running> {
  const server = startChild(t, 'src/server.ts', serverEnv(dataDir, ADMIN))
  const url = await waitForOutput(server, /Switchyard is listening on (http:\/\/\S+)/)
  return { child: server.child, url, output: server.output, exited: server.exited }
}

async function call (url: string, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text.length > 0 ? JSON.parse(text) as Record<string, any> : undefined }
}

async function stop (t: Test, server: Running) {
  server.child.kill('SIGTERM')
  const code = await server.exited
  t.equal(code, 0, `exits 0 on SIGTERM\n${server.output()}`)
}

t.test('npm run dev: use it, stop it, start it again', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-e2e-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  let adminToken = ''
  let userToken = ''
  await t.test('first run', async (t) => {
    const server = await startServer(t, dataDir)
    const { url } = server
    t.match(server.output(), /API docs: +http:\/\/\S+\/docs/, 'prints the docs URL')
    t.match(server.output(), new RegExp(`admin account: ${ADMIN.email}`), 'says where the admin comes from')

    const health = await call(url, 'GET', '/health')
    t.equal(health.status, 200, JSON.stringify(health.body))

    const login = await call(url, 'POST', '/auth/login', ADMIN)
    t.equal(login.status, 200, 'the admin from the environment logs in')
    adminToken = login.body!.access_token

    t.equal((await call(url, 'POST', '/auth/signup', USER)).status, 201, 'a user signs up')
    const userLogin = await call(url, 'POST', '/auth/login', { email: USER.email, password: USER.password })
    t.equal(userLogin.status, 200)
    userToken = userLogin.body!.access_token

    const created = await call(url, 'POST', '/features', { name: 'e2e-flag', description: 'made over HTTP', environments: { dev: true, prod: false } }, adminToken)
    t.equal(created.status, 201, JSON.stringify(created.body))
    t.equal(created.headers.get('etag'), '"1"')

    const onDev = await call(url, 'POST', '/features/evaluate', { feature: 'e2e-flag', environment: 'dev', context: { targetingKey: 'u1' } }, userToken)
    t.equal(onDev.status, 200)
    t.match(onDev.body, { enabled: true, value: true })
    const onProd = await call(url, 'POST', '/features/evaluate', { feature: 'e2e-flag', environment: 'prod' }, userToken)
    t.match(onProd.body, { enabled: false, reason: 'DISABLED' })

    const audit = await eventually(async () => {
      const res = await call(url, 'GET', '/features/e2e-flag/audit', undefined, adminToken)
      return res.status === 200 && res.body!.items.length > 0 ? res.body!.items as Array<Record<string, unknown>> : undefined
    }, { timeoutMs: 20_000, what: 'the audit record from the background consumer' })
    t.equal(audit.length, 1)
    t.match(audit[0], { action: 'FEATURE_CREATED', actor: ADMIN.email })

    const docs = await fetch(`${url}/openapi.json`)
    t.equal(docs.status, 200, 'the OpenAPI document is served')

    await stop(t, server)
    t.ok((await stat(join(dataDir, 'jwt-secret'))).isFile(), 'the generated JWT secret is kept in DATA_DIR')
  })

  await t.test('second run on the same DATA_DIR', async (t) => {
    const server = await startServer(t, dataDir)
    const { url } = server

    const flag = await call(url, 'GET', '/features/e2e-flag', undefined, adminToken)
    t.equal(flag.status, 200, 'the old admin token still works: same JWT secret')
    t.match(flag.body, { name: 'e2e-flag', description: 'made over HTTP', version: 1, environments: { dev: { enabled: true }, prod: { enabled: false } } })

    const ev = await call(url, 'POST', '/features/evaluate', { feature: 'e2e-flag', environment: 'dev' }, userToken)
    t.equal(ev.status, 200, 'the old user token still works')
    t.match(ev.body, { enabled: true })

    t.equal((await call(url, 'POST', '/auth/login', { email: USER.email, password: USER.password })).status, 200, 'the user is still there')
    t.equal((await call(url, 'POST', '/auth/signup', USER)).status, 409)
    t.equal((await call(url, 'POST', '/auth/login', ADMIN)).status, 200, 'the admin was not duplicated or reset')

    const audit = await call(url, 'GET', '/features/e2e-flag/audit', undefined, adminToken)
    t.equal(audit.status, 200)
    t.same(audit.body!.items.map((r: { action: string }) => r.action), ['FEATURE_CREATED'], 'the audit record survived, exactly once')

    const envs = await call(url, 'GET', '/environments', undefined, userToken)
    t.same(envs.body!.items.map((e: { name: string }) => e.name).sort(), ['dev', 'prod', 'qa', 'staging'], 'defaults not duplicated')

    await stop(t, server)
  })
})
