// The evaluation-only surface (EvaluateFunction) is read-only: it is built with the definitions
// reader and the API keys, without the write side's repositories, the SQS client and the audit
// publisher, which the whole app registers (and its bundle without them:
// test/lambda/bundles.test.ts). (It serving evaluations is shown
// by test/ofrep, test/lambda/handlers and test/lambda/bundles.)
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import app from '../src/app.js'
import evaluateApp from '../src/evaluate-app.js'
import { serverOptions } from '../src/core.js'
import { OFFLINE_ENV, type Teardown } from './helper.js'

const env = { ...OFFLINE_ENV }

async function ready (t: Teardown, register: (f: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const fastify = Fastify(serverOptions('silent'))
  t.teardown(() => fastify.close())
  await register(fastify)
  await fastify.ready()
  return fastify
}

t.test('the evaluate surface has the reader, and no write side, SQS client or audit publisher', async (t) => {
  const fastify = await ready(t, async (f) => { await f.register(evaluateApp, { env }) })
  t.notOk(fastify.hasDecorator('auditPublisher'), 'no audit publisher')
  t.notOk(fastify.hasDecorator('sqs'), 'no SQS client')
  for (const repo of ['features', 'segments', 'users', 'environments', 'audit']) t.notOk(fastify.hasDecorator(repo), `no ${repo} repository`)
  t.equal(typeof fastify.definitions.getDefinition, 'function', 'the definitions reader is there')
  t.equal(typeof fastify.apiKeyVerifier?.verify, 'function', 'API keys are verified')
  t.ok(fastify.dynamo, 'the DynamoDB client is there')
  t.ok(fastify.evaluator, 'the evaluator is there')
})

t.test('the whole app keeps both', async (t) => {
  const fastify = await ready(t, async (f) => { await f.register(app, { env, docsUi: false, bootstrap: false }) })
  t.ok(fastify.hasDecorator('auditPublisher'))
  t.equal(typeof fastify.sqs.send, 'function')
  for (const repo of ['features', 'segments', 'users', 'environments', 'audit']) t.ok(fastify.hasDecorator(repo), `the ${repo} repository`)
})
