// The machine's ceiling for scripts/bench.ts: a hello-world route on a Fastify instance built with
// the service's own server options (logger, redaction, request ids, Ajv settings), nothing else.
// Started as its own process exactly like the service (`node --import tsx …`), same environment.
import Fastify from 'fastify'
import { serverOptions } from '../src/core.js'

const app = Fastify(serverOptions(process.env.LOG_LEVEL ?? 'warn'))
app.get('/hello', async function hello () {
  return { hello: 'world' }
})
// The same for a POST with a JSON body (parsed, not validated): the floor of a POST endpoint.
app.post('/hello', async function helloPost () {
  return { hello: 'world' }
})
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) })
const address = app.server.address()
if (address === null || typeof address === 'string') throw new Error('no TCP address')
process.stdout.write(`hello-world Fastify is listening on http://127.0.0.1:${address.port}\n`)
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
process.on('SIGINT', () => { void app.close().then(() => process.exit(0)) })
