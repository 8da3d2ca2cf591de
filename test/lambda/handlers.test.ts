// The four Lambda entry points, imported as Lambda imports them (configuration from process.env
// at module load, init before the first event) and invoked in-process with real event documents
// against the local engines: API Gateway HTTP API v2 requests, an SQS batch, an EventBridge
// scheduled event.
import t from 'tap'
import { PutCommand } from '@aws-sdk/lib-dynamodb'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'
import { startStack, testEnv, ADMIN, eventually } from '../helper.js'
import { createDocumentClient } from '../../src/aws.js'
import { createSqsClient } from '../../src/aws-sqs.js'
import { createAuditRepository } from '../../src/repositories/audit-repository.js'
import { outboxItem } from '../../src/repositories/store.js'
import { buildAuditEvent } from '../../src/domain/audit.js'
import { startSqsPoller } from '../../src/local/workers.js'
import { loadTemplate } from '../../scripts/build-lambda.js'
import { httpEvent, lambdaContext, scheduledEvent, sqsEvent, withProcessEnv, type HttpRequest } from './events.js'

const stack = await startStack(t)
const env = testEnv(stack)
// The workers get no JWT secret at all: their config must not need one.
const { JWT_SECRET: _jwt, ADMIN_EMAIL: _e, ADMIN_PASSWORD: _p, ...workerEnv } = env

const api = await withProcessEnv(env, () => import('../../src/lambda/api.js'))
t.teardown(() => api.app.close())
const evaluate = await withProcessEnv(env, () => import('../../src/lambda/evaluate.js'))
t.teardown(() => evaluate.app.close())
const consumer = await withProcessEnv(workerEnv, () => import('../../src/lambda/audit-consumer.js'))
t.teardown(() => consumer.workers.destroy())
const maintenance = await withProcessEnv(workerEnv, () => import('../../src/lambda/maintenance.js'))
t.teardown(() => maintenance.workers.destroy())

const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: stack.dynamoEndpoint })
t.teardown(() => doc.destroy())
const audit = createAuditRepository({ doc, tableName: env.TABLE_NAME })
// The handlers' context type comes from @types/aws-lambda, which is not installed; the document is real.
const context = lambdaContext as never

interface LambdaHttpResponse { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded?: boolean; cookies?: string[] }

/** Route the request the way template.yaml does and invoke the function it lands on. */
async function invoke (req: HttpRequest, expectFunction: 'ApiFunction' | 'EvaluateFunction') {
  const { event, functionName } = httpEvent(req)
  if (functionName !== expectFunction) throw new Error(`${req.method} ${req.path} routes to ${functionName}, expected ${expectFunction}`)
  const handler = functionName === 'ApiFunction' ? api.handler : evaluate.handler
  const res = await handler(event, context) as LambdaHttpResponse
  return { event, res, json: () => JSON.parse(res.body) as Record<string, unknown> }
}

let token = ''

t.test('ApiFunction: login with a base64-encoded body (isBase64Encoded: true)', async (t) => {
  const { event, res, json } = await invoke({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: { email: ADMIN.email, password: ADMIN.password }, base64: true }, 'ApiFunction')
  t.equal(event.routeKey, 'POST /auth/login', 'sign-in has its own route (its own throttle)')
  t.equal(event.pathParameters, undefined)
  t.equal(event.isBase64Encoded, true)
  t.equal(res.statusCode, 200, res.body)
  t.equal(typeof res.headers['content-type'], 'string')
  t.match(res.headers['content-type'], /^application\/json/)
  t.equal(res.isBase64Encoded, false)
  const body = json()
  t.equal(body.token_type, 'Bearer')
  token = String(body.access_token)
  t.ok(token.split('.').length === 3, 'a JWT')

  const wrong = await invoke({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: { email: ADMIN.email, password: 'not the password at all' } }, 'ApiFunction')
  t.equal(wrong.res.statusCode, 401)
  t.match(wrong.res.headers['content-type'], /^application\/problem\+json/)
  t.equal(wrong.json().requestId, (wrong.event.requestContext as { requestId: string }).requestId, 'the API Gateway request id is the request id (logs, problems)')
})

t.test('ApiFunction: create a flag, read it through a path parameter, list with a query string', async (t) => {
  const created = await invoke({ method: 'POST', path: '/features', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: { name: 'lambda-checkout', description: 'created through the Lambda handler', environments: { dev: true, prod: false } } }, 'ApiFunction')
  t.equal(created.event.routeKey, 'ANY /features')
  t.equal(created.res.statusCode, 201, created.res.body)
  t.equal(created.res.headers.etag, '"1"')
  t.equal(created.res.headers.location, '/features/lambda-checkout')

  const got = await invoke({ method: 'GET', path: '/features/lambda-checkout', headers: { authorization: `Bearer ${token}` } }, 'ApiFunction')
  t.equal(got.event.routeKey, 'ANY /features/{proxy+}')
  t.same(got.event.pathParameters, { proxy: 'lambda-checkout' })
  t.equal(got.res.statusCode, 200, got.res.body)
  t.equal(got.res.headers.etag, '"1"')
  t.match(got.json(), { name: 'lambda-checkout', description: 'created through the Lambda handler' })

  const list = await invoke({ method: 'GET', path: '/features', query: { limit: '1' }, headers: { authorization: `Bearer ${token}` } }, 'ApiFunction')
  t.equal(list.event.rawQueryString, 'limit=1')
  t.equal(list.res.statusCode, 200, list.res.body)
  t.equal((list.json().items as unknown[]).length, 1)

  const anonymous = await invoke({ method: 'GET', path: '/features/lambda-checkout' }, 'ApiFunction')
  t.equal(anonymous.res.statusCode, 401)
})

t.test('the same query strings give the same answers through the Lambda handler and the server', async (t) => {
  // The server: this very app on a real socket, so Fastify parses the query from the request line.
  const address = await api.app.listen({ port: 0, host: '127.0.0.1' })
  const headers = { authorization: `Bearer ${token}` }
  const strip = (body: string) => body.replace(/"(requestId|instance)":"[^"]*"/g, '"$1":"-"')
  const queries = [
    'prefix=lambda%2Ccheckout', // an encoded comma: one value (issue 24: a 400 on Lambda before)
    'prefix=lambda,checkout', // a raw comma: one value too
    'prefix=lambda-check&limit=5',
    'prefix=lambda%2Dcheck', // an encoded character in a value that matches
    'prefix=a&prefix=b', // a repeated key: an array on both, refused by the schema on both
    'limit=2,3',
    'limit=abc',
    'prefix=%E2%9C%93+x',
    'prefix=',
    'limit=1&unknown=x%2Cy'
  ]
  for (const raw of queries) {
    const lambda = await invoke({ method: 'GET', path: '/features', rawQuery: raw, headers }, 'ApiFunction')
    t.equal(lambda.event.rawQueryString, raw)
    const server = await fetch(`${address}/features?${raw}`, { headers })
    const serverBody = await server.text()
    t.equal(lambda.res.statusCode, server.status, `?${raw}: status ${lambda.res.statusCode} on Lambda, ${server.status} on the server`)
    t.equal(strip(lambda.res.body), strip(serverBody), `?${raw}: same body`)
  }
  const encodedComma = await invoke({ method: 'GET', path: '/features', rawQuery: 'prefix=a%2Cb', headers }, 'ApiFunction')
  t.same(encodedComma.event.queryStringParameters, { prefix: 'a,b' }, 'API Gateway hands the function the decoded value')
  t.equal(encodedComma.res.statusCode, 200, encodedComma.res.body)
  t.same(encodedComma.json().items, [])
  const match = await invoke({ method: 'GET', path: '/features', rawQuery: 'prefix=lambda%2Dcheck', headers }, 'ApiFunction')
  t.same((match.json().items as Array<{ name: string }>).map((f) => f.name), ['lambda-checkout'])
})

t.test('ApiFunction: health reports both engines', async (t) => {
  const { event, res, json } = await invoke({ method: 'GET', path: '/health' }, 'ApiFunction')
  t.equal(event.routeKey, 'GET /health')
  t.equal(res.statusCode, 200, res.body)
  t.match(json(), { status: 'ok', checks: { table: { status: 'ok' }, queue: { status: 'ok' } } })
})

t.test('EvaluateFunction: POST /features/evaluate with the token the ApiFunction issued', async (t) => {
  const on = await invoke({ method: 'POST', path: '/features/evaluate', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: { feature: 'lambda-checkout', environment: 'dev', context: { targetingKey: 'user-1' } } }, 'EvaluateFunction')
  t.equal(on.event.routeKey, 'POST /features/evaluate')
  t.equal(on.res.statusCode, 200, on.res.body)
  t.match(on.json(), { feature: 'lambda-checkout', environment: 'dev', enabled: true, value: true })

  const off = await invoke({ method: 'POST', path: '/features/evaluate', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: { feature: 'lambda-checkout', environment: 'prod', context: { targetingKey: 'user-1' } }, base64: true }, 'EvaluateFunction')
  t.equal(off.res.statusCode, 200, off.res.body)
  t.match(off.json(), { enabled: false, reason: 'DISABLED' })

  const bad = await invoke({ method: 'POST', path: '/features/evaluate', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: { feature: 'lambda-checkout', environment: 'dev', surprise: 1 } }, 'EvaluateFunction')
  t.equal(bad.res.statusCode, 400, bad.res.body)
  t.match(bad.res.headers['content-type'], /^application\/problem\+json/)

  // The evaluation surface is only evaluation: admin routes do not exist there.
  const { event } = httpEvent({ method: 'GET', path: '/features/lambda-checkout' })
  const res = await evaluate.handler(event, context) as LambdaHttpResponse
  t.equal(res.statusCode, 404)
})

t.test('both HTTP functions: the request id is API Gateway\'s, a client\'s X-Request-Id becomes its correlation id', async (t) => {
  const requests: Array<[HttpRequest, 'ApiFunction' | 'EvaluateFunction']> = [
    [{ method: 'GET', path: '/features/lambda-checkout', headers: { authorization: `Bearer ${token}` } }, 'ApiFunction'],
    [{ method: 'POST', path: '/features/evaluate', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: { feature: 'lambda-checkout', environment: 'dev' } }, 'EvaluateFunction']
  ]
  for (const [req, fn] of requests) {
    const forged = await invoke({ ...req, headers: { ...req.headers, 'X-Request-Id': 'client-chosen-id' } }, fn)
    const gatewayId = (forged.event.requestContext as { requestId: string }).requestId
    t.equal(forged.res.statusCode, 200, `${fn}: ${forged.res.body}`)
    t.equal(forged.res.headers['x-request-id'], gatewayId, `${fn}: X-Request-Id is API Gateway's`)
    t.equal(forged.res.headers['x-correlation-id'], 'client-chosen-id', `${fn}: the client's id is kept as correlation id`)
    t.equal(forged.event.headers['x-request-id'], 'client-chosen-id', `${fn}: the event document itself is left as it came`)

    const both = await invoke({ ...req, headers: { ...req.headers, 'x-request-id': 'client-chosen-id', 'x-correlation-id': 'trace-7' } }, fn)
    t.equal(both.res.headers['x-request-id'], (both.event.requestContext as { requestId: string }).requestId, `${fn}: still API Gateway's`)
    t.equal(both.res.headers['x-correlation-id'], 'trace-7', `${fn}: an X-Correlation-Id the client sent wins`)
  }
})

t.test('AuditConsumerFunction: a batch of 10 with one poison message reports exactly that message', async (t) => {
  const subject = 'lambda-batch-flag'
  let n = 0
  const ids = { eventId: () => `0190d6a4-0000-7000-8000-${String(++n).padStart(12, '0')}` }
  const events = Array.from({ length: 9 }, (_, i) => buildAuditEvent({ subject, feature: subject, environment: 'dev', action: 'ENVIRONMENT_UPDATED', actor: ADMIN.email, before: { enabled: i % 2 === 0 }, after: { enabled: i % 2 !== 0 }, requestId: `req-${i}` }, ids, () => Date.UTC(2025, 2, 10, 12, 0, i)))
  const bodies = events.map((e) => JSON.stringify(e))
  bodies.splice(4, 0, JSON.stringify({ eventId: 'not-an-audit-event' }))
  const batch = sqsEvent(bodies)
  t.equal(batch.Records.length, 10)
  const poison = batch.Records[4]!.messageId

  const result = await consumer.handler(batch)
  t.same(result, { batchItemFailures: [{ itemIdentifier: poison }] })

  const stored = await audit.list(subject, { order: 'asc', limit: 50 })
  t.same(stored.items.map((i) => i.eventId), events.map((e) => e.eventId), 'the 9 good events are persisted, in order')

  // Redelivery of the same batch (what SQS does after a partial failure) writes nothing twice.
  const again = await consumer.handler(sqsEvent(bodies))
  t.equal(again.batchItemFailures.length, 1)
  t.equal((await audit.list(subject, { order: 'asc', limit: 50 })).items.length, 9)
})

t.test('MaintenanceFunction: a scheduled event re-sends a stale outbox item, which the consumer then persists', async (t) => {
  const event = buildAuditEvent({ subject: 'lambda-outbox-flag', feature: 'lambda-outbox-flag', action: 'FEATURE_CREATED', actor: ADMIN.email, before: null, after: { name: 'lambda-outbox-flag' } }, { eventId: () => '0190d6a4-1111-7000-8000-000000000001' }, () => Date.now() - 120_000)
  // As if the process died between commit and publish two minutes ago.
  await doc.send(new PutCommand({ TableName: env.TABLE_NAME, Item: outboxItem(event, Date.now() - 120_000, 30_000) }))
  t.ok(await audit.listOutbox(Date.now()).then((due) => due.some((e) => e.eventId === event.eventId)), 'the item is due')

  const metricLines: string[] = []
  const write = maintenance.metricSink.write
  maintenance.metricSink.write = (line) => { metricLines.push(line) }
  const result = await maintenance.handler(scheduledEvent()).finally(() => { maintenance.metricSink.write = write })
  t.match(result, { outbox: { found: Number, sent: Number }, schedules: { applied: 0, failed: 0 } })
  t.ok((result.outbox as { sent: number }).sent >= 1, 'the sweeper re-sent it')
  // The backlog as an embedded-metric-format line: the metric and dimension OutboxBacklogAlarm reads.
  t.equal(metricLines.length, 1)
  const emf = JSON.parse(metricLines[0]!) as { _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> }; FunctionName: string; OutboxBacklog: number }
  t.match(emf._aws.CloudWatchMetrics, [{ Namespace: 'Switchyard', Dimensions: [['FunctionName']], Metrics: [{ Name: 'OutboxBacklog', Unit: 'Count' }] }])
  t.equal(typeof emf.FunctionName, 'string')
  t.equal(emf.OutboxBacklog, (result.outbox as { found: number }).found)
  t.ok(emf.OutboxBacklog >= 1, 'the stale item counts')
  const alarm = (await loadTemplate() as { Resources: Record<string, { Properties: { Namespace?: string; MetricName?: string; Dimensions?: Array<{ Name: string }> } }> }).Resources.OutboxBacklogAlarm!.Properties
  t.same([alarm.Namespace, alarm.MetricName, alarm.Dimensions!.map((d) => d.Name)], ['Switchyard', 'OutboxBacklog', ['FunctionName']], 'the alarm reads that metric')

  // The queue now holds it; feed the consumer as Lambda's SQS event source would.
  const sqs = createSqsClient({ AWS_REGION: 'us-east-1', SQS_ENDPOINT: stack.sqsEndpoint })
  t.teardown(() => sqs.destroy())
  const poller = startSqsPoller({ sqs, queueUrl: stack.queueUrl, handler: consumer.handler, waitTimeSeconds: 1 })
  t.teardown(() => poller.close())
  const stored = await eventually(async () => {
    const res = await audit.list('lambda-outbox-flag', { order: 'asc', limit: 10 })
    return res.items.length > 0 ? res.items : undefined
  }, { what: 'the swept event in the audit log' })
  t.equal(stored.length, 1)
  t.equal(stored[0]!.eventId, event.eventId)
  await eventually(async () => !(await audit.listOutbox(Number.MAX_SAFE_INTEGER)).some((e) => e.eventId === event.eventId), { what: 'the outbox item removed by the consumer' })
  await poller.close()
  const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, WaitTimeSeconds: 0 }))
  t.equal(left.Messages?.length ?? 0, 0, 'nothing left on the queue')
})
