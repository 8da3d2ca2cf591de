// Real OpenFeature clients against the dev server as a real process (real HTTP): the Node server
// SDK with the OFREP provider, and the web SDK with the OFREP web provider (it runs under Node).
import t, { type Test } from 'tap'
import { serverEnv, startChild, waitForOutput } from '../reliability/support.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OpenFeature as ServerOpenFeature, ErrorCode } from '@openfeature/server-sdk'
import { OFREPProvider } from '@openfeature/ofrep-provider'
import { OpenFeature as WebOpenFeature, ProviderEvents } from '@openfeature/web-sdk'
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider'
import { eventually } from '../eventually.js'
import { createApiKey, seedFlags, type Call } from '../ofrep/seed.js'

const ADMIN = { email: 'owner@example.com', password: 'a long and unguessable passphrase' }

/** `node --import tsx src/server.ts` on a free port and a temporary DATA_DIR; stopped (SIGTERM, awaited) at teardown. */
async function startServer (t: Test): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-openfeature-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const server = startChild(t, 'src/server.ts', serverEnv(dataDir, ADMIN, { HOST: '127.0.0.1' }))
  return await waitForOutput(server, /Switchyard is listening on (http:\/\/\S+)/, 90_000)
}

function httpCall (baseUrl: string): Call {
  return async (method, path, opts = {}) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}), ...opts.headers },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined
    })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  }
}

t.test('OpenFeature SDKs against the dev server', async (t) => {
  const baseUrl = await startServer(t)
  const call = httpCall(baseUrl)
  const admin = await eventually(async () => {
    const res = await call('POST', '/auth/login', { body: ADMIN })
    return res.status === 200 ? `Bearer ${res.body.access_token as string}` : undefined
  }, { what: 'admin login', timeoutMs: 30_000, intervalMs: 250 })
  await seedFlags(call, admin)

  t.test('server SDK with the OFREP provider', async (t) => {
    const { key } = await createApiKey(call, admin, 'dev', 'node-service')
    t.teardown(() => ServerOpenFeature.close())
    await ServerOpenFeature.setProviderAndWait('switchyard', new OFREPProvider({ baseUrl, headers: [['Authorization', `Bearer ${key}`]] }))
    const client = ServerOpenFeature.getClient('switchyard')
    const someone = { targetingKey: 'user-1' }
    const vip = { targetingKey: 'vip-user' }

    const bool = await client.getBooleanDetails('dark-mode', false, someone)
    t.match(bool, { value: true, variant: 'on', reason: 'STATIC', flagMetadata: { environment: 'dev', version: 1 } })
    t.notOk(bool.errorCode)

    t.match(await client.getStringDetails('banner-color', 'none', someone), { value: 'blue', variant: 'blue', reason: 'DEFAULT' }, 'untargeted user')
    t.match(await client.getStringDetails('banner-color', 'none', vip), { value: 'green', variant: 'green', reason: 'TARGETING_MATCH' }, 'targeted user')

    t.equal(await client.getNumberValue('max-items', 0, someone), 2.5)
    t.match(await client.getNumberDetails('max-items', 0, { ...someone, plan: 'beta' }), { value: 10, reason: 'TARGETING_MATCH', flagMetadata: { ruleId: 'beta-plan' } })

    t.same(await client.getObjectValue('checkout-config', {}, someone), { layout: 'single', steps: 3 })
    t.same(await client.getObjectValue('checkout-config', {}, vip), { layout: 'multi', steps: 5, extras: ['gift'] })

    const missing = await client.getBooleanDetails('no-such-flag', true, someone)
    t.match(missing, { value: true, reason: 'ERROR', errorCode: ErrorCode.FLAG_NOT_FOUND }, 'the SDK default, with FLAG_NOT_FOUND')

    const noKey = await client.getBooleanDetails('gradual', false, {})
    t.match(noKey, { value: false, reason: 'ERROR', errorCode: ErrorCode.TARGETING_KEY_MISSING })

    const wrongType = await client.getNumberDetails('banner-color', 7, someone)
    t.match(wrongType, { value: 7, errorCode: ErrorCode.TYPE_MISMATCH })

    // X-API-Key works the same; then the key is revoked while the client is in use.
    const revocable = await createApiKey(call, admin, 'dev', 'soon-revoked')
    await ServerOpenFeature.setProviderAndWait('revocable', new OFREPProvider({ baseUrl, headers: [['X-API-Key', revocable.key]] }))
    const other = ServerOpenFeature.getClient('revocable')
    t.equal(await other.getBooleanValue('dark-mode', false, someone), true)
    const del = await call('DELETE', `/api-keys/${revocable.id}`, { headers: { authorization: admin } })
    t.equal(del.status, 204)
    const refused = await other.getBooleanDetails('dark-mode', false, someone)
    t.match(refused, { value: false, reason: 'ERROR', errorCode: ErrorCode.GENERAL }, 'a revoked key gets the default (401 from the server)')
    const direct = await call('POST', '/ofrep/v1/evaluate/flags/dark-mode', { headers: { 'x-api-key': revocable.key }, body: {} })
    t.equal(direct.status, 401, 'which the server refuses with 401')
    t.equal(await client.getBooleanValue('dark-mode', false, someone), true, 'the other key still works')
  })

  t.test('web SDK with the OFREP web provider: bulk load, 304 polls, changes, context', async (t) => {
    const { key } = await createApiKey(call, admin, 'dev', 'web-app')
    const exchanges: Array<{ status: number; ifNoneMatch: string | null; body: string }> = []
    async function recordingFetch (input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
      const req = new Request(input, init)
      const body = await req.clone().text()
      const res = await fetch(req)
      exchanges.push({ status: res.status, ifNoneMatch: req.headers.get('if-none-match'), body })
      return res
    }
    const provider = new OFREPWebProvider({
      baseUrl,
      headers: [['Authorization', `Bearer ${key}`]],
      pollInterval: 200,
      changeDetection: 'polling',
      cacheMode: 'disabled',
      fetchImplementation: recordingFetch
    })
    t.teardown(() => WebOpenFeature.close())
    await WebOpenFeature.setContext({ targetingKey: 'user-1' })
    await WebOpenFeature.setProviderAndWait(provider)
    const client = WebOpenFeature.getClient()

    // Initial bulk load: every type, evaluated for the static context.
    t.equal(exchanges[0]?.status, 200)
    t.same(JSON.parse(exchanges[0].body), { context: { targetingKey: 'user-1' } })
    t.equal(client.getBooleanValue('dark-mode', false), true)
    t.match(client.getStringDetails('banner-color', 'none'), { value: 'blue', reason: 'DEFAULT' })
    t.equal(client.getNumberValue('max-items', 0), 2.5)
    t.same(client.getObjectValue('checkout-config', {}), { layout: 'single', steps: 3 })
    t.match(client.getBooleanDetails('no-such-flag', true), { value: true, errorCode: ErrorCode.FLAG_NOT_FOUND })

    // Polls carry the ETag and, nothing having changed, are answered 304.
    const notModified = await eventually(async () => exchanges.find((e) => e.status === 304), { what: 'a poll answered 304', timeoutMs: 10_000 })
    t.match(notModified.ifNoneMatch, /^"[A-Za-z0-9_-]+"$/)
    t.equal(client.getStringValue('banner-color', 'none'), 'blue', 'a 304 keeps the values')

    // An admin changes a flag: the next poll brings it, with a ConfigurationChanged event.
    const changedFlags: string[][] = []
    client.addHandler(ProviderEvents.ConfigurationChanged, (e) => { changedFlags.push(e?.flagsChanged ?? []) })
    const put = await call('PUT', '/features/banner-color/env/dev', { headers: { authorization: admin, 'if-match': '*' }, body: { enabled: true, offVariant: 'blue', defaultServe: { variant: 'green' }, targets: [{ variant: 'blue', values: ['vip-user'] }] } })
    t.equal(put.status, 200, JSON.stringify(put.body))
    await eventually(async () => client.getStringValue('banner-color', 'none') === 'green', { what: 'the change seen by polling', timeoutMs: 10_000 })
    t.ok(changedFlags.some((f) => f.includes('banner-color')), 'ConfigurationChanged names the flag')
    t.match(client.getStringDetails('banner-color', 'none'), { value: 'green', reason: 'DEFAULT', flagMetadata: { version: 2 } })

    // A new context is evaluated at once (a fresh, unconditional bulk request).
    const before = exchanges.length
    await WebOpenFeature.setContext({ targetingKey: 'vip-user' })
    const refetch = exchanges.slice(before).find((e) => JSON.parse(e.body).context?.targetingKey === 'vip-user')
    t.ok(refetch, 'the context change triggered a bulk request')
    t.equal(refetch?.status, 200)
    t.same(client.getObjectValue('checkout-config', {}), { layout: 'multi', steps: 5, extras: ['gift'] })
    t.match(client.getStringDetails('banner-color', 'none'), { value: 'blue', variant: 'blue', reason: 'TARGETING_MATCH' })
  })
})
