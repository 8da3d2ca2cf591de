// SSRF guard: private targets are refused when a subscription is saved and again when a delivery
// connects (a name that resolved to a public address at save time and to a private one later is
// refused then: DNS rebinding). Names are resolved by a seam here, never by real DNS.
import t from 'tap'
import { expectProblem } from '../helper.js'
import { isPrivateAddress, parseWebhookUrl, resolveSafely, type Resolver } from '../../src/webhooks/address-guard.js'
import { createHttpSender } from '../../src/webhooks/http-sender.js'
import { buildWithWebhooks, startReceiver } from './support.js'

t.test('address classes', async (t) => {
  const refused = ['127.0.0.1', '127.255.0.9', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.1', '192.168.1.1', '169.254.169.254', '169.254.0.1',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', '::ffff:127.0.0.1', '::ffff:10.1.2.3',
    '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '2002:0a00:0001::1', '[::1]', 'ff02::1',
    // IPv4-compatible, SIIT, local-use NAT64 (RFC 8215), and uncompressed forms with a dotted tail
    '::7f00:1', '::127.0.0.1', '::ffff:0:7f00:1', '64:ff9b:1::a00:1', '64:ff9b:0:0:0:0:10.0.0.1', '0:0:0:0:0:ffff:169.254.169.254']
  for (const a of refused) t.ok(isPrivateAddress(a), `${a} is not public`)
  const allowed = ['93.184.215.14', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2a00:1450:4007:80e::200e']
  for (const a of allowed) t.notOk(isPrivateAddress(a), `${a} is public`)
})

t.test('URL rules', async (t) => {
  t.throws(() => parseWebhookUrl('http://hooks.example.com/x', false), /must use https/)
  t.doesNotThrow(() => parseWebhookUrl('http://hooks.example.com/x', true), 'http:// allowed with private networks')
  t.throws(() => parseWebhookUrl('https://user:pw@hooks.example.com/x', false), /credentials/)
  t.throws(() => parseWebhookUrl('ftp://hooks.example.com/x', true), /must use https/)
  t.throws(() => parseWebhookUrl('not a url', false), /absolute URL/)
  const resolve: Resolver = async (host) => host === 'inside.example.com' ? [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.7', family: 4 }] : [{ address: '93.184.215.14', family: 4 }]
  await t.rejects(resolveSafely(new URL('https://inside.example.com/'), { allowPrivateNetworks: false, resolve }), /10\.0\.0\.7/, 'one private address among several is enough to refuse')
  t.same(await resolveSafely(new URL('https://outside.example.com/'), { allowPrivateNetworks: false, resolve }), { address: '93.184.215.14', family: 4 })
})

t.test('refused at save time by default: loopback, 10/8, metadata, IPv6 loopback, a name resolving to a private address', async (t) => {
  const resolve: Resolver = async (host) => {
    if (host === 'internal.example.com') return [{ address: '10.1.2.3', family: 4 }]
    if (host === 'public.example.com') return [{ address: '93.184.215.14', family: 4 }]
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
  }
  const ctx = await buildWithWebhooks(t, { env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false' }, resolve, run: false })
  const create = (url: string) => ctx.app.inject({ method: 'POST', url: '/webhooks', headers: { authorization: ctx.admin }, payload: { url } })
  for (const url of ['https://127.0.0.1/hook', 'https://10.0.0.1/hook', 'https://169.254.169.254/latest/meta-data/', 'https://[::1]/hook', 'https://internal.example.com/hook', 'https://[::ffff:127.0.0.1]/hook', 'https://localhost.nowhere/hook']) {
    const body = expectProblem(t, await create(url), 400, url)
    t.equal(body.errors?.[0]?.path, '/body/url', `${url}: the field is named`)
  }
  t.match(JSON.parse((await create('https://internal.example.com/hook')).body).detail, /10\.1\.2\.3.*WEBHOOK_ALLOW_PRIVATE_NETWORKS/, 'says which address and how to allow it')
  expectProblem(t, await create('http://public.example.com/hook'), 400, 'plain http')
  t.equal((await create('https://public.example.com/hook')).statusCode, 201, 'a public https URL is accepted')
  const list = await ctx.app.inject({ method: 'GET', url: '/webhooks', headers: { authorization: ctx.admin } })
  t.equal(list.json().items.length, 1, 'nothing was saved for the refused URLs')
  // Changing the URL is checked the same way.
  const id = list.json().items[0].id as string
  expectProblem(t, await ctx.app.inject({ method: 'PATCH', url: `/webhooks/${id}`, headers: { authorization: ctx.admin }, payload: { url: 'https://169.254.169.254/' } }), 400, 'PATCH to metadata')
})

t.test('a resolver that never answers: 400 after WEBHOOK_URL_CHECK_TIMEOUT_MS, nothing saved', async (t) => {
  const resolve: Resolver = async (host) => host === 'silent.example.com'
    ? await new Promise<never>(() => {}) // a DNS server that swallows the query
    : [{ address: '93.184.215.14', family: 4 }]
  const ctx = await buildWithWebhooks(t, { env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false', WEBHOOK_URL_CHECK_TIMEOUT_MS: '200' }, resolve, run: false })
  const body = expectProblem(t, await ctx.app.inject({ method: 'POST', url: '/webhooks', headers: { authorization: ctx.admin }, payload: { url: 'https://silent.example.com/hook' } }), 400, 'create')
  t.match(body.detail, /host 'silent\.example\.com' did not resolve within 200 ms \(WEBHOOK_URL_CHECK_TIMEOUT_MS\)/, 'says what is wrong, and which setting')
  t.match(body.detail, /saved only once its host name resolves within that time.*IP address/, 'says what is accepted')
  t.equal(body.errors?.[0]?.path, '/body/url', 'names the field')
  const list = await ctx.app.inject({ method: 'GET', url: '/webhooks', headers: { authorization: ctx.admin } })
  t.same(list.json().items, [], 'nothing was saved')

  // Changing a subscription's URL to such a host leaves the subscription as it was.
  const saved = await ctx.subscribe({ url: 'https://public.example.com/hook' })
  const patch = await ctx.app.inject({ method: 'PATCH', url: `/webhooks/${saved.id}`, headers: { authorization: ctx.admin }, payload: { url: 'https://silent.example.com/hook' } })
  expectProblem(t, patch, 400, 'PATCH')
  const after = await ctx.app.inject({ method: 'GET', url: `/webhooks/${saved.id}`, headers: { authorization: ctx.admin } })
  t.match(after.json(), { url: 'https://public.example.com/hook', version: saved.version }, 'URL and version unchanged')
})

t.test('refused again at connection time: DNS rebinding never reaches the private address', async (t) => {
  const receiver = await startReceiver(t)
  // First answer public (the save-time check), then loopback (where the receiver listens).
  let calls = 0
  const rebinding: Resolver = async () => (++calls === 1 ? [{ address: '93.184.215.14', family: 4 }] : [{ address: '127.0.0.1', family: 4 }])
  const send = createHttpSender({ timeoutMs: 2000, allowPrivateNetworks: false, resolve: rebinding })
  await resolveSafely(new URL(`https://rebind.example.com:${receiver.port}/hook`), { allowPrivateNetworks: false, resolve: rebinding })
  const result = await send({ url: `https://rebind.example.com:${receiver.port}/hook`, headers: {}, body: '{}' })
  t.equal(result.ok, false)
  t.match(result.error, /^refused: URL resolves to 127\.0\.0\.1/)
  t.equal(receiver.received.length + receiver.refused, 0, 'no connection reached the receiver')

  // With private networks allowed the connection goes to exactly the resolved (pinned) address:
  // a name that real DNS does not know reaches the loopback receiver.
  const pinned = createHttpSender({ timeoutMs: 2000, allowPrivateNetworks: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] })
  const ok = await pinned({ url: `http://receiver.invalid:${receiver.port}/hook`, headers: {}, body: '{"hello":1}' })
  t.match(ok, { ok: true, statusCode: 204 })
  t.equal(receiver.received.length, 1)
})

t.test('redirects are not followed', async (t) => {
  const receiver = await startReceiver(t)
  receiver.mode = 'redirect'
  const send = createHttpSender({ timeoutMs: 2000, allowPrivateNetworks: true, resolve: async () => [{ address: '127.0.0.1', family: 4 }] })
  const result = await send({ url: receiver.url, headers: {}, body: '{}' })
  t.match(result, { ok: false, statusCode: 307, error: 'redirect not followed' })
})
