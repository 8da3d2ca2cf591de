// Promise 6 (docs/RELIABILITY.md): operational faults. DynamoDB throttling and transient errors are
// retried with backoff by the service's own client (src/aws.ts: maxAttempts 4, the SDK's standard
// retry strategy) and surface as 503 + Retry-After, never 500, when they persist; a retried write
// whose first answer was lost is applied once and audited once; the health route reports the
// engines. Faults are injected by middleware on a client made by the production factory
// (createDocumentClient), passed to the app as `app.dynamo`, inside the SDK's retry loop, so the
// retries under test are the real ones. Load shedding under a stalled event loop is
// test/plugins/load-shedding.test.ts; table down → /health 503 is test/routes/health.test.ts.
import t from 'tap'
import { createServer } from 'node:net'
import { InternalServerError, ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import { build, eventually, expectProblem, startStack, type Teardown } from '../helper.js'
import { createDocumentClient } from '../../src/aws.js'
import type { LocalStack } from '../../src/local/stack.js'

interface Fault {
  /** Wire command names this fault applies to, e.g. GetItemCommand. */
  commands: string[]
  /** How many calls fail (Infinity: all). */
  times: number
  /** 'before': the request never reaches DynamoDB; 'after': it is applied, then the answer is lost. */
  when: 'before' | 'after'
  error: () => Error
}

function faultyDynamo (t: Teardown, stack: LocalStack) {
  const dynamo = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: stack.dynamoEndpoint })
  const calls: string[] = []
  let fault: Fault | undefined
  let injected = 0
  dynamo.middlewareStack.add((next, context) => async (args) => {
    const name = String(context.commandName)
    calls.push(name)
    const f = fault
    if (f === undefined || !f.commands.includes(name) || injected >= f.times) return await next(args)
    injected++
    if (f.when === 'after') await next(args)
    throw f.error()
  }, { step: 'finalizeRequest', priority: 'low', name: 'injectDynamoFaults' })
  t.teardown(() => dynamo.destroy())
  return {
    dynamo,
    inject (f: Fault) { fault = f; injected = 0; calls.length = 0 },
    clear () { fault = undefined },
    attempts: (command: string) => calls.filter((c) => c === command).length,
    injected: () => injected
  }
}

const throttled = () => new ProvisionedThroughputExceededException({ message: 'injected: throughput exceeded', $metadata: { httpStatusCode: 400 } })
const internal = () => new InternalServerError({ message: 'injected: internal error', $metadata: { httpStatusCode: 500 } })
const lostAnswer = () => Object.assign(new Error('injected: socket hang up after the request was sent'), { name: 'TimeoutError', code: 'ECONNRESET' })

t.test('DynamoDB throttling and transient errors', async (t) => {
  const stack = await startStack(t)
  const faults = faultyDynamo(t, stack)
  const ctx = await build(t, { stack, app: { dynamo: faults.dynamo } })
  const { app } = ctx
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  t.equal((await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'busy', environments: { dev: true, prod: false } } })).statusCode, 201)
  const etag = async () => String((await app.inject({ method: 'GET', url: '/features/busy', headers: { authorization: admin } })).headers.etag)
  const records = async () => (await app.audit.list('busy', { order: 'asc', limit: 100 })).items

  await t.test('a read throttled 3 times, then served: 200 after 4 attempts', async (t) => {
    faults.inject({ commands: ['GetItemCommand'], times: 3, when: 'before', error: throttled })
    const res = await app.inject({ method: 'POST', url: '/features/evaluate', headers: { authorization: admin }, payload: { feature: 'busy', environment: 'dev' } })
    faults.clear()
    t.equal(res.statusCode, 200, res.body)
    t.equal(faults.attempts('GetItemCommand'), 4, 'retried by the client: 3 throttled attempts, then the one that succeeded')
  })

  await t.test('transient 500s from DynamoDB, then served', async (t) => {
    faults.inject({ commands: ['GetItemCommand', 'QueryCommand'], times: 2, when: 'before', error: internal })
    const res = await app.inject({ method: 'GET', url: '/features/busy', headers: { authorization: admin } })
    faults.clear()
    t.equal(res.statusCode, 200, res.body)
    t.equal(faults.injected(), 2)
  })

  await t.test('a write throttled 3 times, then committed once', async (t) => {
    const before = Number(JSON.parse(await etag()))
    faults.inject({ commands: ['TransactWriteItemsCommand'], times: 3, when: 'before', error: throttled })
    const res = await app.inject({ method: 'PUT', url: '/features/busy/env/prod', headers: { authorization: admin, 'if-match': `"${before}"` }, payload: { enabled: true } })
    faults.clear()
    t.equal(res.statusCode, 200, res.body)
    t.equal(faults.attempts('TransactWriteItemsCommand'), 4, 'four attempts')
    t.equal(res.headers.etag, `"${before + 1}"`, 'one version step')
  })

  await t.test('a write applied whose answer was lost: the retry does not apply it twice', async (t) => {
    const before = Number(JSON.parse(await etag()))
    faults.inject({ commands: ['TransactWriteItemsCommand'], times: 1, when: 'after', error: lostAnswer })
    const res = await app.inject({ method: 'PUT', url: '/features/busy/env/prod', headers: { authorization: admin, 'if-match': `"${before}"` }, payload: { enabled: false } })
    faults.clear()
    t.equal(res.statusCode, 200, `the retry with the same ClientRequestToken succeeds: ${res.body}`)
    t.equal(faults.attempts('TransactWriteItemsCommand'), 2, 'sent twice')
    t.equal(await etag(), `"${before + 1}"`, 'applied once: one version step')
    const rs = await eventually(async () => {
      const all = await records()
      return all.length >= 3 && await app.audit.countOutbox() === 0 ? all : undefined
    }, { what: 'the audit records' })
    t.same(rs.map((r) => r.action), ['FEATURE_CREATED', 'ENVIRONMENT_UPDATED', 'ENVIRONMENT_UPDATED'], 'one record per change, none doubled by the retries')
  })

  await t.test('persistent throttling: 503 with Retry-After, never 500, nothing written', async (t) => {
    const version = await etag()
    const outbox = await app.audit.countOutbox()
    faults.inject({ commands: ['GetItemCommand', 'QueryCommand', 'TransactWriteItemsCommand', 'BatchGetItemCommand'], times: Infinity, when: 'before', error: throttled })
    const cases = [
      { what: 'evaluate', method: 'POST' as const, url: '/features/evaluate', payload: { feature: 'busy', environment: 'dev' } },
      { what: 'read', method: 'GET' as const, url: '/features/busy' },
      { what: 'write', method: 'PUT' as const, url: '/features/busy/env/dev', payload: { enabled: false }, headers: { 'if-match': '*' } },
      { what: 'create', method: 'POST' as const, url: '/features', payload: { name: 'never-made', environments: { dev: true } } }
    ]
    for (const c of cases) {
      const res = await app.inject({ method: c.method, url: c.url, headers: { authorization: admin, ...c.headers }, ...(c.payload !== undefined ? { payload: c.payload } : {}) })
      const p = expectProblem(t, res, 503, c.what)
      t.match(String(res.headers['retry-after']), /^\d+$/, `${c.what}: Retry-After`)
      t.notMatch(p.detail, /Provisioned|injected|Throughput/, `${c.what}: no internal detail`)
    }
    t.ok(faults.injected() >= 4 * cases.length - 4, `${faults.injected()} throttled attempts (4 per call: the client retried before giving up)`)
    faults.clear()
    t.equal(await etag(), version, 'nothing written')
    t.equal((await app.inject({ method: 'GET', url: '/features/never-made', headers: { authorization: admin } })).statusCode, 404)
    t.equal(await app.audit.countOutbox(), outbox, 'no audit event')
  })

  // DynamoDB cancels a transaction when one of its items or indexes is throttled; the SDK does not
  // retry a TransactionCanceledException, so the store does (src/repositories/store.ts).
  const throttledTransaction = () => new TransactionCanceledException({
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]',
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: [{ Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity for one or more global secondary indexes' }, { Code: 'None' }]
  })

  // DynamoDB cancels a transaction that overlaps another one on the same item (TransactionConflict;
  // dynalite waits instead, so it is injected): flag writes re-read and retry on fresh state.
  const conflicted = () => new TransactionCanceledException({
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]',
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: [{ Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }, { Code: 'None' }]
  })

  await t.test('a transaction cancelled by a conflicting transaction is retried on fresh state', async (t) => {
    const version = await etag()
    faults.inject({ commands: ['TransactWriteItemsCommand'], times: 2, when: 'before', error: conflicted })
    const res = await app.inject({ method: 'PUT', url: '/features/busy/env/qa', headers: { authorization: admin, 'if-match': version }, payload: { enabled: true } })
    faults.clear()
    t.equal(res.statusCode, 200, res.body)
    t.equal(faults.attempts('TransactWriteItemsCommand'), 3, 'retried')
    t.equal(await etag(), `"${Number(JSON.parse(version)) + 1}"`, 'committed once')
  })

  await t.test('conflicting transactions that never end: 409 (flag writes) or 503 (others), nothing written', async (t) => {
    const version = await etag()
    faults.inject({ commands: ['TransactWriteItemsCommand'], times: Infinity, when: 'before', error: conflicted })
    const flagWrite = await app.inject({ method: 'PATCH', url: '/features/busy', headers: { authorization: admin, 'if-match': '*' }, payload: { description: 'contended' } })
    const otherWrite = await app.inject({ method: 'POST', url: '/environments', headers: { authorization: admin }, payload: { name: 'contended' } })
    faults.clear()
    expectProblem(t, flagWrite, 409, 'flag write after its retries')
    expectProblem(t, otherWrite, 503, 'environment registration')
    t.match(String(otherWrite.headers['retry-after']), /^\d+$/, 'Retry-After')
    t.equal(await etag(), version, 'nothing written')
  })

  await t.test('a transaction cancelled for throttling twice, then committed', async (t) => {
    const version = await etag()
    faults.inject({ commands: ['TransactWriteItemsCommand'], times: 2, when: 'before', error: throttledTransaction })
    const res = await app.inject({ method: 'PUT', url: '/features/busy/env/dev', headers: { authorization: admin, 'if-match': version }, payload: { enabled: true } })
    faults.clear()
    t.equal(res.statusCode, 200, res.body)
    t.equal(faults.attempts('TransactWriteItemsCommand'), 3, 'retried with backoff')
    t.equal(await etag(), `"${Number(JSON.parse(version)) + 1}"`, 'committed once')
  })

  await t.test('a transaction cancelled for throttling every time is a 503 with Retry-After, not a 500', async (t) => {
    const version = await etag()
    faults.inject({ commands: ['TransactWriteItemsCommand'], times: Infinity, when: 'before', error: throttledTransaction })
    const res = await app.inject({ method: 'PUT', url: '/features/busy/env/dev', headers: { authorization: admin, 'if-match': version }, payload: { enabled: false } })
    faults.clear()
    expectProblem(t, res, 503, 'throttled transaction')
    t.match(String(res.headers['retry-after']), /^\d+$/, 'Retry-After')
    t.equal(faults.attempts('TransactWriteItemsCommand'), 4, 'four attempts before giving up')
    t.equal(await etag(), version, 'nothing written')
  })
})

t.test('health reports each engine', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const stack = await startStack(t)
  const sqs = new SQSClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
  t.teardown(() => sqs.destroy())
  const ctx = await build(t, { stack, app: { sqs } })
  const res = await ctx.app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200, 'the queue being down does not take the API down: events wait in the outbox')
  t.match(res.json(), { status: 'degraded', checks: { table: { status: 'ok' }, queue: { status: 'error', error: String } } })
  t.notMatch(res.body, /127\.0\.0\.1|ECONNREFUSED/, 'no internal address in the answer')
})
