// The long-running server's own limits (src/local/dev.ts builds it with them): idle and half-sent
// connections are cut at the configured timeouts while other clients are served; connections
// over HTTP_MAX_CONNECTIONS are refused; a connection serves HTTP_MAX_REQUESTS_PER_SOCKET requests,
// the last with Connection: close.
import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually } from '../eventually.js'
import { startDevServer, type DevServer } from '../../src/local/dev.js'
import { httpRequest, rawConnection, type RawConnection } from './raw-http.js'

async function start (t: Test, env: Record<string, string>): Promise<DevServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-limits-'))
  const server = await startDevServer({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', ...env }, { maintenanceEveryMs: 60_000 })
  t.teardown(async () => {
    await server.close()
    await rm(dataDir, { recursive: true, force: true })
  })
  return server
}

t.test('idle and half-sent connections are cut at the configured timeouts while others are served', async (t) => {
  const server = await start(t, { HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' })
  const { url } = server
  const open = async (n: number, send?: string) => await Promise.all(Array.from({ length: n }, async () => {
    const c = await rawConnection(url)
    if (send !== undefined) c.write(send)
    return c
  }))
  const groups: Record<string, RawConnection[]> = {
    'idle, nothing sent': await open(5),
    'half the headers': await open(5, 'GET /health HTTP/1.1\r\nhost: localhost\r\nx-slow: '),
    // A route that reads the body before anything can refuse the request.
    'headers, half the body': await open(5, 'POST /auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"email":'),
    'idle keep-alive after an answer': await open(5, httpRequest('GET', '/health'))
  }
  // Served meanwhile, on connections of their own.
  for (let i = 0; i < 10; i++) {
    const res = await fetch(url + '/health', { headers: { connection: 'close' } })
    t.equal(res.status, 200, `request ${i + 1} served while 20 slow or idle connections are open`)
    await res.arrayBuffer()
  }
  for (const [what, conns] of Object.entries(groups)) {
    await eventually(async () => conns.every((c) => c.isClosed()), { timeoutMs: 20_000, what: `${what}: closed by the server` })
    const answers = conns.flatMap((c) => c.responses.map((r) => r.status))
    if (what === 'idle keep-alive after an answer') t.same(answers, [200, 200, 200, 200, 200], `${what}: answered once, then closed`)
    else t.notOk(answers.includes(200), `${what}: closed without an answer, or with a 408 (${answers.join(', ') || 'none'})`)
    t.pass(`${what}: all 5 closed by the server`)
  }
})

t.test('connection cap and per-connection request cap', async (t) => {
  const server = await start(t, { HTTP_MAX_CONNECTIONS: '3', HTTP_MAX_REQUESTS_PER_SOCKET: '3' })
  const { url } = server
  const held = await Promise.all([rawConnection(url), rawConnection(url), rawConnection(url)])
  for (const c of held) c.write(httpRequest('GET', '/health'))
  await eventually(async () => held.every((c) => c.responses.length === 1), { what: 'three connections served' })
  const extra = await rawConnection(url)
  extra.write(httpRequest('GET', '/health'))
  await extra.closed
  t.same(extra.responses, [], 'a fourth connection is refused without an answer')

  held[0].write(httpRequest('GET', '/health') + httpRequest('GET', '/health'))
  await held[0].closed
  t.same(held[0].responses.map((r) => [r.status, r.headers.connection]), [[200, 'keep-alive'], [200, 'keep-alive'], [200, 'close']], 'the third request on a connection is its last')
  // The same when the last answer is decided synchronously (a 401 from the authentication hook):
  // it is written before the request event's later listeners run.
  held[1].write(httpRequest('GET', '/features') + httpRequest('GET', '/features'))
  // Closed right after the answer, not left open until the keep-alive timeout (72 s by default).
  await eventually(async () => held[1].isClosed(), { timeoutMs: 5_000, what: 'the connection closed after its last answer' })
  t.same(held[1].responses.map((r) => [r.status, r.headers.connection]), [[200, 'keep-alive'], [401, 'keep-alive'], [401, 'close']], 'a synchronous answer closes its connection too')
  const again = await rawConnection(url)
  again.write(httpRequest('GET', '/health', { headers: { connection: 'close' } }))
  await again.closed
  t.equal(again.responses[0]?.status, 200, 'a place freed: a new connection is served')
})
