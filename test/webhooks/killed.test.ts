// The process is SIGKILLed between the commit and the delivery: a dev server whose audit publish
// never returns (test/fixtures/never-publish-server.ts) commits flag changes and dies; the
// service restarts on the same data, and the outbox sweeper, the audit consumer's fan-out and the
// delivery worker deliver every change that was committed to the subscriber, signed, once each.
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { ADMIN, eventually, testEnv } from '../helper.js'
import app from '../../src/app.js'
import { serverOptions } from '../../src/core.js'
import { startLocalStack } from '../../src/local/stack.js'
import { createDocumentClient } from '../../src/aws.js'
import { featureKey } from '../../src/repositories/keys.js'
import { kill9, startChild, waitForOutput } from '../reliability/support.js'
import { buildWithWebhooks, startReceiver } from './support.js'

const TABLE = 'switchyard-test'
const CHANGES = 6

t.test('SIGKILL after commit, before publish: every committed change is delivered after the restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-webhook-kill-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const receiver = await startReceiver(t)

  // Life 1: subscribe.
  let secret = ''
  {
    const stack = await startLocalStack({ dynamoPath: join(dataDir, 'dynamodb'), tableName: TABLE })
    const server = Fastify(serverOptions('silent'))
    await server.register(app, { env: testEnv(stack, { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' }), docsUi: false })
    const login = await server.inject({ method: 'POST', url: '/auth/login', payload: ADMIN })
    const created = await server.inject({ method: 'POST', url: '/webhooks', headers: { authorization: `Bearer ${login.json().access_token as string}` }, payload: { url: receiver.url, filter: { flags: Array.from({ length: CHANGES }, (_, i) => `killed-${i}`) } } })
    t.equal(created.statusCode, 201, created.body)
    secret = created.json().secret
    receiver.secrets.push(secret)
    await server.close()
    await stack.close()
  }

  // Life 2: commit, then die before the audit event is published.
  const committed: string[] = []
  {
    const child = startChild(t, 'test/fixtures/never-publish-server.ts', {
      SWITCHYARD_FAULT: 'never-publish', DATA_DIR: dataDir, TABLE_NAME: TABLE, JWT_SECRET: 'k'.repeat(48), LOG_LEVEL: 'silent', BCRYPT_ROUNDS: '4'
    })
    const info = JSON.parse(await waitForOutput(child, /^(\{.*\})$/m)) as { url: string; dynamoEndpoint: string }
    const login = await fetch(`${info.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    const token = (await login.json() as { access_token: string }).access_token
    const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: info.dynamoEndpoint })
    t.teardown(() => doc.destroy())
    const answers = Array.from({ length: CHANGES }, async (_, i) => await fetch(`${info.url}/features`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: `killed-${i}`, environments: { dev: true } })
    }).then((r) => r.status, () => 'connection lost'))
    // Every change has committed (its flag exists) and hangs in the publish: kill now.
    await eventually(async () => {
      for (let i = 0; i < CHANGES; i++) {
        const got = await doc.send(new GetCommand({ TableName: TABLE, Key: featureKey(`killed-${i}`), ConsistentRead: true }))
        if (got.Item === undefined) return false
      }
      return true
    }, { what: 'the commits' })
    for (let i = 0; i < CHANGES; i++) committed.push(`killed-${i}`)
    await kill9(child)
    t.same(await Promise.all(answers), Array(CHANGES).fill('connection lost'), 'no change was acknowledged')
  }
  t.equal(receiver.received.length, 0, 'nothing delivered before the restart')

  // Life 3: a normal restart on the same data. The sweeper re-sends the outbox.
  const stack = await startLocalStack({ dynamoPath: join(dataDir, 'dynamodb'), tableName: TABLE })
  t.teardown(() => stack.close())
  const ctx = await buildWithWebhooks(t, { build: { stack }, env: { OUTBOX_SWEEP_AGE_MS: '0' } })
  await eventually(async () => {
    await ctx.hooks.maintain()
    return new Set(receiver.received.map((r) => (r.payload as { data: { feature: string } }).data.feature)).size === CHANGES
  }, { timeoutMs: 60_000, intervalMs: 500, what: 'every committed change delivered' })
  t.same(receiver.received.map((r) => (r.payload as { data: { feature: string } }).data.feature).sort(), committed.sort(), 'each committed change, once')
  t.ok(receiver.received.every((r) => r.verifiedWith.length === 1 && r.verifiedWith[0] === secret), 'all signed with the subscription secret')
  t.ok(receiver.received.every((r) => (r.payload as { type: string }).type === 'FEATURE_CREATED'))
})
