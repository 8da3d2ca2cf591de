// The evaluation fast lane (src/fast-lane.ts) against the routes it stands in front of: two real
// servers on one local stack, one with the fast lane and one without (EVAL_FAST_LANE=false), get
// the same requests over HTTP and must answer the same status, headers and body — for the
// requests the fast lane answers and for everything it hands to Fastify.
import t, { type Test } from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { eventually, startStack, testEnv, ADMIN } from '../helper.js'
import { startDevServer, type DevServer } from '../../src/local/dev.js'
import type { LocalStack } from '../../src/local/stack.js'

interface Reply { status: number; headers: Record<string, string>; body: string }

async function start (t: Test, stack: LocalStack, env: Record<string, string>, fastLane: boolean): Promise<DevServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-fast-lane-'))
  const server = await startDevServer({ ...env, DATA_DIR: dataDir, PORT: '0', EVAL_FAST_LANE: String(fastLane) }, { maintenanceEveryMs: 60_000 })
  t.teardown(async () => { await server.close(); await rm(dataDir, { recursive: true, force: true }) })
  return server
}

async function send (url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  const res = await fetch(url + path, { method, headers, body })
  const text = await res.text()
  const h = Object.fromEntries(res.headers)
  // Per response, not per code path: the clock, and the request id problem documents carry.
  delete h.date
  // Seconds left in the rate-limit window: each server's window began at its own first request.
  if (h['x-ratelimit-reset'] !== undefined) h['x-ratelimit-reset'] = /^\d+$/.test(h['x-ratelimit-reset']) ? 'n' : h['x-ratelimit-reset']
  return { status: res.status, headers: h, body: text.replace(/"requestId":"[^"]+"/, '"requestId":"…"') }
}

/** Raw HTTP/1.1 text of POST /features/evaluate with an API key, for tests that write to the socket themselves. */
function rawEvaluate (key: string, body: string, close: boolean): string {
  return ['POST /features/evaluate HTTP/1.1', 'host: 127.0.0.1', `connection: ${close ? 'close' : 'keep-alive'}`, `content-length: ${Buffer.byteLength(body)}`, 'content-type: application/json', `authorization: Bearer ${key}`].join('\r\n') + '\r\n\r\n' + body
}

/** A TCP connection to the server; `received()` resolves with all it sent once it closes. */
async function rawConnection (t: Test, url: string): Promise<{ socket: Socket; received: () => Promise<string> }> {
  const socket = connect(Number(new URL(url).port), '127.0.0.1')
  await once(socket, 'connect')
  t.teardown(() => { socket.destroy() })
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  return { socket, received: async () => { await once(socket, 'end'); return Buffer.concat(chunks).toString('utf8') } }
}

const flag = (name: string, type: string, variants: Array<{ key: string; value: unknown }>, env: Record<string, unknown>) => ({
  name, type, variants, tags: [], environments: { dev: { enabled: true, offVariant: variants[variants.length - 1].key, targets: [], rules: [], prerequisites: [], schedule: [], ...env } }
})

const FLAGS = [
  flag('dark-mode', 'boolean', [{ key: 'on', value: true }, { key: 'off', value: false }], {
    defaultServe: { rollout: { variants: [{ variant: 'on', weight: 50_000 }, { variant: 'off', weight: 50_000 }] } },
    rules: [{ id: 'fr', clauses: [{ attribute: 'country', operator: 'in', values: ['fr'] }], serve: { variant: 'on' } }]
  }),
  flag('banner', 'string', [{ key: 'blue', value: 'blue' }, { key: 'green', value: 'green' }], { defaultServe: { variant: 'green' }, targets: [{ variant: 'blue', values: ['user-1'] }] }),
  flag('limit', 'number', [{ key: 'low', value: 10 }, { key: 'high', value: 100.5 }], { defaultServe: { variant: 'high' } }),
  flag('layout', 'json', [{ key: 'v1', value: { steps: 3, extras: ['a', 'b'], promo: null } }, { key: 'v0', value: {} }], { defaultServe: { variant: 'v1' } }),
  flag('switched-off', 'boolean', [{ key: 'on', value: true }, { key: 'off', value: false }], { enabled: false, defaultServe: { variant: 'on' } })
]

async function setup (t: Test, extra: Record<string, string> = {}) {
  const stack = await startStack(t)
  const env = testEnv(stack, { LOG_LEVEL: 'warn', EVAL_CACHE_TTL_MS: '60000', ...extra })
  const fast = await start(t, stack, env, true)
  const slow = await start(t, stack, env, false)
  const json = { 'content-type': 'application/json' }
  const login = JSON.parse((await send(slow.url, 'POST', '/auth/login', json, JSON.stringify(ADMIN))).body) as { access_token: string }
  const admin = { ...json, authorization: `Bearer ${login.access_token}` }
  for (const f of FLAGS) t.equal((await send(slow.url, 'POST', '/features', admin, JSON.stringify(f))).status, 201, `create ${f.name}`)
  const key = JSON.parse((await send(slow.url, 'POST', '/api-keys', admin, JSON.stringify({ name: 'fast-lane', environment: 'dev' }))).body).key as string
  /** The same request to both servers; their answers must be equal. */
  async function both (t: Test, what: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
    const a = await send(fast.url, method, path, headers, body)
    const b = await send(slow.url, method, path, headers, body)
    t.same(a, b, what)
    return a
  }
  return { fast, slow, admin, key, json, both }
}

t.test('answers exactly what the routes answer, and answers the hot path itself', async (t) => {
  const { fast, slow, key, json, admin, both } = await setup(t)
  const auth = { ...json, authorization: `Bearer ${key}` }
  const contexts: Array<Record<string, string>> = [{ targetingKey: 'user-1', country: 'fr' }, { targetingKey: 'user-2', country: 'de' }, { targetingKey: 'user-3' }, {}]

  for (let round = 0; round < 2; round++) { // round 0 fills the caches through the routes, round 1 is served from them
    for (const f of FLAGS) {
      for (const context of contexts) {
        const r = await both(t, `evaluate ${f.name} ${JSON.stringify(context)}`, 'POST', '/features/evaluate', auth, JSON.stringify({ feature: f.name, environment: 'dev', context }))
        t.equal(r.status, 200)
        // A user's JWT: the same answer, its own rate-limit budget (user:<email>).
        const u = await both(t, `evaluate ${f.name} with a JWT`, 'POST', '/features/evaluate', admin, JSON.stringify({ feature: f.name, environment: 'dev', context }))
        t.equal(u.status, 200)
        const o = await both(t, `OFREP ${f.name}`, 'POST', `/ofrep/v1/evaluate/flags/${f.name}`, { ...json, 'x-api-key': key }, JSON.stringify({ context }))
        // A rollout without a targetingKey is OFREP's 400 TARGETING_KEY_MISSING (from the route).
        t.equal(o.status, f.name === 'dark-mode' && context.targetingKey === undefined ? 400 : 200, o.body)
      }
    }
    const first = await both(t, 'bulk', 'POST', '/ofrep/v1/evaluate/flags', auth, JSON.stringify({ context: contexts[0] }))
    t.equal(first.status, 200)
    t.equal(JSON.parse(first.body).flags.length, FLAGS.length)
    const etag = first.headers.etag
    const revalidated = await both(t, 'bulk revalidation', 'POST', '/ofrep/v1/evaluate/flags', { ...auth, 'if-none-match': etag }, JSON.stringify({ context: contexts[0] }))
    t.equal(revalidated.status, 304)
    t.equal(revalidated.body, '')
    t.equal((await both(t, 'stale ETag', 'POST', '/ofrep/v1/evaluate/flags', { ...auth, 'if-none-match': '"stale"' }, JSON.stringify({ context: contexts[0] }))).status, 200)
    const cors = await both(t, 'browser origin', 'POST', '/ofrep/v1/evaluate/flags', { ...auth, origin: 'https://app.example.com', 'if-none-match': etag }, JSON.stringify({ context: contexts[0] }))
    t.equal(cors.headers['access-control-allow-origin'], 'https://app.example.com')
  }
  const beforeJwt = fast.fastLane!.stats().answered
  await both(t, 'a JWT once more', 'POST', '/features/evaluate', admin, JSON.stringify({ feature: 'banner', environment: 'dev', context: contexts[0] }))
  t.equal(fast.fastLane!.stats().answered, beforeJwt + 1, 'a user JWT on a cached flag is answered by the fast lane')
  const answered = fast.fastLane?.stats().answered ?? 0
  t.ok(answered >= FLAGS.length * contexts.length * 3 + 4, `the fast lane answered the cached requests, JWTs included (${answered})`)
  t.equal(slow.fastLane, undefined, 'EVAL_FAST_LANE=false: no fast lane')
})

t.test('everything it cannot answer completely goes to the routes, body intact', async (t) => {
  const { fast, key, json, admin, both } = await setup(t)
  const auth = { ...json, authorization: `Bearer ${key}` }
  const ok = JSON.stringify({ feature: 'dark-mode', environment: 'dev', context: { targetingKey: 'u' } })
  t.equal((await both(t, 'warm the cache', 'POST', '/features/evaluate', auth, ok)).status, 200)
  const before = fast.fastLane!.stats()

  const cases: Array<[string, number, string, string, Record<string, string>, string | undefined]> = [
    ['invalid JSON', 400, 'POST', '/features/evaluate', auth, '{"feature":'],
    ['prototype poisoning', 400, 'POST', '/features/evaluate', auth, '{"feature":"dark-mode","environment":"dev","__proto__":{"x":1}}'],
    ['unknown property', 400, 'POST', '/features/evaluate', auth, '{"feature":"dark-mode","environment":"dev","extra":1}'],
    ['another environment', 403, 'POST', '/features/evaluate', auth, JSON.stringify({ feature: 'dark-mode', environment: 'prod' })],
    ['unknown flag', 404, 'POST', '/features/evaluate', auth, JSON.stringify({ feature: 'no-such-flag', environment: 'dev' })],
    ['unknown API key', 401, 'POST', '/features/evaluate', { ...json, authorization: `Bearer ${key.slice(0, -4)}AAAA` }, ok],
    ['JWT with a bad signature', 401, 'POST', '/features/evaluate', { ...admin, authorization: admin.authorization.slice(0, -4) + 'AAAA' }, ok],
    ['JWT on OFREP (environment from X-Environment, checked by the route)', 200, 'POST', '/ofrep/v1/evaluate/flags/dark-mode', { ...admin, 'x-environment': 'dev' }, '{"context":{"targetingKey":"u"}}'],
    ['JWT, flag not cached in that environment', 404, 'POST', '/features/evaluate', admin, JSON.stringify({ feature: 'dark-mode', environment: 'prod' })],
    ['text/plain', 415, 'POST', '/features/evaluate', { ...auth, 'content-type': 'text/plain' }, ok],
    ['OFREP unknown flag', 404, 'POST', '/ofrep/v1/evaluate/flags/no-such-flag', auth, '{}'],
    ['OFREP flag key that is not a flag name', 404, 'POST', '/ofrep/v1/evaluate/flags/NOT%20A%20FLAG', auth, '{}'],
    ['OFREP invalid context', 400, 'POST', '/ofrep/v1/evaluate/flags/dark-mode', auth, '{"context":{"targetingKey":5}}'],
    ['OFREP X-Environment of another environment', 403, 'POST', '/ofrep/v1/evaluate/flags/dark-mode', { ...auth, 'x-environment': 'prod' }, '{}'],
    ['OFREP query string', 200, 'POST', '/ofrep/v1/evaluate/flags/dark-mode?environment=dev', auth, '{"context":{"targetingKey":"u"}}'],
    ['OFREP error result', 400, 'POST', '/ofrep/v1/evaluate/flags/dark-mode', auth, '{"context":{}}'],
    ['bulk not cached yet for this context', 200, 'POST', '/ofrep/v1/evaluate/flags', auth, '{"context":{"targetingKey":"new"}}']
  ]
  for (const [what, status, method, path, headers, body] of cases) {
    const r = await both(t, what, method, path, headers, body)
    t.equal(r.status, status, `${what}: ${status} ${r.body}`)
  }
  const after = fast.fastLane!.stats()
  t.equal(after.answered, before.answered, 'none of them was answered by the fast lane')
  t.ok(after.handedOver > before.handedOver, 'those it read were handed over with their body')
})

/** Connects one socket per request, then writes them all in one synchronous loop; prints the raw answers. */
const BURST_CLIENT = `
import { connect } from 'node:net'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
const [port, file] = process.argv.slice(2)
const requests = JSON.parse(readFileSync(file, 'utf8'))
const sockets = await Promise.all(requests.map(async () => { const s = connect(Number(port), '127.0.0.1'); await once(s, 'connect'); return s }))
const answers = sockets.map(async (s) => { const chunks = []; s.on('data', (c) => chunks.push(c)); await once(s, 'end'); return Buffer.concat(chunks).toString('utf8') })
requests.forEach((r, i) => {
  const head = ['POST ' + r.path + ' HTTP/1.1', 'host: 127.0.0.1', 'connection: close', 'content-length: ' + Buffer.byteLength(r.body), ...Object.entries(r.headers).map(([k, v]) => k + ': ' + v)]
  sockets[i].write(head.join('\\r\\n') + '\\r\\n\\r\\n' + r.body)
})
process.stdout.write(JSON.stringify(await Promise.all(answers)))
`

t.test('answers written together, at the end of an event-loop turn, each reach their own request', async (t) => {
  const { fast, key, json, both } = await setup(t)
  const requests: Array<{ path: string; headers: Record<string, string>; body: string }> = []
  for (const f of FLAGS) {
    for (const user of ['user-1', 'user-2', 'user-3']) {
      const context = { targetingKey: user, country: user === 'user-1' ? 'fr' : 'de' }
      requests.push({ path: '/features/evaluate', headers: { ...json, authorization: `Bearer ${key}` }, body: JSON.stringify({ feature: f.name, environment: 'dev', context }) })
      requests.push({ path: `/ofrep/v1/evaluate/flags/${f.name}`, headers: { ...json, 'x-api-key': key }, body: JSON.stringify({ context }) })
    }
  }
  // One at a time first: the expected answers (both servers agree), and the caches filled.
  const expected: Reply[] = []
  for (const r of requests) expected.push(await both(t, `${r.path} ${r.body}`, 'POST', r.path, r.headers, r.body))
  // Then all at once on the fast server, from another process (within one process, node reads one
  // connection per turn): one connection each, every request written in one synchronous loop, so
  // the server reads many of them in one turn and writes their answers together.
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-burst-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'burst.mjs'), BURST_CLIENT)
  await writeFile(join(dir, 'requests.json'), JSON.stringify(requests))
  const before = fast.fastLane!.stats()
  const client = spawn(process.execPath, [join(dir, 'burst.mjs'), new URL(fast.url).port, join(dir, 'requests.json')], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  client.stdout.on('data', (c: Buffer) => { out += c.toString() })
  const [code] = await once(client, 'close') as [number | null]
  t.equal(code, 0, 'the client got every answer')
  const replies = (JSON.parse(out) as string[]).map((raw) => {
    const [head = '', body = ''] = raw.split('\r\n\r\n')
    return { status: Number(head.split(' ')[1]), type: /\r\ncontent-type: ([^\r]+)/i.exec(head)?.[1], body }
  })
  t.same(replies, expected.map((r) => ({ status: r.status, type: r.headers['content-type'], body: r.body })), 'each request got its own answer')
  const after = fast.fastLane!.stats()
  t.equal(after.answered - before.answered, requests.length, `the fast lane answered all ${requests.length}`)
  t.ok(after.bursts - before.bursts < requests.length, `written in ${after.bursts - before.bursts} bursts: answers went out together`)
})

t.test('a body still arriving at the end of its turn is read as it comes, then answered', async (t) => {
  const { fast, key, json, both } = await setup(t)
  const auth = { ...json, authorization: `Bearer ${key}` }
  const body = JSON.stringify({ feature: 'banner', environment: 'dev', context: { targetingKey: 'user-1' } })
  const expected = await both(t, 'warm the cache', 'POST', '/features/evaluate', auth, body)
  const before = fast.fastLane!.stats()
  // The head and half the body, then (once the fast lane is waiting for the rest) the other half.
  const { socket, received } = await rawConnection(t, fast.url)
  const request = rawEvaluate(key, body, true)
  const split = request.length - Math.floor(body.length / 2)
  socket.write(request.slice(0, split))
  await eventually(async () => fast.fastLane!.stats().streamed > before.streamed, { what: 'the fast lane to read the body as it comes' })
  socket.write(request.slice(split))
  const [responseHead = '', responseBody = ''] = (await received()).split('\r\n\r\n')
  t.match(responseHead, /^HTTP\/1\.1 200 /)
  t.equal(responseBody, expected.body, 'the answer the routes give')
  const after = fast.fastLane!.stats()
  t.equal(after.answered, before.answered + 1, 'answered by the fast lane')
  t.equal(after.handedOver, before.handedOver)
})

t.test('pipelined requests on one connection are answered in order, each with its own answer', async (t) => {
  const { fast, key, json, both } = await setup(t)
  const auth = { ...json, authorization: `Bearer ${key}` }
  const bodies = ['banner', 'limit', 'layout', 'no-such-flag', 'dark-mode'].map((feature) => JSON.stringify({ feature, environment: 'dev', context: { targetingKey: 'user-1', country: 'fr' } }))
  const expected: Reply[] = []
  for (const b of bodies) expected.push(await both(t, `alone: ${b}`, 'POST', '/features/evaluate', auth, b))
  const before = fast.fastLane!.stats()
  // All five in one write on one connection: read in one turn, answered in request order (the
  // fourth, an unknown flag, by the route, between answers of the fast lane).
  const { socket, received } = await rawConnection(t, fast.url)
  socket.write(bodies.map((b, i) => rawEvaluate(key, b, i === bodies.length - 1)).join(''))
  const raw = await received()
  const statuses = [...raw.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
  t.same(statuses, expected.map((r) => r.status), 'statuses in request order')
  let at = 0
  for (const r of expected) {
    const found = raw.indexOf(r.body.split('"requestId"')[0], at) // a problem document's id is its own
    t.ok(found >= at, `answer in order: ${r.body.slice(0, 60)}`)
    at = found
  }
  const after = fast.fastLane!.stats()
  t.equal(after.answered - before.answered, 4, 'four from the fast lane')
  t.equal(after.handedOver - before.handedOver, 1, 'the unknown flag handed to the route')
})

t.test('one rate-limit budget for both paths, each request counted once', async (t) => {
  const { fast, key, json } = await setup(t, { RATE_LIMIT_PER_MINUTE: '4' })
  const auth = { ...json, authorization: `Bearer ${key}` }
  const body = JSON.stringify({ feature: 'banner', environment: 'dev', context: { targetingKey: 'user-1' } })
  const replies: Reply[] = []
  for (let i = 0; i < 5; i++) replies.push(await send(fast.url, 'POST', '/features/evaluate', auth, body))
  t.same(replies.map((r) => r.status), [200, 200, 200, 200, 429], 'the first through the route (cache miss), three from the fast lane, then 429')
  t.same(replies.slice(0, 4).map((r) => r.headers['x-ratelimit-remaining']), ['3', '2', '1', '0'])
  t.match(replies[4].headers['retry-after'], /^\d+$/)
  t.equal(replies[4].headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(fast.fastLane!.stats().answered, 3)
})

t.test('a request for a flag whose read is in flight waits for that read, then is answered by the fast lane', async (t) => {
  const { fast, slow, key, json } = await setup(t)
  const auth = { ...json, authorization: `Bearer ${key}` }
  const body = JSON.stringify({ feature: 'banner', environment: 'dev', context: { targetingKey: 'user-1' } })
  // Hold the fast server's reads of flag definitions until released, and see when one starts…
  const features = fast.app.definitions as unknown as { getDefinition: (...args: unknown[]) => Promise<unknown> }
  const read = features.getDefinition
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  let readStarted!: () => void
  const started = new Promise<void>((resolve) => { readStarted = resolve })
  features.getDefinition = async function (...args: unknown[]) { readStarted(); await gate; return await read.apply(features, args) }
  // … and when the fast lane starts waiting on it.
  const evaluator = fast.app.evaluator
  const whenLoaded = evaluator.whenLoaded
  let fastLaneWaits!: () => void
  const waiting = new Promise<void>((resolve) => { fastLaneWaits = resolve })
  evaluator.whenLoaded = (flag, env) => { const p = whenLoaded(flag, env); if (p !== undefined) fastLaneWaits(); return p }
  t.teardown(() => { features.getDefinition = read; evaluator.whenLoaded = whenLoaded })

  const first = send(fast.url, 'POST', '/features/evaluate', auth, body) // nothing cached: the route reads the flag
  await started
  const before = fast.fastLane!.stats()
  const second = send(fast.url, 'POST', '/features/evaluate', auth, body) // the same flag while that read is held
  // Only if the fast lane never waits (the failure this test exists for) does the timer fire: it
  // lets the held read go so that the requests finish and the assertions below report it.
  let timer: NodeJS.Timeout | undefined
  await Promise.race([waiting, new Promise<void>((resolve) => { timer = setTimeout(resolve, 5_000) })])
  clearTimeout(timer)
  release()
  const [a, b] = await Promise.all([first, second])
  const after = fast.fastLane!.stats()
  t.equal(after.waited, before.waited + 1, 'the second request waited for the read in flight')
  t.equal(after.answered, before.answered + 1, 'and was answered by the fast lane, not handed over')
  t.equal(after.handedOver, before.handedOver)
  const expected = await send(slow.url, 'POST', '/features/evaluate', auth, body)
  for (const r of [a, b]) {
    t.equal(r.status, 200)
    t.equal(r.body, expected.body, 'the answer the routes give')
    t.equal(r.headers['content-type'], expected.headers['content-type'])
  }
})
