// Everything `npm run dev` runs in one process: the local stack (unless endpoints are given), the
// app on HOST:PORT, and the workers the Lambdas run on AWS (audit consumer via an SQS poller,
// outbox sweeper and scheduler on a timer).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import Fastify, { type FastifyInstance } from 'fastify'
import { createFastLane, type FastLane } from '../fast-lane.js'
import app from '../app.js'
import { serverOptions } from '../core.js'
import { loadConfig } from '../config.js'
import { startLocalStack, type LocalStack } from './stack.js'
import { refuseIfAlreadyRunning } from './startup-errors.js'
import { createWorkers } from '../workers/runtime.js'
import { startInterval, startSqsPoller, type Poller } from './workers.js'
import { startDispatcher } from './dispatcher.js'

export interface DevServer {
  app: FastifyInstance
  url: string
  /** The evaluation fast lane in front of the app (undefined with EVAL_FAST_LANE=false). */
  fastLane?: FastLane
  close(): Promise<void>
}

/** A JWT secret generated once per DATA_DIR, so tokens survive restarts. */
async function localJwtSecret (dataDir: string): Promise<string> {
  const file = join(dataDir, 'jwt-secret')
  try {
    const existing = (await readFile(file, 'utf8')).trim()
    if (existing.length >= 32) return existing
  } catch {}
  const secret = randomBytes(48).toString('base64url')
  await writeFile(file, secret + '\n', { mode: 0o600 })
  return secret
}

export async function startDevServer (rawEnv: Record<string, string | undefined>, opts: { maintenanceEveryMs?: number } = {}): Promise<DevServer> {
  const dataDir = resolve(rawEnv.DATA_DIR ?? '.data')
  await mkdir(dataDir, { recursive: true })
  await refuseIfAlreadyRunning(dataDir)
  const tableName = rawEnv.TABLE_NAME ?? 'switchyard'
  const closers: Array<() => Promise<void>> = []
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => {})
  }
  try {
    let stack: LocalStack | undefined
    const env: Record<string, string | undefined> = { ...rawEnv, DATA_DIR: dataDir }
    if (rawEnv.DYNAMODB_ENDPOINT === undefined || rawEnv.SQS_ENDPOINT === undefined || rawEnv.AUDIT_QUEUE_URL === undefined) {
      stack = await startLocalStack({
        dynamoPath: rawEnv.DYNAMODB_ENDPOINT === undefined ? join(dataDir, 'dynamodb') : undefined,
        dynamoEndpoint: rawEnv.DYNAMODB_ENDPOINT,
        sqsEndpoint: rawEnv.SQS_ENDPOINT,
        tableName
      })
      closers.push(() => stack!.close())
      env.DYNAMODB_ENDPOINT = stack.dynamoEndpoint
      env.SQS_ENDPOINT = stack.sqsEndpoint
      env.AUDIT_QUEUE_URL ??= stack.queueUrl
      env.WEBHOOK_QUEUE_URL ??= stack.webhookQueueUrl
    }
    env.JWT_SECRET ??= await localJwtSecret(dataDir)
    const config = loadConfig(env)

    // The evaluation fast lane sits in front of Fastify's listener once the app is ready.
    // eslint-disable-next-line prefer-const -- assigned below, once the app is ready
    let lane: ((req: IncomingMessage, res: ServerResponse) => void) | undefined
    const server = Fastify({
      ...serverOptions(config.LOG_LEVEL),
      serverFactory: (handler) => createServer((req, res) => { (lane ?? handler)(req, res) })
    })
    await server.register(app, { env, sdkStream: true })
    closers.push(() => server.close())
    const workers = createWorkers({ config, log: server.log.child({ worker: 'audit' }) })
    closers.push(async () => { workers.destroy() })
    const pollers: Poller[] = [
      startSqsPoller({ sqs: workers.sqs, queueUrl: config.AUDIT_QUEUE_URL, handler: workers.consume, onError: (err) => server.log.warn({ err }, 'audit poller error') }),
      startInterval(() => workers.maintain(), opts.maintenanceEveryMs ?? 5_000, (err) => server.log.warn({ err }, 'maintenance error'))
    ]
    const deliveryWorker = workers.webhooks.worker
    if (config.WEBHOOK_QUEUE_URL !== undefined && deliveryWorker !== undefined) {
      pollers.push(startDispatcher({ sqs: workers.sqs, queueUrl: config.WEBHOOK_QUEUE_URL, handler: deliveryWorker.handleBatch, onError: (err) => server.log.warn({ err }, 'webhook dispatcher error') }))
    }
    closers.push(async () => { await Promise.all(pollers.map((p) => p.close())) })
    await server.ready()
    const fastLane = config.EVAL_FAST_LANE ? createFastLane(server) : undefined
    lane = fastLane?.listener(server.routing)
    await server.listen({ host: config.HOST, port: config.PORT })
    const address = server.server.address()
    if (address === null || typeof address === 'string') throw new Error('server did not bind a TCP port')
    const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
    // Lets `npm run create-admin` reach this process's engine instead of the locked LevelDB files,
    // and a second `npm run dev` on this DATA_DIR say where this one is (src/local/startup-errors.ts).
    if (stack !== undefined && rawEnv.DYNAMODB_ENDPOINT === undefined) {
      const marker = join(dataDir, 'running.json')
      await writeFile(marker, JSON.stringify({ pid: process.pid, dynamoEndpoint: stack.dynamoEndpoint, url }) + '\n')
      closers.push(() => rm(marker, { force: true }))
    }
    return {
      app: server,
      url,
      fastLane,
      close: closeAll
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}
