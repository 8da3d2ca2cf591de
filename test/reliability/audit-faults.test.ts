// Promise 2 (docs/RELIABILITY.md): no lost or doubled audit events under faults. Over a thousand
// mixed changes (flags, environment configs, segments, environments, users, roles, API keys, and
// refused changes in between) run while:
//   - a share of the app's SendMessageBatch calls is rejected (an SQS client passed as `app.sqs`),
//     and a share of the sweeper's too;
//   - the consumer fails a share of messages before writing their record, and a share after
//     writing it (the message comes back: a duplicate), and some batches are delivered twice;
//   - the local stack is restarted mid-run (the in-memory queue and its in-flight messages are lost);
//   - a dev server process commits changes but is SIGKILLed before publishing any of them
//     (test/fixtures/never-publish-server.ts), then the service restarts normally.
// Every request carries its own X-Request-Id, which the audit record keeps. Afterwards: exactly one
// audit record per request that was answered 2xx (with the version that request was answered),
// none for a refused request, none for a change the killed process never committed, the outbox
// and the DLQ empty. The seed of the faults is printed (AUDIT_FAULT_SEED reproduces the choices).
import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { QueryCommand } from '@aws-sdk/lib-dynamodb'
import { build, eventually, ADMIN } from '../helper.js'
import { createDocumentClient } from '../../src/aws.js'
import { loadConfig } from '../../src/config.js'
import { startLocalStack, type LocalStack } from '../../src/local/stack.js'
import { startSqsPoller } from '../../src/local/workers.js'
import { createWorkers, type Workers } from '../../src/workers/runtime.js'
import type { SqsEvent, SqsBatchResponse } from '../../src/audit/consumer.js'
import { faultySqs, kill9, scanAll, seededRandom, seedFrom, startChild, waitForOutput } from './support.js'

const TABLE = 'switchyard-test'
/** Committed changes to drive, split over the three in-process lives of the service. */
const TARGET = Number(process.env.AUDIT_FAULT_CHANGES ?? 1050)
const SEND_FAILURE_SHARE = 0.25
const SWEEP_FAILURE_SHARE = 0.1
const CONSUMER_FAIL_BEFORE_SHARE = 0.15
const CONSUMER_FAIL_AFTER_SHARE = 0.1
const DUPLICATE_BATCH_SHARE = 0.1
const KILL_CREATES = 40
const WORKERS = 6
const ENV = { OUTBOX_SWEEP_AGE_MS: '500', LOGIN_RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PER_MINUTE: '1000000' }

interface Expected { action: string; subject: string; version?: number }
interface FlagModel { version: number; envs: Set<string> }

const stats = { requests: 0, sendRejected: 0, sweepRejected: 0, failBefore: 0, failAfter: 0, duplicateBatches: 0, sweeps: 0, resent: 0, killCommitted: 0, killLost: 0, slowestBatchMs: 0 }

// over a thousand changes and three restarts: more than the default 120 s per file on a loaded 2-core machine.
t.setTimeout(600_000)

t.test('no audit event lost or doubled under faults', async (t) => {
  const seed = seedFrom(t, 'AUDIT_FAULT_SEED')
  const random = seededRandom(seed)
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-audit-faults-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  const committed = new Map<string, Expected>()
  const refused = new Map<string, string>()
  const serverErrors: string[] = []
  // The workload's view of the data, so most requests are meant to succeed (each worker owns its flags).
  const flags = new Map<string, FlagModel>()
  const segments = new Map<string, number>()
  const environments = ['dev', 'qa', 'staging', 'prod']
  const users: string[] = []
  const apiKeys: string[] = []
  let seq = 0

  /** One life of the service on dataDir: stack, app (faulty publisher), workers, faulty consumer, sweeper loop. */
  async function life (t: Test, name: string, work: (app: FastifyInstance, admin: string) => Promise<void>): Promise<void> {
    // Visibility timeout 5 s (the local default): long enough that a batch still being processed on
    // a loaded machine is not redelivered; redelivery of failed messages still happens in-run.
    const stack: LocalStack = await startLocalStack({ dynamoPath: join(dataDir, 'dynamodb'), tableName: TABLE, visibilityTimeoutSeconds: 5 })
    t.teardown(() => stack.close())
    const appSqs = faultySqs(t, stack.sqsEndpoint, SEND_FAILURE_SHARE, random)
    const sweeperSqs = faultySqs(t, stack.sqsEndpoint, SWEEP_FAILURE_SHARE, random)
    const ctx = await build(t, { stack, env: ENV, app: { sqs: appSqs.sqs } })
    const consumerErrors: string[] = []
    const log = {
      info () {},
      warn () {},
      error (obj: { err?: Error; messageId?: string }, msg: string) { consumerErrors.push(`${msg}: ${obj.err?.name ?? ''} ${obj.err?.message ?? ''}`) }
    }
    const workers: Workers = createWorkers({ config: loadConfig(ctx.env), log, sqs: sweeperSqs.sqs })
    const history = new Map<string, string[]>()
    const note = (id: string, what: string) => { history.set(id, [...(history.get(id) ?? []), `${Math.round(performance.now())}ms ${what}`]) }
    // Counted here: local SQS returns no ApproximateReceiveCount to a MessageSystemAttributeNames
    // request. Faults are injected on the first two receives only, so no message is failed by
    // this test as often as the redrive policy's 5 receives (that would make it poison, by design).
    const receives = new Map<string, number>()
    t.teardown(() => workers.destroy())

    async function faultyConsumer (event: SqsEvent): Promise<SqsBatchResponse> {
      const started = performance.now()
      try {
        return await consumeWithFaults(event)
      } finally {
        stats.slowestBatchMs = Math.max(stats.slowestBatchMs, Math.round(performance.now() - started))
      }
    }
    async function consumeWithFaults (event: SqsEvent): Promise<SqsBatchResponse> {
      const failed: string[] = []
      const receive = new Map(event.Records.map((r) => {
        const n = (receives.get(r.messageId) ?? 0) + 1
        receives.set(r.messageId, n)
        return [r.messageId, n]
      }))
      const early = (id: string) => (receive.get(id) ?? 1) < 3
      const deliver = event.Records.filter((r) => {
        if (early(r.messageId) && random() < CONSUMER_FAIL_BEFORE_SHARE) { stats.failBefore++; failed.push(r.messageId); note(r.messageId, `receive ${receive.get(r.messageId) ?? 0}: fail before`); return false }
        note(r.messageId, `receive ${receive.get(r.messageId) ?? 0}: deliver`)
        return true
      })
      const result = await workers.consume({ Records: deliver })
      for (const f of result.batchItemFailures) note(f.itemIdentifier, 'consumer reported a failure')
      if (random() < DUPLICATE_BATCH_SHARE) {
        stats.duplicateBatches++
        await workers.consume({ Records: deliver })
      }
      for (const r of deliver) {
        // Written, then the function "crashed" before SQS heard of it: the message comes back.
        if (early(r.messageId) && random() < CONSUMER_FAIL_AFTER_SHARE) { stats.failAfter++; failed.push(r.messageId); note(r.messageId, 'fail after') }
      }
      return { batchItemFailures: [...result.batchItemFailures, ...failed.map((itemIdentifier) => ({ itemIdentifier }))] }
    }
    const poller = startSqsPoller({ sqs: workers.sqs, queueUrl: stack.queueUrl, handler: faultyConsumer, waitTimeSeconds: 1 })
    let sweeping = true
    const sweeper = (async () => {
      // eslint-disable-next-line no-unmodified-loop-condition -- cleared by the test once the load stops
      while (sweeping) {
        try {
          const r = await workers.sweep()
          stats.sweeps++
          stats.resent += r.sent
        } catch {}
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    })()
    try {
      const admin = await ctx.loginAs('ADMIN')
      await work(ctx.app, admin)
    } finally {
      sweeping = false
      await sweeper
      await poller.close()
      stats.sendRejected += appSqs.rejected()
      stats.sweepRejected += sweeperSqs.rejected()
      const dlq = await workers.sqs.send(new GetQueueAttributesCommand({ QueueUrl: stack.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))
      const inDlq = Number(dlq.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(dlq.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      if (inDlq > 0) {
        const got = await workers.sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.dlqUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }))
        for (const m of got.Messages ?? []) t.comment(`in the DLQ: ${m.MessageId ?? ''} ${(m.Body ?? '').slice(0, 200)}\n  history: ${(history.get(m.MessageId ?? '') ?? []).join('\n  ')}`)
      }
      t.equal(inDlq, 0, `${name}: the DLQ is empty`)
      t.same(consumerErrors, [], `${name}: the consumer never failed on its own`)
    }
  }

  /** Drive mixed changes until `target` more requests were committed. */
  async function drive (app: FastifyInstance, admin: string, target: number): Promise<void> {
    const goal = committed.size + target
    async function send (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, opts: { payload?: unknown; headers?: Record<string, string>; auth?: boolean } = {}, expected?: Omit<Expected, 'version'>) {
      ++seq
      const res = await app.inject({
        method,
        url,
        headers: { ...(opts.auth !== false ? { authorization: admin } : {}), ...opts.headers },
        ...(opts.payload !== undefined ? { payload: opts.payload as object } : {})
      })
      // The server's own id for the request (a client's X-Request-Id never reaches the audit log).
      const requestId = String(res.headers['x-request-id'])
      stats.requests++
      if (res.statusCode >= 500) serverErrors.push(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 200)}`)
      else if (res.statusCode < 300) {
        if (expected !== undefined) {
          const etag = res.headers.etag !== undefined && /^"\d+"$/.test(String(res.headers.etag)) ? Number(JSON.parse(String(res.headers.etag))) : undefined
          // Flag writes answer the aggregate's new version as the ETag; the record's `after` carries it.
          const versioned = ['FEATURE_CREATED', 'FEATURE_UPDATED', 'ENVIRONMENT_UPDATED'].includes(expected.action)
          committed.set(requestId, { ...expected, ...(versioned && etag !== undefined ? { version: etag } : {}) })
        }
      } else refused.set(requestId, `${method} ${url} → ${res.statusCode}`)
      return Object.assign(res, { requestId })
    }

    async function worker (w: number): Promise<void> {
      const rnd = seededRandom(Math.floor(random() * 2 ** 31))
      const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]
      const mine: string[] = []
      const mySegments: string[] = []
      let n = 0
      while (committed.size < goal) {
        n++
        const r = rnd()
        const flagName = mine.length > 0 ? pick(mine) : undefined
        const flag = flagName !== undefined ? flags.get(flagName) : undefined
        if (flag === undefined || flagName === undefined || r < 0.14) {
          const name = flagName !== undefined && rnd() < 0.08 ? flagName : `f${w}-${seq}-${n}`
          const envs = environments.filter(() => rnd() < 0.5)
          const res = await send('POST', '/features', { payload: { name, environments: Object.fromEntries(envs.map((e) => [e, rnd() < 0.5])) } }, { action: 'FEATURE_CREATED', subject: name })
          if (res.statusCode === 201) { flags.set(name, { version: 1, envs: new Set(envs) }); mine.push(name) }
        } else if (r < 0.28) {
          const stale = rnd() < 0.1
          const blind = !stale && rnd() < 0.05
          const res = await send('PATCH', `/features/${flagName}`, { payload: { description: `d${seq}` }, headers: blind ? {} : { 'if-match': `"${stale ? flag.version - 1 : flag.version}"` } }, { action: 'FEATURE_UPDATED', subject: flagName })
          if (res.statusCode === 200) flag.version = res.json().version as number
        } else if (r < 0.56) {
          const env = pick(environments)
          const stale = flag.envs.has(env) && rnd() < 0.1
          const headers: Record<string, string> = flag.envs.has(env) ? { 'if-match': `"${stale ? flag.version - 1 : flag.version}"` } : {}
          const res = await send('PUT', `/features/${flagName}/env/${env}`, { payload: { enabled: rnd() < 0.5, targets: [{ variant: 'on', values: [`k${seq}`] }] }, headers }, { action: 'ENVIRONMENT_UPDATED', subject: flagName })
          if (res.statusCode === 200) { flag.version = res.json().version as number; flag.envs.add(env) }
        } else if (r < 0.62) {
          const env = pick(environments)
          const res = await send('DELETE', `/features/${flagName}/env/${env}`, { headers: { 'if-match': flag.envs.has(env) ? `"${flag.version}"` : '*' } }, { action: 'ENVIRONMENT_DELETED', subject: flagName })
          if (res.statusCode === 204) { flag.version++; flag.envs.delete(env) }
        } else if (r < 0.66) {
          const res = await send('DELETE', `/features/${flagName}`, { headers: { 'if-match': `"${flag.version}"` } }, { action: 'FEATURE_DELETED', subject: flagName })
          if (res.statusCode === 204) { flags.delete(flagName); mine.splice(mine.indexOf(flagName), 1) }
        } else if (r < 0.74) {
          const key = mySegments.length > 0 && rnd() < 0.6 ? pick(mySegments) : undefined
          if (key === undefined) {
            const fresh = `s${w}-${seq}`
            const res = await send('POST', '/segments', { payload: { key: fresh, included: [`u${seq}`], excluded: [], rules: [] } }, { action: 'SEGMENT_CREATED', subject: `segment:${fresh}` })
            if (res.statusCode === 201) { segments.set(fresh, 1); mySegments.push(fresh) }
          } else if (rnd() < 0.7) {
            const res = await send('PUT', `/segments/${key}`, { payload: { included: [`u${seq}`], excluded: [], rules: [] }, headers: { 'if-match': `"${segments.get(key) ?? 1}"` } }, { action: 'SEGMENT_UPDATED', subject: `segment:${key}` })
            if (res.statusCode === 200) segments.set(key, res.json().version as number)
          } else {
            const res = await send('DELETE', `/segments/${key}`, { headers: { 'if-match': `"${segments.get(key) ?? 1}"` } }, { action: 'SEGMENT_DELETED', subject: `segment:${key}` })
            if (res.statusCode === 204) { segments.delete(key); mySegments.splice(mySegments.indexOf(key), 1) }
          }
        } else if (r < 0.77) {
          const name = rnd() < 0.2 ? pick(environments) : `e${w}-${seq}`
          const res = await send('POST', '/environments', { payload: { name } }, { action: 'ENVIRONMENT_REGISTERED', subject: `environment:${name}` })
          if (res.statusCode === 201) environments.push(name)
        } else if (r < 0.82) {
          if (users.length === 0 || rnd() < 0.5) {
            const email = `user${w}-${seq}@example.com`
            const res = await send('POST', '/auth/signup', { auth: false, payload: { username: `user${seq}`, email, password: 'purple monkey dishwasher 42' } }, { action: 'USER_SIGNED_UP', subject: `user:${email}` })
            if (res.statusCode === 201) users.push(email)
          } else {
            const email = pick(users)
            await send('PUT', `/users/${encodeURIComponent(email)}/role`, { payload: { role: rnd() < 0.5 ? 'ADMIN' : 'CLIENT' } }, { action: 'USER_ROLE_CHANGED', subject: `user:${email}` })
          }
        } else if (r < 0.88) {
          if (apiKeys.length === 0 || rnd() < 0.6) {
            const res = await send('POST', '/api-keys', { payload: { name: `svc-${seq}`, environment: pick(['dev', 'qa', 'staging', 'prod']) } })
            if (res.statusCode === 201) {
              const id = res.json().id as string
              // The subject is known only from the answer.
              committed.set(res.requestId, { action: 'API_KEY_CREATED', subject: `apikey:${id}` })
              apiKeys.push(id)
            }
          } else {
            const id = apiKeys.splice(Math.floor(rnd() * apiKeys.length), 1)[0]
            await send('DELETE', `/api-keys/${id}`, {}, { action: 'API_KEY_REVOKED', subject: `apikey:${id}` })
          }
        } else {
          // Refused changes: invalid body, missing If-Match, unknown flag, duplicate names.
          const kind = Math.floor(rnd() * 5)
          if (kind === 0) await send('PUT', `/features/${flagName}/env/dev`, { payload: { enabled: 'yes' }, headers: { 'if-match': '*' } })
          else if (kind === 1) await send('POST', '/features', { payload: { name: 'Not A Slug', environments: {} } })
          else if (kind === 2) await send('DELETE', `/features/${flagName}`)
          else if (kind === 3) await send('PATCH', `/features/no-such-${seq}`, { payload: { description: 'x' }, headers: { 'if-match': '*' } })
          else await send('POST', '/environments', { payload: { name: 'dev' } })
        }
      }
    }
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)))
  }

  await t.test('life 1: faulty publisher, consumer and sweeper', async (t) => {
    await life(t, 'life 1', async (app, admin) => { await drive(app, admin, Math.round(TARGET * 0.45)) })
    t.same(serverErrors, [], `life 1: no request answered 5xx under the faults (${committed.size} changes committed)`)
    t.ok(stats.sendRejected > 0 && stats.failBefore > 0 && stats.failAfter > 0, `life 1: the faults did happen: ${stats.sendRejected} sends rejected, ${stats.failBefore} + ${stats.failAfter} consumer failures`)
  })

  await t.test('life 2: the local stack was restarted (queue lost), faults continue', async (t) => {
    const before = committed.size
    await life(t, 'life 2', async (app, admin) => { await drive(app, admin, Math.round(TARGET * 0.35)) })
    t.same(serverErrors, [], `life 2: no request answered 5xx after the restart (${committed.size} changes committed)`)
    t.ok(committed.size > before, `life 2: changes were committed on the restarted stack (${committed.size - before})`)
  })

  const killed = new Set<string>()
  await t.test('a dev server is SIGKILLed between commit and publish', async (t) => {
    const child = startChild(t, 'test/fixtures/never-publish-server.ts', {
      SWITCHYARD_FAULT: 'never-publish',
      DATA_DIR: dataDir,
      TABLE_NAME: TABLE,
      JWT_SECRET: 'k'.repeat(48),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      BCRYPT_ROUNDS: '4',
      LOG_LEVEL: 'silent',
      ...ENV
    })
    const info = JSON.parse(await waitForOutput(child, /^(\{.*\})$/m)) as { url: string; dynamoEndpoint: string }
    const login = await fetch(`${info.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    t.equal(login.status, 200)
    const token = (await login.json() as { access_token: string }).access_token
    const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: info.dynamoEndpoint })
    t.teardown(() => doc.destroy())
    // Staggered, so that at the kill some changes have committed, some are in progress and some
    // were never received.
    const inFlight = Array.from({ length: KILL_CREATES }, async (_, i) => {
      killed.add(`killed-${i}`)
      await new Promise((resolve) => setTimeout(resolve, i * 15))
      return await fetch(`${info.url}/features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ name: `killed-${i}`, environments: { dev: true, prod: false } })
      }).then((r) => r.status, () => 'no answer')
    })
    // Kill once about half of them have committed (their outbox items exist): the others are
    // still being processed, so some changes are committed and some never are.
    await eventually(async () => {
      const res = await doc.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': 'OUTBOX' }, ConsistentRead: true }))
      return (res.Items ?? []).filter((i) => String((i.event as { subject?: string }).subject).startsWith('killed-')).length >= KILL_CREATES / 2
    }, { timeoutMs: 30_000, intervalMs: 5, what: 'half of the creates to commit' })
    await kill9(child)
    const answers = await Promise.all(inFlight)
    t.equal(answers.filter((a) => typeof a === 'number' && a < 300).length, 0, 'no change was acknowledged: each was stopped between commit and publish, or before commit')
  })

  // The killed process answered nothing, so its creates are known by their flag, not by the
  // request id the server gave them: `kill-N` stands for the create of `killed-N`.
  const idOf = (r: Record<string, unknown>): string | undefined =>
    r.action === 'FEATURE_CREATED' && typeof r.subject === 'string' && r.subject.startsWith('killed-') ? `kill-${r.subject.slice('killed-'.length)}` : r.requestId as string | undefined

  await t.test('life 3: restarted normally, the sweeper delivers what the dead process committed', async (t) => {
    await life(t, 'life 3', async (app, admin) => {
      for (const name of killed) {
        const got = await app.inject({ method: 'GET', url: `/features/${name}`, headers: { authorization: admin } })
        if (got.statusCode === 200) {
          stats.killCommitted++
          committed.set(`kill-${name.slice('killed-'.length)}`, { action: 'FEATURE_CREATED', subject: name, version: 1 })
          flags.set(name, { version: 1, envs: new Set(['dev', 'prod']) })
        } else {
          stats.killLost++
          refused.set(`kill-${name.slice('killed-'.length)}`, 'killed before commit')
        }
      }
      t.ok(stats.killCommitted > 0 && stats.killLost >= 0, `${stats.killCommitted} committed before the kill, ${stats.killLost} not`)
      await drive(app, admin, Math.max(0, TARGET - committed.size))
      // Drain: everything committed reaches the log, through retries, redeliveries and sweeps.
      const records = await eventually(async () => {
        if (await app.audit.countOutbox() !== 0) return undefined
        const rs = (await scanAll(app.dynamo, TABLE)).filter((i) => i.entity === 'AuditLog')
        const ids = new Set(rs.map(idOf))
        return [...committed.keys()].every((id) => ids.has(id)) ? rs : undefined
      }, { timeoutMs: 120_000, intervalMs: 500, what: 'every committed change in the audit log and an empty outbox' })

      t.same(serverErrors, [], 'no request answered 5xx')
      t.ok(committed.size >= Math.min(TARGET, 1000), `${committed.size} committed changes`)
      const byRequest = new Map<string, Array<Record<string, unknown>>>()
      for (const r of records) {
        const id = idOf(r)
        if (id === undefined) continue
        byRequest.set(id, [...(byRequest.get(id) ?? []), r])
      }
      const missing = [...committed.keys()].filter((id) => !byRequest.has(id))
      const doubled = [...byRequest].filter(([, rs]) => rs.length > 1).map(([id]) => id)
      const forRefused = [...refused.keys()].filter((id) => byRequest.has(id))
      const unknown = [...byRequest.keys()].filter((id) => !committed.has(id) && !refused.has(id))
      const wrong = [...committed].filter(([id, e]) => {
        const r = byRequest.get(id)?.[0]
        if (r === undefined) return false
        if (r.action !== e.action || `${r.subject as string}` !== e.subject) return true
        return e.version !== undefined && (r.after as { version?: number } | null)?.version !== e.version
      }).map(([id]) => id)
      t.same(missing, [], 'no committed change without its audit record')
      t.same(doubled, [], 'no change with two records')
      t.same(forRefused, [], 'no record for a refused change, or one the killed process never committed')
      t.same(unknown, [], 'no record for a request that was never made')
      t.same(wrong, [], 'each record names the action, subject and version its request was answered with')
      const system = records.filter((r) => r.requestId === undefined)
      // The first start creates the ADMIN_EMAIL account (audited once); the default environments are seed data.
      t.same(system.map((r) => `${r.action as string} ${r.subject as string}`), [`USER_SIGNED_UP user:${ADMIN.email}`], 'the first-start record exists once, despite three restarts')
      t.equal(records.length, committed.size + system.length, 'records = committed changes + first-start records')
      const summary = { seed, committed: committed.size, refused: refused.size, records: records.length, ...stats }
      t.comment(`audit under faults: ${JSON.stringify(summary)}`)
    })
  })
})
