// API keys through inject: create / list / revoke, what a key may do, and that its secret is
// nowhere but in the one response that created it: not in the table, the audit records or the logs.
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb'
import app from '../../src/app.js'
import { serverOptions } from '../../src/core.js'
import { loadConfig } from '../../src/config.js'
import { createWorkers } from '../../src/workers/runtime.js'
import { startSqsPoller } from '../../src/local/workers.js'
import { ADMIN, CLIENT_PASSWORD, eventually, startStack, testEnv } from '../helper.js'

/** build() from the helper, plus every log line of the app and the audit consumer captured. */
async function buildWithLogs (t: Test) {
  const stack = await startStack(t)
  const env = testEnv(stack, { LOG_LEVEL: 'trace' })
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const base = serverOptions('trace')
  const fastify = Fastify({ ...base, logger: { ...base.logger, stream } })
  await fastify.register(app, { env, docsUi: false })
  await fastify.ready()
  t.teardown(() => fastify.close())
  const workers = createWorkers({ config: loadConfig(env), log: fastify.log })
  t.teardown(() => workers.destroy())
  const poller = startSqsPoller({ sqs: workers.sqs, queueUrl: stack.queueUrl, handler: workers.consume, waitTimeSeconds: 1 })
  t.teardown(() => poller.close())
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }))
  t.teardown(() => doc.destroy())

  async function login (email: string, password: string): Promise<string> {
    const res = await fastify.inject({ method: 'POST', url: '/auth/login', payload: { email, password } })
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`)
    return `Bearer ${res.json().access_token as string}`
  }
  // under-pressure (src/core.ts) may answer 503 while a freshly started process is still busy
  // compiling: poll the first login with a deadline instead of failing on it.
  const admin = await eventually(() => login(ADMIN.email, ADMIN.password), { what: 'admin login', timeoutMs: 30_000, intervalMs: 250 })
  const signup = await fastify.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'client', email: 'client@example.com', password: CLIENT_PASSWORD } })
  if (signup.statusCode !== 201) throw new Error(signup.body)
  const client = await login('client@example.com', CLIENT_PASSWORD)
  /** Every item of the table: a Scan is fine in a test, never on a request path. */
  async function scanAll (): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const res = await doc.send(new ScanCommand({ TableName: env.TABLE_NAME, ExclusiveStartKey }))
      items.push(...(res.Items ?? []))
      ExclusiveStartKey = res.LastEvaluatedKey
    } while (ExclusiveStartKey !== undefined)
    return items
  }
  return { app: fastify, admin, client, lines, scanAll }
}

t.test('API keys', async (t) => {
  const { app, admin, client, lines, scanAll } = await buildWithLogs(t)
  const auth = (h: string) => ({ authorization: h })
  const created = await app.inject({ method: 'POST', url: '/api-keys', headers: auth(admin), payload: { name: 'checkout-service', environment: 'dev' } })
  t.equal(created.statusCode, 201, created.body)
  const key = created.json() as { id: string; name: string; environment: string; createdAt: string; key: string }
  t.match(key, { name: 'checkout-service', environment: 'dev', role: 'CLIENT', createdBy: ADMIN.email, createdAt: /^\d{4}-/ })
  t.match(key.key, /^sy_dev_[0-9a-f]{20}_[A-Za-z0-9_-]{43}$/, 'recognisable prefix, environment, id, 256 random bits')
  t.ok(key.key.includes(`_${key.id}_`), 'the id is part of the secret (one GetItem to verify)')
  t.equal(created.headers['cache-control'], 'no-store')
  t.equal(created.headers.location, `/api-keys/${key.id}`)
  const secretRandom = key.key.split('_').slice(3).join('_')
  const digest = createHash('sha256').update(key.key).digest('hex')

  t.test('creation is validated and ADMIN only', async (t) => {
    const unknownEnv = await app.inject({ method: 'POST', url: '/api-keys', headers: auth(admin), payload: { name: 'x', environment: 'nowhere' } })
    t.equal(unknownEnv.statusCode, 400)
    t.match(unknownEnv.json(), { detail: /not registered/ })
    const extra = await app.inject({ method: 'POST', url: '/api-keys', headers: auth(admin), payload: { name: 'x', environment: 'dev', role: 'ADMIN' } })
    t.equal(extra.statusCode, 400, 'unknown fields are rejected')
    const byClient = await app.inject({ method: 'POST', url: '/api-keys', headers: auth(client), payload: { name: 'x', environment: 'dev' } })
    t.equal(byClient.statusCode, 403)
    const anonymous = await app.inject({ method: 'POST', url: '/api-keys', payload: { name: 'x', environment: 'dev' } })
    t.equal(anonymous.statusCode, 401)
    t.equal((await app.inject({ method: 'GET', url: '/api-keys', headers: auth(client) })).statusCode, 403)
  })

  const prodKey = (await app.inject({ method: 'POST', url: '/api-keys', headers: auth(admin), payload: { name: 'billing', environment: 'prod' } })).json() as { id: string; key: string }
  t.not(prodKey.key, key.key)

  t.test('list and get never show secrets', async (t) => {
    const list = await app.inject({ method: 'GET', url: '/api-keys', headers: auth(admin) })
    t.equal(list.statusCode, 200)
    const items = list.json().items as Array<Record<string, unknown>>
    t.same(items.map((i) => i.id), [key.id, prodKey.id], 'creation order')
    for (const i of items) {
      t.notOk('key' in i || 'digest' in i, 'no secret, no digest')
    }
    t.notMatch(list.body, secretRandom)
    const page1 = await app.inject({ method: 'GET', url: '/api-keys?limit=1', headers: auth(admin) })
    t.same(page1.json().items.map((i: { id: string }) => i.id), [key.id])
    const page2 = await app.inject({ method: 'GET', url: `/api-keys?limit=1&cursor=${page1.json().nextCursor as string}`, headers: auth(admin) })
    t.same(page2.json().items.map((i: { id: string }) => i.id), [prodKey.id])
    const prodOnly = await app.inject({ method: 'GET', url: '/api-keys?environment=prod', headers: auth(admin) })
    t.same(prodOnly.json().items.map((i: { id: string }) => i.id), [prodKey.id])
    const one = await app.inject({ method: 'GET', url: `/api-keys/${key.id}`, headers: auth(admin) })
    t.match(one.json(), { id: key.id, name: 'checkout-service', environment: 'dev' })
    t.notOk('key' in one.json())
    t.equal((await app.inject({ method: 'GET', url: '/api-keys/ffffffffffffffffffff', headers: auth(admin) })).statusCode, 404)
  })

  await app.inject({ method: 'POST', url: '/features', headers: auth(admin), payload: { name: 'new-checkout', environments: { dev: true, prod: false } } })

  t.test('a key evaluates in its environment only, and does nothing else', async (t) => {
    const evaluate = (headers: Record<string, string>, environment: string) =>
      app.inject({ method: 'POST', url: '/features/evaluate', headers, payload: { feature: 'new-checkout', environment, context: { targetingKey: 'u1' } } })
    for (const headers of [{ authorization: `Bearer ${key.key}` }, { 'x-api-key': key.key }] as Array<Record<string, string>>) {
      const ok = await evaluate(headers, 'dev')
      t.equal(ok.statusCode, 200, ok.body)
      t.match(ok.json(), { value: true })
      const prod = await evaluate(headers, 'prod')
      t.equal(prod.statusCode, 403, 'a dev key gets 403 in prod')
      t.match(prod.json(), { detail: /'dev', not 'prod'/ })
    }
    t.equal((await evaluate({ 'x-api-key': prodKey.key }, 'prod')).statusCode, 200)
    const other: Array<[string, string, object?]> = [
      ['GET', '/features'], ['GET', '/features/new-checkout'], ['GET', '/features/new-checkout/audit'],
      ['POST', '/features', { name: 'sneaky', environments: { dev: true } }],
      ['PUT', '/features/new-checkout/env/dev', { enabled: false }], ['DELETE', '/features/new-checkout'],
      ['GET', '/environments'], ['GET', '/api-keys'], ['POST', '/api-keys', { name: 'more', environment: 'dev' }],
      ['DELETE', `/api-keys/${prodKey.id}`], ['PUT', '/users/client@example.com/role', { role: 'ADMIN' }]
    ]
    for (const [method, url, payload] of other) {
      const res = await app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${key.key}` }, payload })
      t.equal(res.statusCode, 403, `${method} ${url} refuses an API key`)
    }
    t.equal((await app.inject({ method: 'GET', url: '/features/new-checkout', headers: auth(client) })).statusCode, 200, 'CLIENT users still read flags')
  })

  t.test('revocation: 401 at once, idempotent, 404 for unknown ids', async (t) => {
    const use = () => app.inject({ method: 'POST', url: '/features/evaluate', headers: { 'x-api-key': key.key }, payload: { feature: 'new-checkout', environment: 'dev' } })
    t.equal((await use()).statusCode, 200, 'verified (and now cached)')
    const revoked = await app.inject({ method: 'DELETE', url: `/api-keys/${key.id}`, headers: auth(admin) })
    t.equal(revoked.statusCode, 204)
    const after = await use()
    t.equal(after.statusCode, 401, 'the cached verification was dropped by the revocation')
    t.equal((await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/new-checkout', headers: { authorization: `Bearer ${key.key}` }, payload: {} })).statusCode, 401)
    const again = await app.inject({ method: 'DELETE', url: `/api-keys/${key.id}`, headers: auth(admin) })
    t.equal(again.statusCode, 204, 'revoking twice is fine')
    t.equal((await app.inject({ method: 'DELETE', url: '/api-keys/ffffffffffffffffffff', headers: auth(admin) })).statusCode, 404)
    t.equal((await app.inject({ method: 'DELETE', url: '/api-keys/not-an-id', headers: auth(admin) })).statusCode, 404)
    const shown = await app.inject({ method: 'GET', url: `/api-keys/${key.id}`, headers: auth(admin) })
    t.match(shown.json(), { revokedAt: /^\d{4}-/, revokedBy: ADMIN.email })
    t.equal((await app.inject({ method: 'POST', url: '/features/evaluate', headers: { 'x-api-key': prodKey.key }, payload: { feature: 'new-checkout', environment: 'prod' } })).statusCode, 200, 'other keys unaffected')
  })

  t.test('audited, without the secret', async (t) => {
    const audit = await eventually(async () => {
      const res = await app.inject({ method: 'GET', url: `/api-keys/${key.id}/audit`, headers: auth(admin) })
      const items = res.json().items as Array<Record<string, unknown>>
      return items.length === 2 ? items : undefined
    }, { what: 'two audit records for the key', timeoutMs: 15_000 })
    t.match(audit, [
      { action: 'API_KEY_CREATED', actor: ADMIN.email, environment: 'dev', before: null, after: { id: key.id, name: 'checkout-service' } },
      { action: 'API_KEY_REVOKED', actor: ADMIN.email, before: { id: key.id }, after: { revokedAt: /^\d{4}-/ } }
    ])
    const text = JSON.stringify(audit)
    t.notMatch(text, secretRandom)
    t.notMatch(text, digest)
    t.equal((await app.inject({ method: 'GET', url: `/api-keys/${key.id}/audit`, headers: auth(client) })).statusCode, 403)
  })

  t.test('the secret is nowhere in the table, only its digest', async (t) => {
    const items = await scanAll()
    const keyItem = items.find((i) => i.PK === `APIKEY#${key.id}`)
    t.match(keyItem, { SK: 'KEY', entity: 'ApiKey', GSI1PK: 'APIKEYS', environment: 'dev', digest })
    const everything = JSON.stringify(items)
    t.notMatch(everything, secretRandom, 'no item holds the secret')
    t.notMatch(everything, key.key)
    const auditItems = items.filter((i) => String(i.PK).startsWith('AUDIT#apikey:') || i.PK === 'OUTBOX')
    t.ok(auditItems.length >= 2)
    t.notMatch(JSON.stringify(auditItems), digest, 'audit and outbox items hold no digest either')
  })

  t.test('the secret is nowhere in the logs', async (t) => {
    t.ok(lines.length > 20, `logs were captured (${lines.length} lines)`)
    t.ok(lines.some((l) => l.includes('/api-keys')), 'including the requests that created and used keys')
    const all = lines.join('')
    t.notMatch(all, secretRandom)
    t.notMatch(all, prodKey.key.split('_').slice(3).join('_'))
    t.notMatch(all, digest)
  })
})
