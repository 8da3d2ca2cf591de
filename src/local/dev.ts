// Everything `npm run dev` runs in one process: the local stack (unless endpoints are given), the
// app on HOST:PORT, and the workers the Lambdas run on AWS (audit consumer via an SQS poller,
// outbox sweeper and scheduler on a timer).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import app from '../app.js'
import { serverOptions } from '../core.js'
import { loadConfig, type Config } from '../config.js'
import { startLocalStack, type LocalStack } from './stack.js'
import { refuseIfAlreadyRunning } from './startup-errors.js'
import { createWorkers } from '../workers/runtime.js'
import { startInterval, startSqsPoller, type Poller } from './workers.js'
import { startDispatcher } from './dispatcher.js'

export interface DevServer {
  app: FastifyInstance
  url: string
  /**
   * Drain and stop: stop accepting connections, answer the requests in flight (each with
   * Connection: close), close idle keep-alive connections at once and answer anything else that
   * arrives 503 + Connection: close; after SHUTDOWN_TIMEOUT_MS cut what is still open. Then the
   * workers and the local stack stop.
   */
  close(): Promise<void>
}

/** A JWT secret generated once per DATA_DIR, so tokens survive restarts. */
async function localJwtSecret (file: string): Promise<string> {
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
    // Without JWT_SECRET the key lives in DATA_DIR/jwt-secret, re-read every
    // JWT_SECRET_REFRESH_SECONDS: rotating it there (docs/DEPLOY.md) needs no restart.
    const secretFile = join(dataDir, 'jwt-secret')
    const jwtSecretSource = rawEnv.JWT_SECRET === undefined ? async () => await readFile(secretFile, 'utf8') : undefined
    env.JWT_SECRET ??= await localJwtSecret(secretFile)
    const config = loadConfig(env)

    // Fastify builds the node:http server itself, so its timeouts and limits apply (src/core.ts).
    const server = Fastify(serverOptions(config.LOG_LEVEL, {
      requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      maxRequestsPerSocket: config.HTTP_MAX_REQUESTS_PER_SOCKET
    }))
    server.server.maxConnections = config.HTTP_MAX_CONNECTIONS
    const sockets = trackSockets(server)
    await server.register(app, { env, sdkStream: true, jwtSecretSource })
    let drained: Promise<void> | undefined
    const drain = () => (drained ??= drainServer(server, sockets, config))
    closers.push(drain)
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
      close: async () => { await drain(); await closeAll() }
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}

function trackSockets (server: FastifyInstance): Set<Socket> {
  // node:http (20 to 24) marks a connection's last request under maxRequestsPerSocket with
  // Connection: close but leaves the socket open until the keep-alive timeout: end it after that answer.
  // Before Fastify's own listener: an answer decided synchronously (a 304 from memory, a 401, a
  // 404) is written within that listener, too late for a listener behind it.
  server.server.prependListener('request', function lastOnConnection (_req, res: ServerResponse & { maxRequestsOnConnectionReached?: boolean }) {
    if (res.maxRequestsOnConnectionReached === true) res.shouldKeepAlive = false
  })
  const sockets = new Set<Socket>()
  server.server.on('connection', function track (socket: Socket) {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  return sockets
}

/**
 * Fastify's close stops accepting, closes idle connections, answers requests arriving on open
 * ones 503 + Connection: close, and waits for the requests in flight. What it leaves open is a
 * busy keep-alive connection, idle again after its answer until the keep-alive timeout: each
 * answer in flight is made its connection's last (Connection: close, then the socket ends).
 */
async function drainServer (server: FastifyInstance, sockets: Set<Socket>, config: Config): Promise<void> {
  const closed = server.close()
  for (const socket of sockets) {
    // The response a connection is answering (node:http's own link from a socket to it).
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (res === undefined || res === null) continue
    if (!res.headersSent) res.shouldKeepAlive = false
    else res.once('finish', () => socket.end())
  }
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<'timeout'>((resolve) => { timer = setTimeout(resolve, config.SHUTDOWN_TIMEOUT_MS, 'timeout') })
  const outcome = await Promise.race([closed.then(() => 'closed' as const), bound])
  clearTimeout(timer)
  if (outcome === 'timeout') {
    server.log.warn({ open: sockets.size }, `shutdown: connections still open after ${config.SHUTDOWN_TIMEOUT_MS} ms are cut`)
    server.server.closeAllConnections()
    await closed
  }
}
