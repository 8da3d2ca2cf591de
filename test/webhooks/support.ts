// Shared by the webhook tests: a real HTTP receiver on loopback that verifies every request with
// the `standardwebhooks` package (an implementation independent of ours), and an app + workers on
// one movable clock, with the audit consumer and the delivery dispatcher running.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { build, type BuildOptions, type TestContext, type Teardown } from '../helper.js'
import { createWorkers, type Workers } from '../../src/workers/runtime.js'
import { loadConfig } from '../../src/config.js'
import { startSqsPoller } from '../../src/local/workers.js'
import { startDispatcher } from '../../src/local/dispatcher.js'
import type { WebhookSeams } from '../../src/webhooks/runtime.js'
import type { Resolver } from '../../src/webhooks/address-guard.js'

export type Mode = 'ok' | 'fail500' | 'down' | 'hang' | 'redirect'

export interface Received {
  id: string
  timestamp: string
  signature: string
  body: string
  payload: unknown
  /** Every secret the test registered that verified this request (by the standardwebhooks package). */
  verifiedWith: string[]
  /**
   * Every secret whose signature (computed by the standardwebhooks package) is among the header's,
   * whatever the timestamp: verify() also refuses a timestamp 5 min away from the real time, which
   * a test that moves the service's clock forward produces on purpose.
   */
  signedWith: string[]
  arrivedAt: number
}

export interface Receiver {
  url: string
  port: number
  mode: Mode
  received: Received[]
  /** Requests answered with anything but 2xx (or dropped), for counting attempts. */
  refused: number
  /** The webhook-id of every request, answered or not, in arrival order. */
  attempts: Array<{ id: string; mode: Mode }>
  /** Requests being held open now (mode 'hang'). */
  hanging(): number
  /** Decides the mode of the n-th request (0-based) instead of `mode`. */
  behave?: (n: number) => Mode
  secrets: string[]
  close(): Promise<void>
}

export async function startReceiver (t: Teardown, path = '/hook'): Promise<Receiver> {
  const hanging = new Set<ServerResponse>()
  const receiver: Receiver = {
    url: '',
    port: 0,
    mode: 'ok',
    received: [],
    refused: 0,
    attempts: [],
    hanging: () => hanging.size,
    secrets: [],
    close: async () => {}
  }
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const mode = receiver.behave?.(receiver.attempts.length) ?? receiver.mode
      receiver.attempts.push({ id: String(req.headers['webhook-id']), mode })
      if (mode === 'down') { receiver.refused++; req.socket.destroy(); return }
      if (mode === 'hang') {
        receiver.refused++
        hanging.add(res)
        res.on('close', () => hanging.delete(res))
        return
      }
      if (mode === 'fail500') { receiver.refused++; res.writeHead(500).end('nope'); return }
      if (mode === 'redirect') { receiver.refused++; res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' }).end(); return }
      const headers = req.headers as IncomingHttpHeaders & Record<string, string>
      const verifiedWith = receiver.secrets.filter((secret) => {
        try {
          new Webhook(secret).verify(body, { 'webhook-id': headers['webhook-id'], 'webhook-timestamp': headers['webhook-timestamp'], 'webhook-signature': headers['webhook-signature'] })
          return true
        } catch {
          return false
        }
      })
      const offered = (headers['webhook-signature'] ?? '').split(' ')
      const signedWith = receiver.secrets.filter((secret) =>
        offered.includes(new Webhook(secret).sign(headers['webhook-id'], new Date(Number(headers['webhook-timestamp']) * 1000), body)))
      receiver.received.push({
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        body,
        payload: JSON.parse(body),
        verifiedWith,
        signedWith,
        arrivedAt: Date.now()
      })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.port = (server.address() as AddressInfo).port
  receiver.url = `http://127.0.0.1:${receiver.port}${path}`
  receiver.close = async () => {
    for (const res of hanging) res.destroy()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(() => receiver.close())
  return receiver
}

/** A clock the test moves: starts at the real time and jumps forward on advance(). */
export function movableClock () {
  let offset = 0
  return { now: () => Date.now() + offset, advance: (ms: number) => { offset += ms } }
}

export interface WebhookContext extends TestContext {
  clock: ReturnType<typeof movableClock>
  hooks: Workers
  /** Create a subscription as ADMIN; returns the created body (with its secret). */
  subscribe(body: Record<string, unknown>): Promise<{ id: string; secret: string } & Record<string, unknown>>
  admin: string
}

/**
 * The app, and the workers on a movable clock, with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true (the
 * receivers are on loopback). The audit consumer and the delivery dispatcher run unless told not to.
 */
export async function buildWithWebhooks (t: Teardown, opts: { env?: Record<string, string>; seams?: WebhookSeams; resolve?: Resolver; run?: boolean; build?: BuildOptions } = {}): Promise<WebhookContext> {
  const clock = movableClock()
  const env = { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_TIMEOUT_MS: '2000', LOGIN_RATE_LIMIT_PER_MINUTE: '1000', ...opts.env }
  // The app keeps the real clock (its tokens are dated by it); the workers, which decide when
  // retries are due and which secrets sign, run on the movable one.
  const ctx = await build(t, { ...opts.build, env, app: { webhooks: { resolve: opts.resolve }, ...opts.build?.app } })
  const hooks = createWorkers({ config: loadConfig(ctx.env), log: ctx.app.log, now: clock.now, webhooks: { resolve: opts.resolve, ...opts.seams } })
  t.teardown(() => hooks.destroy())
  if (opts.run !== false) startWebhookWorkers(t, ctx, hooks)
  const admin = await ctx.loginAs('ADMIN')
  async function subscribe (body: Record<string, unknown>) {
    const res = await ctx.app.inject({ method: 'POST', url: '/webhooks', headers: { authorization: admin }, payload: body })
    if (res.statusCode !== 201) throw new Error(`subscribe failed: ${res.statusCode} ${res.body}`)
    return res.json() as { id: string; secret: string } & Record<string, unknown>
  }
  return { ...ctx, clock, hooks, subscribe, admin }
}

/** The audit consumer (fan-out included) and the delivery dispatcher, as `npm run dev` runs them. */
export function startWebhookWorkers (t: Teardown, ctx: TestContext, hooks: Workers) {
  const consumer = startSqsPoller({ sqs: hooks.sqs, queueUrl: ctx.stack.queueUrl, handler: hooks.consume, waitTimeSeconds: 1 })
  const dispatcher = startDispatcher({ sqs: hooks.sqs, queueUrl: ctx.stack.webhookQueueUrl, handler: hooks.webhooks.worker!.handleBatch, waitTimeSeconds: 1 })
  t.teardown(() => consumer.close())
  t.teardown(() => dispatcher.close())
  return { consumer, dispatcher }
}

/**
 * Drive retries the way time would: while a delivery of `subscriptionId` is pending, move the
 * clock to its next attempt and run the sweeper (the maintenance job's part), until `done`.
 */
export async function driveRetries (ctx: WebhookContext, subscriptionId: string, done: () => Promise<boolean>, opts: { timeoutMs?: number } = {}): Promise<void> {
  const { eventually } = await import('../helper.js')
  await eventually(async () => {
    if (await done()) return true
    const pending = await ctx.hooks.webhooks.deliveries.list(subscriptionId, { limit: 100, status: 'pending' })
    const due = pending.items.map((d) => d.nextAttemptAt).filter((x): x is string => x !== undefined).map(Date.parse)
    if (due.length > 0) {
      const next = Math.min(...due)
      if (next > ctx.clock.now()) ctx.clock.advance(next - ctx.clock.now() + 1)
      await ctx.hooks.webhooks.worker!.sweep()
    }
    return false
  }, { timeoutMs: opts.timeoutMs ?? 90_000, intervalMs: 100, what: 'every delivery to succeed' })
}
