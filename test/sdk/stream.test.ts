// GET /sdk/v1/stream on the long-running app: a change committed through another instance on the
// same table is announced (the revision item is what instances share), as is one through this
// instance; the stream refuses what the rules endpoint refuses; and an open stream ends with a
// last message when the server closes, without holding the close.
import t from 'tap'
import { request, type IncomingMessage } from 'node:http'
import { build, expectProblem, startStack } from '../helper.js'
import { eventually } from '../eventually.js'
import { createSyncClient, httpGet } from '../../src/sdk/sync-client.js'

t.test('the change stream', async (t) => {
  const stack = await startStack(t)
  // Load shedding off: on a busy machine it would answer these requests 503 (not what is tested here).
  const env = { SHED_EVENT_LOOP_DELAY_MS: '0', SDK_STREAMS_PER_KEY: '1' }
  const a = await build(t, { stack, env, app: { sdkStream: true } })
  const b = await build(t, { stack, env, app: { sdkStream: true } })
  const admin = await a.loginAs('ADMIN')
  const create = async (payload: object) => {
    const res = await a.app.inject({ method: 'POST', url: '/api-keys', headers: { authorization: admin }, payload })
    t.equal(res.statusCode, 201)
    return res.json() as { key: string }
  }
  const server = await create({ name: 'svc', environment: 'dev', kind: 'server' })
  const client = await create({ name: 'web', environment: 'dev' })
  t.equal((await a.app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'streamed', environments: { dev: true, qa: true } } })).statusCode, 201)

  expectProblem(t, await b.app.inject({ method: 'GET', url: '/sdk/v1/stream' }), 401, 'no key')
  expectProblem(t, await b.app.inject({ method: 'GET', url: '/sdk/v1/stream', headers: { 'x-api-key': client.key } }), 403, 'a client key')

  const url = await b.app.listen({ host: '127.0.0.1', port: 0 })
  const sse = createSyncClient({ baseUrl: url, apiKey: server.key, get: httpGet, timers: { setTimeout, clearTimeout: (h) => { clearTimeout(h as NodeJS.Timeout) } }, requestTimeoutMs: 5_000 })
  // Streams per key are bounded (SDK_STREAMS_PER_KEY = 1 here), and a closed one frees its place.
  const first = new AbortController()
  const firstMessages: Array<Record<string, unknown>> = []
  const firstEnded = sse.stream(first.signal, (m) => { firstMessages.push(m) })
  t.teardown(() => { first.abort() })
  await eventually(async () => firstMessages.some((m) => m.type === 'hello'), { what: 'the first stream\'s hello' })
  const second = await b.app.inject({ method: 'GET', url: '/sdk/v1/stream', headers: { 'x-api-key': server.key } })
  expectProblem(t, second, 429, 'a second stream of the same key past SDK_STREAMS_PER_KEY = 1')
  t.match(second.json(), { detail: /already has 1 open change streams/ })
  t.equal(second.headers['retry-after'], '60')
  first.abort()
  t.match(await firstEnded, { end: 'ended' })

  const messages: Array<Record<string, unknown>> = []
  const push = (m: Record<string, unknown>) => { messages.push(m) }
  const abort = new AbortController()
  t.teardown(() => { abort.abort() })
  let ended = sse.stream(abort.signal, push)
  let over = false
  const watch = () => { over = false; void ended.then(() => { over = true }) }
  watch()
  const next = (what: string, match: (m: Record<string, unknown>) => boolean, from: number) =>
    eventually(async () => messages.slice(from).find(match), { what: `${what} on the stream`, timeoutMs: 15_000, intervalMs: 5 })
  const hello = await eventually(async () => {
    const m = messages.find((x) => x.type === 'hello')
    if (m !== undefined) return m
    // The server learns that the first stream closed when its socket does: until then a new one
    // is refused (429), and is tried again.
    if (over) { ended = sse.stream(abort.signal, push); watch() }
    return undefined
  }, { what: 'a new stream accepted once the closed one freed its place', timeoutMs: 15_000, intervalMs: 5 })
  t.match(hello, { type: 'hello', etag: /^"1-dev-\d+(-p)?"$/, revision: Number }, 'once the first stream closed, a new one is accepted')

  const put = (app: typeof a.app, env: string) => app.inject({
    method: 'PUT',
    url: `/features/streamed/env/${env}`,
    headers: { authorization: admin, 'if-match': '*' },
    payload: { enabled: false, offVariant: 'off', defaultServe: { variant: 'on' }, targets: [], rules: [], prerequisites: [], schedule: [] }
  })
  let mark = messages.length
  t.equal((await put(a.app, 'dev')).statusCode, 200)
  const viaOther = await next('a change made through the other instance', (m) => m.type === 'refetchEvaluation', mark)
  t.match(viaOther, { flags: ['streamed'], revision: (hello.revision as number) + 1, etag: String, lastModified: Number })
  t.not(viaOther.etag, hello.etag)

  mark = messages.length
  t.equal((await put(a.app, 'qa')).statusCode, 200, 'a change in another environment…')
  const bAdmin = await b.loginAs('ADMIN') // each instance here has its own JWT secret
  t.equal((await b.app.inject({ method: 'POST', url: '/segments', headers: { authorization: bAdmin }, payload: { key: 'unused', included: [], excluded: [], rules: [] } })).statusCode, 201)
  t.equal((await b.app.inject({ method: 'PATCH', url: '/features/streamed', headers: { authorization: bAdmin, 'if-match': '*' }, payload: { description: 'x', variants: [{ key: 'on', value: true }, { key: 'off', value: false }, { key: 'maybe', value: true }] } })).statusCode, 200)
  const viaSelf = await next('a change made through this instance', (m) => m.type === 'refetchEvaluation', mark)
  t.match(viaSelf, { flags: ['streamed'], revision: (hello.revision as number) + 2 }, '…is not announced; the next change here is, with the next revision')

  mark = messages.length
  await b.app.close() // resolves although a stream is open
  t.match(await ended, { end: 'ended' }, 'the stream ended')
  t.ok(messages.slice(mark).some((m) => m.type === 'shutdown'), 'after a last message saying why')
})

t.test('HEAD is no way into the stream: it would hold a stream place with a response that never ends', async (t) => {
  const ctx = await build(t, { env: { SHED_EVENT_LOOP_DELAY_MS: '0' }, app: { sdkStream: true } })
  const admin = await ctx.loginAs('ADMIN')
  const { key } = (await ctx.app.inject({ method: 'POST', url: '/api-keys', headers: { authorization: admin }, payload: { name: 'svc', environment: 'dev', kind: 'server' } })).json() as { key: string }
  const url = new URL(await ctx.app.listen({ host: '127.0.0.1', port: 0 }))
  // Over a real connection (a HEAD answer is complete with its headers), with a deadline: the
  // stream never flushed its headers to a HEAD, so the request hung.
  const req = request({ host: url.hostname, port: url.port, method: 'HEAD', path: '/sdk/v1/stream', headers: { 'x-api-key': key }, agent: false })
  t.teardown(() => { req.destroy() })
  const head = await new Promise<IncomingMessage | Error>((resolve) => {
    req.setTimeout(5_000, () => { resolve(new Error('no answer within 5 s')) })
    req.on('response', resolve).on('error', resolve).end()
  })
  if (head instanceof Error) return t.fail(`HEAD /sdk/v1/stream: ${head.message}`)
  t.equal(head.statusCode, 404, 'HEAD /sdk/v1/stream has no route')
})
