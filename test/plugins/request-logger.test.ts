// request.log is made when something logs (src/request-logger.ts): the lines a request writes are
// the ones pino's eager child wrote — bound to the request id, through the same redaction —
// whatever the level, a child of it, or a route's own log level.
import t from 'tap'
import Fastify from 'fastify'
import { serverOptions } from '../../src/core.js'

function server (level: string) {
  const lines: Array<Record<string, unknown>> = []
  const opts = serverOptions(level)
  const app = Fastify({ ...opts, logger: { ...opts.logger, stream: { write (line: string) { lines.push(JSON.parse(line)) } } } })
  app.get('/quiet', async function quiet (request) {
    request.log.info({ step: 'info' }, 'an info line')
    request.log.warn({ step: 'warn', user: { password: 'hunter2' } }, 'a warning')
    request.log.child({ part: 'child' }).error('from a child')
    return { id: request.id, infoEnabled: (request.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('info') }
  })
  app.get('/verbose', { logLevel: 'debug' }, async function verbose (request) {
    request.log.debug('a debug line')
    return { id: request.id }
  })
  return { app, lines }
}

t.test('at warn: warnings and errors carry the request id, info is dropped, redaction applies', async (t) => {
  const { app, lines } = server('warn')
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/quiet' })
  const { id, infoEnabled } = res.json()
  t.equal(infoEnabled, false)
  const mine = lines.filter((l) => l.reqId === id)
  t.same(mine.map((l) => l.msg), ['a warning', 'from a child'], 'the warning and the child\'s error, nothing at info')
  t.same(mine[0].user, { password: '[redacted]' }, 'the request\'s lines go through the redaction paths')
  t.equal(mine[1].part, 'child', 'a child keeps its own bindings and the request id')
})

t.test('at info: Fastify\'s request lines and the route\'s are written with the request id', async (t) => {
  const { app, lines } = server('info')
  t.teardown(() => app.close())
  const { id } = (await app.inject({ url: '/quiet' })).json()
  const msgs = lines.filter((l) => l.reqId === id).map((l) => l.msg)
  t.same(msgs, ['incoming request', 'an info line', 'a warning', 'from a child', 'request completed'])
})

t.test('a route\'s own log level still applies', async (t) => {
  const { app, lines } = server('warn')
  t.teardown(() => app.close())
  const { id } = (await app.inject({ url: '/verbose' })).json()
  t.ok(lines.some((l) => l.reqId === id && l.msg === 'a debug line'), 'debug written on a route at logLevel debug')
})
