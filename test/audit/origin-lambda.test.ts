// On Lambda the request id is API Gateway's: ApiFunction and AuditConsumerFunction, invoked with
// real event documents, write audit records that name it, and the client's X-Correlation-Id.
import t from 'tap'
import { startStack, testEnv, eventually, ADMIN } from '../helper.js'
import { startSqsPoller } from '../../src/local/workers.js'
import { httpEvent, lambdaContext, withProcessEnv, type HttpRequest } from '../lambda/events.js'

interface LambdaHttpResponse { statusCode: number; headers: Record<string, string>; body: string }
interface Rec { action: string; requestId?: string; correlationId?: string }

t.test('Lambda: records carry API Gateway\'s request id and the client\'s correlation id', async (t) => {
  const stack = await startStack(t)
  const env = testEnv(stack)
  const { JWT_SECRET: _jwt, ADMIN_EMAIL: _e, ADMIN_PASSWORD: _p, ...workerEnv } = env
  const api = await withProcessEnv(env, () => import('../../src/lambda/api.js'))
  t.teardown(() => api.app.close())
  const consumer = await withProcessEnv(workerEnv, () => import('../../src/lambda/audit-consumer.js'))
  t.teardown(() => consumer.workers.destroy())
  const poller = startSqsPoller({ sqs: consumer.workers.sqs, queueUrl: stack.queueUrl, handler: consumer.handler, waitTimeSeconds: 1 })
  t.teardown(() => poller.close())

  const invoke = async (req: HttpRequest) => {
    const { event } = httpEvent(req)
    const res = await api.handler(event as never, lambdaContext as never) as LambdaHttpResponse
    return { gatewayId: (event.requestContext as { requestId: string }).requestId, res }
  }
  const login = await invoke({ method: 'POST', path: '/auth/login', headers: { 'content-type': 'application/json' }, body: { email: ADMIN.email, password: ADMIN.password } })
  const authorization = `Bearer ${(JSON.parse(login.res.body) as { access_token: string }).access_token}`
  const json = { 'content-type': 'application/json', authorization }

  const created = await invoke({ method: 'POST', path: '/features', headers: json, body: { name: 'on-lambda', environments: { dev: false } } })
  t.equal(created.res.statusCode, 201, created.res.body)
  t.equal(created.res.headers['x-request-id'], created.gatewayId)
  t.equal(created.res.headers['x-correlation-id'], undefined, 'no correlation id is invented when the client sent none')
  const put = await invoke({ method: 'PUT', path: '/features/on-lambda/env/dev', headers: { ...json, 'if-match': '"1"', 'x-correlation-id': 'abc' }, body: { enabled: true } })
  t.equal(put.res.statusCode, 200, put.res.body)
  t.equal(put.res.headers['x-correlation-id'], 'abc')

  const records = await eventually(async () => {
    const { res } = await invoke({ method: 'GET', path: '/features/on-lambda/audit', headers: { authorization } })
    const items = (JSON.parse(res.body) as { items: Rec[] }).items
    return items.length >= 2 ? items : undefined
  }, { what: 'both audit records' })
  t.same(records[0], { ...records[0], action: 'FEATURE_CREATED', requestId: created.gatewayId })
  t.notOk('correlationId' in records[0], "API Gateway's id is not taken for the client's")
  t.match(records[1], { action: 'ENVIRONMENT_UPDATED', requestId: put.gatewayId, correlationId: 'abc' })
})
