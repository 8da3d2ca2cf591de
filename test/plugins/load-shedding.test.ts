// Load shedding (@fastify/under-pressure in src/core.ts): a freshly started app answers its first
// requests even though boot (schema compilation) blocked the event loop; a loop that keeps
// stalling later, under load, is still shed with 503 problem+json and Retry-After.
import t from 'tap'
import Fastify from 'fastify'
import app from '../../src/app.js'
import { serverOptions } from '../../src/core.js'
import { eventually, expectProblem, startStack, testEnv } from '../helper.js'

function blockEventLoop (ms: number) {
  const end = Date.now() + ms
  while (Date.now() < end) { /* simulate synchronous work: schema compilation, a CPU-bound burst */ }
}

t.test('boot work is not mistaken for overload; a later stall is shed', async (t) => {
  const stack = await startStack(t)
  const fastify = Fastify(serverOptions('silent'))
  t.teardown(() => fastify.close())
  // The app's clock: the start-up grace is measured on it, so the test moves past it instead of waiting.
  let offset = 0
  const now = () => Date.now() + offset
  await fastify.register(app, { env: testEnv(stack, { SHED_EVENT_LOOP_DELAY_MS: '100' }), docsUi: false, bootstrap: false, now })
  // Boot of a big app: route schemas compile synchronously for well over a second on a busy machine.
  await fastify.register(async function slowBoot () { blockEventLoop(1_500) })
  await fastify.ready()

  await eventually(async () => fastify.memoryUsage().eventLoopDelay > 100, { what: 'the sampler to see the boot stall' })
  const first = await fastify.inject({ method: 'GET', url: '/health' })
  t.equal(first.statusCode, 200, `the first request after start is served: ${first.body}`)

  // Past the start-up grace (two sample windows), a loop that keeps stalling is shed. The sampler
  // first reports a calm loop again, so the 503 below is due to the new stall, not to boot.
  await eventually(async () => fastify.memoryUsage().eventLoopDelay < 100, { what: 'the sampler to see a calm loop' })
  const calm = await fastify.inject({ method: 'GET', url: '/health' })
  t.equal(calm.statusCode, 200, `a calm loop is served: ${calm.body}`)
  offset += 2_100
  const stall = setInterval(() => blockEventLoop(250), 1)
  t.teardown(() => clearInterval(stall))
  await eventually(async () => fastify.memoryUsage().eventLoopDelay > 100, { what: 'the sampler to see the sustained stall', intervalMs: 1 })
  const shed = await fastify.inject({ method: 'GET', url: '/health' })
  clearInterval(stall)
  expectProblem(t, shed, 503, 'stalled loop')
  t.equal(shed.headers['retry-after'], '1')
})
