// A client never decides the request id the audit log records: on the server it is the server's
// own UUID, on Lambda API Gateway's request id. Every response carries it in X-Request-Id; a
// client's own id is kept only as a validated correlation id (X-Correlation-Id).
import t from 'tap'
import { build, eventually, startStack, testEnv, ADMIN } from '../helper.js'
import { httpEvent, lambdaContext, withProcessEnv } from '../lambda/events.js'
import { createSqsClient } from '../../src/aws-sqs.js'
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs'

const FORGED = 'forged-request-id-0001'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

t.test('server: a forged X-Request-Id never reaches the audit record; responses carry the id', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const admin = await ctx.loginAs('ADMIN')
  ctx.startConsumer()
  const created = await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin, 'x-request-id': FORGED }, payload: { name: 'f', environments: { dev: true } } })
  t.equal(created.statusCode, 201)
  const id = created.headers['x-request-id'] as string
  t.match(id, UUID, 'the response carries the server\'s request id')
  t.not(id, FORGED)
  t.equal(created.headers['x-correlation-id'], FORGED, "the client's id is echoed as its correlation id")
  const records = await eventually(async () => {
    const res = await app.inject({ url: '/features/f/audit', headers: { authorization: admin } })
    const items = res.json().items as Array<{ requestId?: string }>
    return items.length > 0 ? items : undefined
  }, { what: 'the audit record' })
  t.equal(records[0].requestId, id, 'the audit record has the id the response named')

  const problem = await app.inject({ method: 'POST', url: '/features/evaluate', headers: { 'x-request-id': FORGED }, payload: {} })
  t.equal(problem.statusCode, 401)
  t.equal(problem.json().requestId, problem.headers['x-request-id'], 'a problem document names the same id')
  t.not(problem.json().requestId, FORGED)

  for (const bad of ['x'.repeat(129), 'has spaces in it', 'new\u00e9line']) {
    const res = await app.inject({ url: '/health', headers: { 'x-correlation-id': bad } })
    t.equal(res.headers['x-correlation-id'], undefined, `an invalid correlation id (${bad.slice(0, 12)}…) is ignored`)
    t.match(res.headers['x-request-id'], UUID)
  }
  const both = await app.inject({ url: '/health', headers: { 'x-correlation-id': 'trace-1', 'x-request-id': FORGED } })
  t.equal(both.headers['x-correlation-id'], 'trace-1', 'X-Correlation-Id wins over a client X-Request-Id')
})

t.test('Lambda: the audit record and the response carry API Gateway\'s request id', async (t) => {
  const stack = await startStack(t)
  const env = testEnv(stack)
  const api = await withProcessEnv(env, () => import('../../src/lambda/api.js'))
  t.teardown(() => api.app.close())
  const invoke = async (req: Parameters<typeof httpEvent>[0]) => {
    const { event } = httpEvent(req)
    const res = await api.handler(event as never, lambdaContext as never) as { statusCode: number; headers: Record<string, string>; body: string }
    return { event: event as typeof event & { requestContext: { requestId: string } }, res }
  }
  const login = await invoke({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: { email: ADMIN.email, password: ADMIN.password } })
  const token = (JSON.parse(login.res.body) as { access_token: string }).access_token
  const { event, res } = await invoke({ method: 'POST', path: '/features', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'X-Request-Id': FORGED }, body: { name: 'lambda-flag', environments: { dev: true } } })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.headers['x-request-id'], event.requestContext.requestId, "the response carries API Gateway's request id")
  t.equal(res.headers['x-correlation-id'], FORGED)

  const sqs = createSqsClient({ AWS_REGION: 'us-east-1', SQS_ENDPOINT: stack.sqsEndpoint })
  t.teardown(() => sqs.destroy())
  const published = await eventually(async () => {
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }))
    return (got.Messages ?? []).map((m) => JSON.parse(m.Body ?? '{}') as { feature?: string; requestId?: string }).find((e) => e.feature === 'lambda-flag')
  }, { what: 'the audit event on the queue' })
  t.equal(published.requestId, event.requestContext.requestId, "the audit event records API Gateway's request id, not the client's")
})
