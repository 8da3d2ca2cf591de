// The access log (src/access-log.ts): at `info`, routes marked accessLog 'summary' write no line per
// request but one summary per minute (requests, mean and slowest time per route and status); other
// routes keep Fastify's two lines; below `info` nothing is tallied.
import t from 'tap'
import Fastify from 'fastify'
import { serverOptions } from '../../src/core.js'
import { SUMMARY_WINDOW_MS } from '../../src/access-log.js'

function server (level: string) {
  const lines: Array<Record<string, unknown>> = []
  const opts = serverOptions(level)
  const app = Fastify({ ...opts, logger: { ...opts.logger, stream: { write (line: string) { lines.push(JSON.parse(line)) } } } })
  app.get('/summarised', { config: { accessLog: 'summary' } }, async (request, reply) => await reply.code(request.query !== null && (request.query as { miss?: string }).miss !== undefined ? 404 : 200).send({ ok: true }))
  app.get('/logged', async () => ({ ok: true }))
  return { app, lines }
}

/** Runs `fn` with Date.now() moved `ms` ahead (the summary window is read from Date.now). */
async function later<T> (ms: number, fn: () => Promise<T>): Promise<T> {
  const real = Date.now
  Date.now = () => real() + ms
  try { return await fn() } finally { Date.now = real }
}

t.test('at info: one summary per route and status for the summarised route, two lines for the others', async (t) => {
  const { app, lines } = server('info')
  t.teardown(() => app.close())
  for (let i = 0; i < 3; i++) await app.inject({ url: '/summarised' })
  await app.inject({ url: '/summarised?miss=1' })
  await app.inject({ url: '/logged' })
  t.same(lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed').map((l) => (l.req as { url?: string } | undefined)?.url ?? l.msg), ['/logged', 'request completed'], 'per-request lines only for the other route')
  t.notOk(lines.some((l) => l.accessSummary !== undefined), 'no summary before the minute ends')
  await later(SUMMARY_WINDOW_MS + 1_000, async () => await app.inject({ url: '/summarised' }))
  const summaries = lines.filter((l) => l.accessSummary !== undefined)
  t.equal(summaries.length, 1)
  t.match(summaries[0], { msg: 'evaluation requests summarised', accessSummary: { 'GET /summarised 200': { requests: 4, meanMs: Number, maxMs: Number }, 'GET /summarised 404': { requests: 1 } } })
})

t.test('at warn: nothing per request and no summary', async (t) => {
  const { app, lines } = server('warn')
  t.teardown(() => app.close())
  await app.inject({ url: '/summarised' })
  await app.inject({ url: '/logged' })
  await later(SUMMARY_WINDOW_MS + 1_000, async () => await app.inject({ url: '/summarised' }))
  t.same(lines, [])
})
