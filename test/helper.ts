// Test harness (CONVENTIONS.md §10): build(t) starts an in-memory local stack (dynalite with
// transactions + local SQS) and the app on it, and tears both down when the test ends.
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify'
import { randomBytes } from 'node:crypto'
import type { DestinationStream } from 'pino'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { createDocumentClient } from '../src/aws.js'
import app, { type AppOptions } from '../src/app.js'
import { serverOptions } from '../src/core.js'
import { startLocalStack, type LocalStack } from '../src/local/stack.js'
import { createWorkers, type Workers } from '../src/workers/runtime.js'
import { startSqsPoller, type Poller } from '../src/local/workers.js'
import { loadConfig } from '../src/config.js'
import { eventually } from './eventually.js'

export { eventually }

export interface Teardown { teardown(fn: () => unknown): void }

/** A valid config that reaches nothing (port 1): for building an app without engines. */
export const OFFLINE_ENV: Readonly<Record<string, string>> = Object.freeze({
  AUDIT_QUEUE_URL: 'http://127.0.0.1:1/000000000000/audit',
  JWT_SECRET: 'k'.repeat(32),
  DYNAMODB_ENDPOINT: 'http://127.0.0.1:1',
  SQS_ENDPOINT: 'http://127.0.0.1:1',
  LOG_LEVEL: 'silent'
})

export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' }
export const CLIENT_PASSWORD = 'purple monkey dishwasher 42'

export interface TestContext {
  app: FastifyInstance
  stack: LocalStack
  env: Record<string, string>
  workers: Workers
  /** Log in (creating the user when needed) and return the Authorization header value. */
  loginAs(role: 'ADMIN' | 'CLIENT', email?: string): Promise<string>
  /** Start the audit consumer (an SQS poller calling the Lambda handler). */
  startConsumer(): Poller
}

export async function startStack (t: Teardown, opts: { visibilityTimeoutSeconds?: number } = {}): Promise<LocalStack> {
  const stack = await startLocalStack({ tableName: 'switchyard-test', visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 1 })
  t.teardown(() => stack.close())
  return stack
}

export function testEnv (stack: LocalStack, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TABLE_NAME: 'switchyard-test',
    DYNAMODB_ENDPOINT: stack.dynamoEndpoint,
    SQS_ENDPOINT: stack.sqsEndpoint,
    AUDIT_QUEUE_URL: stack.queueUrl,
    WEBHOOK_QUEUE_URL: stack.webhookQueueUrl,
    JWT_SECRET: randomBytes(32).toString('hex'),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'silent',
    EVAL_CACHE_TTL_MS: '0',
    ...extra
  }
}

export interface BuildOptions {
  env?: Record<string, string>
  app?: Omit<AppOptions, 'env'>
  stack?: LocalStack
  /** Capture the app's pino output (serverOptions' logger, redaction included). */
  logStream?: DestinationStream
  /** Runs on the bare Fastify instance before the app is registered (e.g. an onRoute hook). */
  beforeRegister?: (fastify: FastifyInstance) => void
}

export async function build (t: Teardown, opts: BuildOptions = {}): Promise<TestContext> {
  const stack = opts.stack ?? await startStack(t)
  const env = testEnv(stack, opts.env)
  const options = serverOptions(env.LOG_LEVEL ?? 'silent')
  const fastify = Fastify(opts.logStream !== undefined ? { ...options, logger: { ...options.logger, stream: opts.logStream } } : options)
  opts.beforeRegister?.(fastify)
  await fastify.register(app, { env, docsUi: false, ...opts.app })
  await fastify.ready()
  t.teardown(() => fastify.close())
  const workers = createWorkers({ config: loadConfig(env), log: fastify.log })
  t.teardown(() => workers.destroy())

  const tokens = new Map<string, string>()
  async function loginAs (role: 'ADMIN' | 'CLIENT', email?: string): Promise<string> {
    const who = email ?? (role === 'ADMIN' ? ADMIN.email : 'client@example.com')
    const cached = tokens.get(who)
    if (cached !== undefined) return cached
    const password = role === 'ADMIN' && who === ADMIN.email ? ADMIN.password : CLIENT_PASSWORD
    if (who !== ADMIN.email) {
      const signup = await fastify.inject({ method: 'POST', url: '/auth/signup', payload: { username: who.split('@')[0], email: who, password } })
      if (signup.statusCode !== 201 && signup.statusCode !== 409) throw new Error(`signup failed: ${signup.body}`)
      if (role === 'ADMIN') await fastify.users.setRole(who, 'ADMIN', { actor: 'test' })
    }
    const res = await fastify.inject({ method: 'POST', url: '/auth/login', payload: { email: who, password } })
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`)
    const header = `Bearer ${(res.json() as { access_token: string }).access_token}`
    tokens.set(who, header)
    return header
  }

  function startConsumer (): Poller {
    const poller = startSqsPoller({ sqs: workers.sqs, queueUrl: stack.queueUrl, handler: workers.consume, waitTimeSeconds: 1 })
    t.teardown(() => poller.close())
    return poller
  }

  return { app: fastify, stack, env, workers, loginAs, startConsumer }
}

export function json<T = Record<string, unknown>> (res: LightMyRequestResponse): T {
  return res.json() as T
}

/**
 * A DocumentClient on the stack that records the wire operation of every command it sends
 * (GetItemCommand, TransactWriteItemsCommand, …); pass it as `build(t, { app: { dynamo } })`. Destroyed on teardown.
 */
export function countingDocumentClient (t: Teardown, stack: LocalStack): { dynamo: DynamoDBDocumentClient; commands: string[] } {
  const dynamo = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: stack.dynamoEndpoint })
  const commands: string[] = []
  dynamo.middlewareStack.add((next, context) => async (args) => {
    commands.push(String(context.commandName))
    return await next(args)
  }, { step: 'initialize', name: 'countCommands' })
  t.teardown(() => dynamo.destroy())
  return { dynamo, commands }
}

/** The assertions expectProblem needs (a tap Test satisfies it). */
export interface Asserts {
  equal(found: any, wanted: any, ...rest: any[]): unknown
  match(found: any, pattern: any, ...rest: any[]): unknown
}

/** Assert that `res` is an RFC 9457 problem document with `status`; returns the parsed body. */
export function expectProblem (t: Asserts, res: LightMyRequestResponse, status: number, message = ''): Problem {
  t.equal(res.statusCode, status, `${message} status ${status}: ${res.body.slice(0, 300)}`)
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, `${message} problem+json content type`)
  const body = JSON.parse(res.body) as Problem
  t.match(body, { type: String, title: String, status, detail: String }, `${message} problem fields`)
  return body
}

export interface Problem { type: string; title: string; status: number; detail: string; instance?: string; requestId?: string; errors?: Array<{ path: string; message: string }> }
