// How big EvaluateFunction's response to GET /sdk/v1/flags is, against Lambda's 6 MB limit on a
// synchronous invocation's response (docs/DEPLOY.md, "In-process providers on Lambda").
// What Lambda counts is the handler's whole response document serialized as JSON: the body as a
// JSON string (every quote escaped), or base64 when it is compressed. So this invokes the real
// handler (src/lambda/evaluate.ts) in-process with HTTP API v2 events, against the local stack,
// with N realistic flags (scripts/bench-support.ts) written straight into the table, and measures
// that document for each Accept-Encoding.
//   npx tsx scripts/lambda-sync-size.ts 1000 6900 10000
import { startStack, testEnv, ADMIN } from '../test/helper.js'
import { httpEvent, lambdaContext, withProcessEnv, type HttpRequest } from '../test/lambda/events.js'
import { batchLoad, realisticFlag } from './bench-support.js'

/** Lambda's limit on a synchronous response, as its error names it ("Exceeded maximum allowed payload size (6291556 bytes)"). */
const LIMIT = 6_291_556

interface LambdaResponse { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded?: boolean }

const teardowns: Array<() => unknown> = []
const stack = await startStack({ teardown: (fn) => { teardowns.push(fn) } })
const env = testEnv(stack)
const api = await withProcessEnv(env, () => import('../src/lambda/api.js'))
const evaluate = await withProcessEnv(env, () => import('../src/lambda/evaluate.js'))
try {
  const admin = async (req: HttpRequest, token?: string) => {
    const headers = { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) }
    const res = await api.handler(httpEvent({ ...req, headers }).event as never, lambdaContext as never) as LambdaResponse
    if (res.statusCode >= 300) throw new Error(`${req.method} ${req.path}: ${res.statusCode} ${res.body}`)
    return JSON.parse(res.body) as Record<string, string>
  }
  const token = (await admin({ method: 'POST', path: '/auth/login', body: { email: ADMIN.email, password: ADMIN.password } })).access_token
  console.log('flags   Accept-Encoding  status  body bytes  Lambda response bytes  of the limit')
  for (const n of process.argv.slice(2).map(Number)) {
    const environment = `s${n}`
    await admin({ method: 'POST', path: '/environments', body: { name: environment } }, token)
    const { key } = await admin({ method: 'POST', path: '/api-keys', body: { name: `sync-${n}`, environment, kind: 'server' } }, token)
    await batchLoad({ endpoint: stack.dynamoEndpoint, tableName: env.TABLE_NAME, flags: Array.from({ length: n }, (_, i) => realisticFlag(100_000 + i, [environment])) })
    for (const encoding of ['(none)', 'gzip', 'br']) {
      const { event } = httpEvent({ method: 'GET', path: '/sdk/v1/flags', headers: { 'x-api-key': key } })
      if (encoding === '(none)') delete event.headers['accept-encoding']
      else event.headers['accept-encoding'] = encoding
      const res = await evaluate.handler(event as never, lambdaContext as never) as LambdaResponse
      const body = res.isBase64Encoded === true ? Buffer.from(res.body, 'base64').length : Buffer.byteLength(res.body)
      const payload = Buffer.byteLength(JSON.stringify(res))
      console.log(`${String(n).padStart(6)}  ${encoding.padEnd(15)}  ${res.statusCode}     ${String(body).padStart(10)}  ${String(payload).padStart(21)}  ${(100 * payload / LIMIT).toFixed(1).padStart(6)} %${payload > LIMIT ? '  OVER' : ''}`)
    }
  }
} finally {
  await api.app.close()
  await evaluate.app.close()
  for (const fn of teardowns.reverse()) await fn()
}
