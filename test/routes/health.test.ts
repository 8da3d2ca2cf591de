// GET /health: 200 when the table is reachable, 503 when DynamoDB is not.
import t from 'tap'
import { createServer } from 'node:net'
import { build, expectProblem } from '../helper.js'
import { serviceUnavailable } from '../../src/domain/errors.js'

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

t.test('health is 200 with the table and queue reachable, no auth needed', async (t) => {
  const ctx = await build(t)
  const res = await ctx.app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { status: 'ok', checks: { table: { status: 'ok', latencyMs: Number }, queue: { status: 'ok' } } })
})

t.test('health is 503 when the DynamoDB endpoint is unreachable', async (t) => {
  const port = await closedPort()
  const ctx = await build(t, { env: { DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` }, app: { bootstrap: false } })
  const res = await ctx.app.inject({ method: 'GET', url: '/health' })
  t.equal(res.statusCode, 503, res.body)
  t.match(res.json(), { status: 'down', checks: { table: { status: 'error', error: String }, queue: { status: 'ok' } } })
  t.notMatch(res.body, /127\.0\.0\.1|ECONNREFUSED/, 'no internal addresses in the answer')
})

t.test('a 503 raised before the handler (load shedding) is still a problem document on /health', async (t) => {
  const ctx = await build(t, {
    beforeRegister: (f) => {
      // Stands in for @fastify/under-pressure rejecting a request in onRequest.
      f.addHook('onRequest', async function simulateShedding (request) {
        if (request.headers['x-simulate-overload'] === '1') throw serviceUnavailable('Server is overloaded; retry shortly', 1)
      })
    }
  })
  const res = await ctx.app.inject({ method: 'GET', url: '/health', headers: { 'x-simulate-overload': '1' } })
  expectProblem(t, res, 503)
  t.equal(res.headers['retry-after'], '1')
  const features = await ctx.app.inject({ method: 'GET', url: '/features', headers: { 'x-simulate-overload': '1' } })
  expectProblem(t, features, 503, 'same on other routes')
})
