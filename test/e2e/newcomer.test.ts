// The first hour of a new user, on the real dev server (the process `npm run dev` runs: tsx on
// src/server.ts, a temporary DATA_DIR, port 0): each mistake they make gets a 4xx that says what is
// wrong and what is allowed, refused requests write nothing, and start-up failures are one line.
// The README's own token line is run as written.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { startChild, waitForOutput, ROOT } from '../reliability/support.js'

// The README's quick-start admin, so its token line works unchanged.
const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' }
const LIMIT = 3

function serverEnv (dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: '0',
    DATA_DIR: dataDir,
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'warn',
    LOGIN_RATE_LIMIT_PER_MINUTE: String(LIMIT),
    ...extra
  }
}

interface Answer { status: number; headers: Headers; body: Record<string, any> | undefined; text: string }

async function call (url: string, method: string, path: string, opts: { body?: unknown; raw?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers }
  const res = await fetch(url + path, { method, headers, body: opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined), redirect: 'manual' })
  const text = await res.text()
  let body: Record<string, any> | undefined
  try { body = text.length > 0 ? JSON.parse(text) as Record<string, any> : undefined } catch {}
  return { status: res.status, headers: res.headers, body, text }
}

/** A refused request: its status, problem+json, and the field errors it names. */
function refused (t: Test, res: Answer, status: number, what: string): { detail: string; errors: Array<{ path: string; message: string }> } {
  t.equal(res.status, status, `${what}: ${status} (${res.text.slice(0, 300)})`)
  t.match(res.headers.get('content-type'), /^application\/problem\+json/, `${what}: problem+json`)
  return { detail: String(res.body?.detail), errors: (res.body?.errors ?? []) as Array<{ path: string; message: string }> }
}

/** Run a command to its end; its output and exit code. */
async function run (command: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(command, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, out, err }
}

/** Our lines of a failed start, without the AWS SDK's notice about old Node versions. */
const ownLines = (text: string) => text.split('\n').filter((l) => l.startsWith('switchyard:'))
const STACK = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m

t.test('the first hour on npm run dev', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-newcomer-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const server = startChild(t, 'src/server.ts', serverEnv(dataDir))
  const url = await waitForOutput(server, /Switchyard is listening on (http:\/\/\S+)/)
  const login = async (email: string, password: string) => await call(url, 'POST', '/auth/login', { body: { email, password } })
  const admin = (await login(ADMIN.email, ADMIN.password)).body!.access_token as string
  t.ok(admin, 'the admin logs in')
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')

  await t.test('1. login limits hold back the guessed account, not the admin; the README token line fails loudly', async (t) => {
    t.equal((await call(url, 'POST', '/auth/signup', { body: { username: 'pat', email: 'pat@example.com', password: 'pat has a long passphrase' } })).status, 201)
    for (let i = 0; i < LIMIT; i++) t.equal((await login('pat@example.com', `typo ${i}`)).status, 401, `typo ${i + 1}: 401`)
    const held = refused(t, await login('pat@example.com', 'pat has a long passphrase'), 429, 'the guessed account')
    t.match(held.detail, /failed logins for this account; retry in \d+ s/)
    t.equal((await login(ADMIN.email, ADMIN.password)).status, 200, 'the admin behind the same address still logs in')

    const line = /^TOKEN=\$\(curl[\s\S]*?access_token\)'?\)$/m.exec(readme)?.[0]
    t.ok(line, 'the README has a token line')
    const good = await run('bash', ['-c', `${line}\necho "$TOKEN"`], { B: url })
    t.equal(good.code, 0, good.err)
    t.match(good.out.trim(), /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, 'with the right password TOKEN is a JWT')
    const bad = await run('bash', ['-c', `${line!.replace(ADMIN.password, 'not the password')}\necho "TOKEN=[$TOKEN]"`], { B: url })
    t.match(bad.err, /login failed: Invalid email or password/, 'a failed login says so on stderr')
    t.match(bad.out, /TOKEN=\[\]/, 'and leaves TOKEN empty, not "undefined"')
  })

  await t.test('2. validation errors list the allowed values once, at the field; a misspelled field is named', async (t) => {
    const operator = refused(t, await call(url, 'POST', '/features', {
      token: admin,
      body: { name: 'bad-operator', environments: { dev: { enabled: true, rules: [{ id: 'r1', clauses: [{ attribute: 'country', operator: 'equals', values: ['FR'] }], serve: { variant: 'on' } }] } } }
    }), 400, 'operator "equals"')
    t.equal(operator.errors.length, 1, 'one error, not one per operator')
    t.equal(operator.errors[0]?.path, '/body/environments/dev/rules/0/clauses/0/operator')
    t.match(operator.errors[0]?.message, /must be one of "in", "contains", .*"eq", .*"segmentMatch"/)
    t.equal((await call(url, 'GET', '/features/bad-operator', { token: admin })).status, 404, 'nothing was written')

    const role = refused(t, await call(url, 'PUT', '/users/pat@example.com/role', { token: admin, body: { role: 'admin' } }), 400, 'role "admin"')
    t.same(role.errors, [{ path: '/body/role', message: 'must be one of "ADMIN", "CLIENT"' }])

    const typo = refused(t, await call(url, 'POST', '/features', { token: admin, body: { name: 'typo-flag', enviroments: { dev: true } } }), 400, 'misspelled "enviroments"')
    t.match(typo.errors, [{ path: '/body/environments', message: /required/ }, { path: '/body/enviroments', message: "unknown property 'enviroments' (did you mean 'environments'?)" }])
    t.equal((await call(url, 'GET', '/features/typo-flag', { token: admin })).status, 404, 'nothing was written')
  })

  await t.test('3. evaluate\'s 404 says whether the environment or the flag is wrong', async (t) => {
    t.equal((await call(url, 'POST', '/features', { token: admin, body: { name: 'known-flag', environments: { dev: true } } })).status, 201)
    const env = refused(t, await call(url, 'POST', '/features/evaluate', { token: admin, body: { feature: 'known-flag', environment: 'production' } }), 404, 'unknown environment')
    t.match(env.detail, "Environment 'production' is not registered (see GET /environments)")
    t.match(env.errors, [{ path: '/body/environment' }])
    const flag = refused(t, await call(url, 'POST', '/features/evaluate', { token: admin, body: { feature: 'unknown-flag', environment: 'dev' } }), 404, 'unknown flag')
    t.match(flag.detail, "Feature 'unknown-flag' does not exist (see GET /features)")
    const config = refused(t, await call(url, 'POST', '/features/evaluate', { token: admin, body: { feature: 'known-flag', environment: 'prod' } }), 404, 'no config there')
    t.match(config.detail, /has no config in 'prod': add one with PUT \/features\/known-flag\/env\/prod/)
  })

  await t.test('4. messages that used to mislead', async (t) => {
    const form = refused(t, await call(url, 'POST', '/features', { token: admin, raw: '{"name":"form-flag","environments":{"dev":true}}', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'a form body')
    t.match(form.detail, /send the body as JSON with 'content-type: application\/json'/)
    t.equal((await call(url, 'GET', '/features/form-flag', { token: admin })).status, 404, 'nothing was written')

    const proto = refused(t, await call(url, 'POST', '/features', { token: admin, raw: '{"name":"proto-flag","environments":{"dev":true},"__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } }), 400, '__proto__')
    t.match(proto.detail, /valid JSON but contains a '__proto__' key, which is refused/)
    t.notMatch(proto.detail, /not valid JSON/)
    t.equal((await call(url, 'GET', '/features/proto-flag', { token: admin })).status, 404, 'nothing was written')

    const put = refused(t, await call(url, 'PUT', '/features/known-flag/env/qa', { token: admin, body: { enabled: true, rules: [{ id: 'r1', clauses: [], serve: { variant: 'blue' } }] } }), 400, 'unknown variant in PUT')
    t.same(put.errors, [{ path: '/body/rules/0/serve/variant', message: 'variant "blue" does not exist' }], 'points into the body sent')
    t.equal((await call(url, 'GET', '/features/known-flag', { token: admin })).body?.environments.qa, undefined, 'nothing was written')
    const unregistered = refused(t, await call(url, 'PUT', '/features/known-flag/env/production', { token: admin, body: { enabled: true } }), 400, 'PUT to an unregistered environment')
    t.match(unregistered.errors, [{ path: '/params/env' }])

    // Clients that send content-type: application/json on every request, DELETE included.
    const del = await call(url, 'DELETE', '/features/known-flag', { token: admin, headers: { 'content-type': 'application/json', 'if-match': '"1"' } })
    t.equal(del.status, 204, `DELETE with a JSON content-type and no body: ${del.text}`)
    t.equal((await call(url, 'GET', '/features/known-flag', { token: admin })).status, 404, 'and it deleted')
  })

  await t.test('5. start-up failures are one line and a non-zero exit', async (t) => {
    const pid = /"pid":(\d+)/.exec(await readFile(join(dataDir, 'running.json'), 'utf8'))?.[1]
    const second = await run('npm', ['run', '--silent', 'dev'], serverEnv(dataDir))
    t.not(second.code, 0, 'a second npm run dev on the same DATA_DIR exits non-zero')
    t.same(ownLines(second.err), [`switchyard: Switchyard is already running on DATA_DIR ${dataDir} (pid ${pid}, ${url}): use that one, stop it first, or start this one with another DATA_DIR`])
    t.notMatch(second.err, STACK, 'no stack trace')
    t.equal((await call(url, 'GET', '/health')).status, 200, 'the running one is unharmed')

    const otherDir = await mkdtemp(join(tmpdir(), 'switchyard-newcomer-'))
    t.teardown(() => rm(otherDir, { recursive: true, force: true }))
    const config = await run(process.execPath, ['--import', 'tsx', 'src/server.ts'], serverEnv(otherDir, { BCRYPT_ROUNDS: '99' }))
    t.not(config.code, 0, 'a bad configuration value exits non-zero')
    t.match(ownLines(config.err), [/^switchyard: Invalid configuration: BCRYPT_ROUNDS\b.*\b15\b/], 'one line naming the variable and its allowed range')
    t.equal(ownLines(config.err).length, 1)
    t.notMatch(config.err, STACK, 'no stack trace')

    const port = new URL(url).port
    const busy = await run(process.execPath, ['--import', 'tsx', 'src/server.ts'], serverEnv(otherDir, { PORT: port }))
    t.not(busy.code, 0, 'a port in use exits non-zero')
    t.match(ownLines(busy.err), [new RegExp(`^switchyard: Port ${port} on 127.0.0.1 is already in use: .*PORT=0 picks a free one`)])
    t.notMatch(busy.err, STACK, 'no stack trace')
  })

  await t.test('6. GET /users for admins, GET / points to the docs', async (t) => {
    const users = await call(url, 'GET', '/users', { token: admin })
    t.equal(users.status, 200, users.text)
    t.same(users.body?.items.map((u: { email: string; role: string }) => `${u.email} ${u.role}`), ['admin@example.com ADMIN', 'pat@example.com CLIENT'], 'role unchanged by the refused PUT')
    t.equal(users.body?.nextCursor, null)
    const root = await call(url, 'GET', '/')
    t.equal(root.status, 200)
    t.match(root.body, { name: 'Switchyard', docs: '/docs', openapi: '/openapi.json' })
    if (root.body?.console !== undefined) t.not((await call(url, 'GET', root.body.console as string)).status, 404, 'the console it links is a route of the app')
    const browser = await call(url, 'GET', '/', { headers: { accept: 'text/html,application/xhtml+xml' } })
    t.equal(browser.status, 303, 'a browser is redirected')
    t.equal(browser.headers.get('location'), root.body?.console ?? '/docs')
  })

  await t.test('7. Node 22 and 24 are the supported versions', async (t) => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
    t.equal(pkg.engines.node, '^22 || ^24')
    t.match(readme, /Node\.js 22 or 24/)
    const old = Number(process.versions.node.split('.')[0]) < 22
    t.equal(/node: +v[\d.]+ is not supported: use Node 22 or 24/.test(server.output()), old, old ? 'an old Node is named at start' : 'a supported Node is not warned about')
  })

  await t.test('8. the docs point somewhere and the README lists every route', async (t) => {
    const files = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')
    for (const file of files) {
      const text = await readFile(join(ROOT, file), 'utf8')
      t.notMatch(text, /\.\.\/shared/, `${file} cites nothing outside the repository`)
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue
        const [path, anchor] = target.split('#')
        const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), path)
        const linked = await readFile(resolved, 'utf8').catch(() => undefined)
        t.ok(linked !== undefined || await stat(resolved).then(() => true, () => false), `${file}: ${target} exists`)
        if (anchor !== undefined && linked !== undefined) {
          const anchors = [...linked.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]))
          t.ok(anchors.includes(anchor), `${file}: #${anchor} is a heading of ${path || file}`)
        }
      }
    }
    const api = (await call(url, 'GET', '/openapi.json')).body as { paths: Record<string, unknown> }
    const table = readme.slice(readme.indexOf('| Method & path |'), readme.indexOf('More curl'))
    for (const path of Object.keys(api.paths)) t.ok(table.includes(path), `README route table names ${path}`)
  })

  await t.test('9. an enabled flag that errored answers enabled:false with reason and errorCode', async (t) => {
    t.equal((await call(url, 'POST', '/features', {
      token: admin,
      body: { name: 'half-rollout', environments: { dev: { enabled: true, defaultServe: { rollout: { variants: [{ variant: 'on', weight: 50000 }, { variant: 'off', weight: 50000 }] } } } } }
    })).status, 201)
    const res = await call(url, 'POST', '/features/evaluate', { token: admin, body: { feature: 'half-rollout', environment: 'dev' } })
    t.equal(res.status, 200)
    t.match(res.body, { enabled: false, value: false, variant: 'off', reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING' })
  })
})
