// The in-process provider (switchyard/openfeature) with @openfeature/server-sdk against the dev
// server as a real process: a change arrives through the stream, and through polling with the
// stream off; the service stopped → last good values and PROVIDER_STALE, a provider started from
// the snapshot file meanwhile, then recovery (READY) when it is back; a revoked key → PROVIDER_ERROR;
// a client key refused; frozen (Lambda) mode with no timer between invocations, the first
// evaluation past the interval starting exactly one refetch (a clock seam, no sleeps).
import t, { type Test } from 'tap'
import { mkdtemp, rm, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OpenFeature, ProviderEvents, ProviderStatus, type Client } from '@openfeature/server-sdk'
import { SwitchyardProvider } from '../../src/sdk/provider.js'
import { httpGet, type HttpGet, type Timers } from '../../src/sdk/sync-client.js'
import { startChild, waitForOutput, type Child } from '../reliability/support.js'
import { eventually } from '../eventually.js'

const ADMIN = { email: 'owner@example.com', password: 'a long and unguessable passphrase' }

async function startServer (t: Test, dataDir: string, port = 0): Promise<{ url: string; child: Child }> {
  const child = startChild(t, 'src/server.ts', {
    HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, BCRYPT_ROUNDS: '4', LOG_LEVEL: 'warn'
  })
  const url = await waitForOutput(child, /Switchyard is listening on (http:\/\/\S+)/, 90_000)
  return { url, child }
}

/** Events a client saw, in order. */
function recorder (client: Client) {
  const seen: Array<{ type: string; flags?: string[]; message?: string }> = []
  for (const type of [ProviderEvents.Ready, ProviderEvents.Error, ProviderEvents.Stale, ProviderEvents.ConfigurationChanged]) {
    client.addHandler(type, (e) => { seen.push({ type, flags: e?.flagsChanged as string[] | undefined, message: e?.message }) })
  }
  return seen
}

/** Did an event of `type` arrive after the `from`-th one? (Handlers added to a READY client get a READY at once.) */
function since (events: Array<{ type: string }>, from: number, type: string): boolean {
  return events.slice(from).some((e) => e.type === type)
}

t.test('the in-process provider against the dev server', async (t) => {
  const top = t
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-provider-e2e-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  let server = await startServer(t, dataDir)
  const baseUrl = server.url
  t.teardown(() => OpenFeature.close())

  async function call (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(baseUrl + path, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body !== undefined ? JSON.stringify(body) : undefined })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  }
  const admin = await eventually(async () => {
    const res = await call('POST', '/auth/login', ADMIN)
    return res.status === 200 ? { authorization: `Bearer ${res.body.access_token as string}` } : undefined
  }, { what: 'admin login', timeoutMs: 30_000, intervalMs: 250 })
  const keyOf = async (kind: 'server' | 'client', name: string) => {
    const res = await call('POST', '/api-keys', { name, environment: 'dev', kind }, admin)
    t.equal(res.status, 201)
    return res.body as { id: string; key: string }
  }
  for (const name of ['banner', 'streamed', 'polled']) {
    const res = await call('POST', '/features', { name, type: 'string', variants: [{ key: 'a', value: 'A' }, { key: 'b', value: 'B' }], environments: { dev: { enabled: true, offVariant: 'a', defaultServe: { variant: 'a' } } } }, admin)
    t.equal(res.status, 201, JSON.stringify(res.body))
  }
  const serveB = (flag: string, variant = 'b') => call('PUT', `/features/${flag}/env/dev`, { enabled: true, offVariant: 'a', defaultServe: { variant } }, { ...admin, 'if-match': '*' })
  const serverKey = await keyOf('server', 'backend')
  const someone = { targetingKey: 'user-1' }

  t.test('a change arrives through the stream', async (t) => {
    // Polling every minute: only the stream can bring the change within the deadline.
    const provider = new SwitchyardProvider({ baseUrl, apiKey: serverKey.key, pollIntervalMs: 60_000 })
    await OpenFeature.setProviderAndWait('streamed', provider)
    const client = OpenFeature.getClient('streamed')
    const events = recorder(client)
    t.equal(await client.getStringValue('streamed', 'none', someone), 'A')
    const before = provider.refetches
    t.equal((await serveB('streamed')).status, 200)
    await eventually(async () => events.some((e) => e.type === ProviderEvents.ConfigurationChanged), { what: 'CONFIGURATION_CHANGED via the stream', timeoutMs: 15_000 })
    t.same(events.find((e) => e.type === ProviderEvents.ConfigurationChanged)?.flags, ['streamed'], 'the event names the changed flag')
    t.equal(await client.getStringValue('streamed', 'none', someone), 'B')
    t.ok(provider.refetches - before >= 1 && provider.refetches - before <= 3, `refetched on the stream's word (${provider.refetches - before} refetches)`)
  })

  const snapshotFile = join(dataDir, 'provider-snapshot.json')
  const polled = new SwitchyardProvider({ baseUrl, apiKey: serverKey.key, stream: false, pollIntervalMs: 300, snapshotFile })
  await OpenFeature.setProviderAndWait('polled', polled)
  const polledClient = OpenFeature.getClient('polled')
  const polledEvents = recorder(polledClient)

  t.test('a change arrives through polling with the stream off', async (t) => {
    t.equal(await polledClient.getStringValue('polled', 'none', someone), 'A')
    t.equal((await serveB('polled')).status, 200)
    await eventually(async () => polledEvents.some((e) => e.type === ProviderEvents.ConfigurationChanged && e.flags?.includes('polled')), { what: 'CONFIGURATION_CHANGED via polling', timeoutMs: 15_000 })
    t.equal(await polledClient.getStringValue('polled', 'none', someone), 'B')
    const saved = JSON.parse(await eventually(async () => { const s = await readFile(snapshotFile, 'utf8').catch(() => ''); return s.includes('"polled"') && s.includes('"b"') ? s : undefined }, { what: 'the snapshot file' }))
    t.match(saved, { etag: /^"1-dev-/, document: { formatVersion: 1, environment: 'dev' } })
  })

  t.test('the service stopped: last good values and STALE, a start from the file, then recovery', async (t) => {
    const streamedClient = OpenFeature.getClient('streamed')
    // Open streams never hold the drain: SIGTERM with a stream connected still ends the process.
    server.child.child.kill('SIGTERM')
    t.equal(await server.child.exited, 0, 'the server exited cleanly with a stream open')
    await eventually(async () => polledEvents.some((e) => e.type === ProviderEvents.Stale), { what: 'PROVIDER_STALE', timeoutMs: 15_000 })
    t.equal(OpenFeature.getClient('polled').providerStatus, ProviderStatus.STALE)
    t.equal(await polledClient.getStringValue('polled', 'none', someone), 'B', 'the last good value')
    t.equal(await streamedClient.getStringValue('streamed', 'none', someone), 'B', 'the last good value (stream provider)')

    const fromFile = new SwitchyardProvider({ baseUrl, apiKey: serverKey.key, stream: false, pollIntervalMs: 300, snapshotFile })
    await OpenFeature.setProviderAndWait('from-file', fromFile)
    const fileClient = OpenFeature.getClient('from-file')
    const fileEvents = recorder(fileClient)
    t.equal(await fileClient.getStringValue('polled', 'none', someone), 'B', 'a provider started while the service is down serves the file')
    await eventually(async () => fileEvents.some((e) => e.type === ProviderEvents.Stale), { what: 'the file-started provider says it is STALE' })

    const port = Number(new URL(baseUrl).port)
    const mark = polledEvents.length
    server = await startServer(top, dataDir, port)
    await eventually(async () => since(polledEvents, mark, ProviderEvents.Ready), { what: 'READY after recovery', timeoutMs: 20_000 })
    t.equal(OpenFeature.getClient('polled').providerStatus, ProviderStatus.READY)
    t.equal((await serveB('banner')).status, 200)
    await eventually(async () => (await polledClient.getStringValue('banner', 'none', someone)) === 'B', { what: 'changes flow again', timeoutMs: 15_000 })
    await eventually(async () => (await fileClient.getStringValue('banner', 'none', someone)) === 'B', { what: 'the file-started provider catches up', timeoutMs: 15_000 })
    await eventually(async () => (await streamedClient.getStringValue('banner', 'none', someone)) === 'B', { what: 'the stream provider reconnected', timeoutMs: 30_000 })
  })

  t.test('a revoked key: PROVIDER_ERROR, last values kept', async (t) => {
    const doomed = await keyOf('server', 'doomed')
    const provider = new SwitchyardProvider({ baseUrl, apiKey: doomed.key, stream: false, pollIntervalMs: 300 })
    await OpenFeature.setProviderAndWait('doomed', provider)
    const client = OpenFeature.getClient('doomed')
    const events = recorder(client)
    t.equal((await call('DELETE', `/api-keys/${doomed.id}`, undefined, admin)).status, 204)
    await eventually(async () => events.some((e) => e.type === ProviderEvents.Error), { what: 'PROVIDER_ERROR', timeoutMs: 15_000 })
    t.match(events.find((e) => e.type === ProviderEvents.Error)?.message, /refused the API key \(401\)/)
    t.equal(client.providerStatus, ProviderStatus.ERROR)
    t.equal(await client.getStringValue('banner', 'none', someone), 'B', 'the last rules still answer')
  })

  t.test('a client key is refused', async (t) => {
    const clientKey = await keyOf('client', 'browser')
    const res = await call('GET', '/sdk/v1/flags', undefined, { 'x-api-key': clientKey.key })
    t.equal(res.status, 403)
    const provider = new SwitchyardProvider({ baseUrl, apiKey: clientKey.key, stream: false, pollIntervalMs: 60_000 })
    await t.rejects(OpenFeature.setProviderAndWait('refused', provider), /refused the API key \(403\).*client API key/)
    const client = OpenFeature.getClient('refused')
    t.equal(client.providerStatus, ProviderStatus.ERROR)
    t.match(await client.getStringDetails('banner', 'fallback', someone), { value: 'fallback', reason: 'ERROR' })
  })

  t.test('frozen (Lambda) mode: no timer between invocations, one refetch past the interval', async (t) => {
    let now = Date.now()
    const pending = new Set<unknown>()
    const timers: Timers = {
      setTimeout (fn, ms) { const h = setTimeout(() => { pending.delete(h); fn() }, ms); pending.add(h); return h },
      clearTimeout (h) { pending.delete(h); clearTimeout(h as NodeJS.Timeout) }
    }
    const requests: string[] = []
    const recordingGet: HttpGet = async (url, headers, signal) => { requests.push(url); return await httpGet(url, headers, signal) }
    const provider = new SwitchyardProvider({ baseUrl, apiKey: serverKey.key, mode: 'frozen', refreshIntervalMs: 10_000, now: () => now, timers, get: recordingGet })
    await OpenFeature.setProviderAndWait('lambda', provider)
    const client = OpenFeature.getClient('lambda')
    const events = recorder(client)
    /** One invocation: evaluations, then (like a handler returning) whatever the provider started finishes. */
    async function invoke (): Promise<string> {
      const v = await client.getStringValue('banner', 'none', someone)
      await client.getStringValue('streamed', 'none', someone)
      await client.getStringValue('polled', 'none', someone)
      await eventually(async () => pending.size === 0, { what: 'the invocation\'s request settled' })
      return v
    }
    t.equal(await invoke(), 'B')
    t.equal(pending.size, 0, 'no timer left running after an invocation')
    t.same(requests.map((u) => new URL(u).pathname), ['/sdk/v1/flags'], 'one sync at start, no stream')

    t.equal((await serveB('banner', 'a')).status, 200)
    now += 5_000
    t.equal(await invoke(), 'B', 'within the interval: the snapshot answers, nothing fetched')
    t.equal(requests.length, 1)

    now += 6_000 // 11 s after the sync
    const refetchesBefore = provider.refetches
    t.equal(await invoke(), 'B', 'the first evaluation past the interval answers from the current snapshot…')
    t.equal(provider.refetches - refetchesBefore, 1, '…and starts exactly one refetch for three evaluations')
    t.equal(requests.length, 2)
    t.ok(events.some((e) => e.type === ProviderEvents.ConfigurationChanged && e.flags?.includes('banner')), 'CONFIGURATION_CHANGED once it landed')
    t.equal(await invoke(), 'A', 'the next invocation sees the change')
    t.equal(requests.length, 2, 'the refetch reset the interval')
    t.equal(pending.size, 0, 'and no timer is left')
  })
})
