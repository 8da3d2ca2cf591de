// The delivery worker: the same handler serves the WebhookDeliveryFunction Lambda (SQS event
// source, partial batch responses) and the local dispatcher of `npm run dev`. Each wake-up makes
// at most one attempt, under a lease on the delivery item; the outcome is written back before the
// message is acknowledged. Records of a batch run concurrently, and an endpoint may have at most
// `maxInFlightPerEndpoint` attempts in progress in this process (more are put back on the queue a
// few seconds later), so a slow endpoint holds its own deliveries, not anyone else's.
import type { SqsBatchResponse, SqsEvent } from '../audit/consumer.js'
import type { WebhookRepository } from '../repositories/webhook-repository.js'
import type { WebhookDeliveryRepository, AttemptOutcome } from '../repositories/webhook-delivery-repository.js'
import { MAX_DELAY_SECONDS, parseWakeup, type DeliveryQueue, type Wakeup } from './queue.js'
import { payloadOf } from '../domain/webhooks.js'
import { signatureHeaders } from '../domain/webhook-signature.js'
import type { Sender } from './http-sender.js'

/** Retries go on for at least this long after the first attempt (or a replay), then the delivery is dead-lettered. */
export const RETRY_WINDOW_MS = 24 * 3600_000
const FIRST_RETRY_MS = 10_000
const MAX_RETRY_DELAY_MS = 6 * 3600_000
/** Wake-ups over an endpoint's in-flight limit come back after this long. */
export const DEFER_SECONDS = 5
/** How long a wake-up waits in process for a slot of its endpoint before being deferred. */
const SLOT_WAIT_MS = 1_000
const WAITERS_PER_SLOT = 4

/**
 * Delay before retry n (n = failed attempts so far): 10 s × 3^(n−1), at most 6 h, with equal
 * jitter (half fixed, half random) so endpoints recovering from an outage are not hit in lockstep.
 * About 12 attempts in the first 24 h.
 */
export function retryDelayMs (failedAttempts: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_MS * 3 ** Math.max(0, failedAttempts - 1))
  return Math.round(base / 2 + random() * base / 2)
}

export interface WorkerLog { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void }

export interface DeliveryWorkerDeps {
  subscriptions: Pick<WebhookRepository, 'getForSigning'>
  deliveries: WebhookDeliveryRepository
  queue: DeliveryQueue
  send: Sender
  now: () => number
  log: WorkerLog
  timeoutMs: number
  maxInFlightPerEndpoint: number
  random?: () => number
}

export type AttemptResultKind = 'delivered' | 'retrying' | 'failed' | 'cancelled' | 'deferred' | 'not-due' | 'done' | 'busy'

export function createDeliveryWorker (deps: DeliveryWorkerDeps) {
  const lanes = new Map<string, { busy: number; waiters: Array<(granted: boolean) => void> }>()
  const random = deps.random ?? Math.random

  async function wake (w: Wakeup, delayMs: number): Promise<void> {
    if (delayMs <= MAX_DELAY_SECONDS * 1000) await deps.queue.enqueue([w], delayMs / 1000)
    // Later than SQS can delay a message: the sweeper wakes it up when it is due.
  }

  /**
   * A slot among the endpoint's `maxInFlightPerEndpoint`. When all are taken, wait briefly for one
   * (a healthy endpoint frees one within milliseconds), at most WAITERS_PER_SLOT waiters per slot;
   * otherwise the caller defers the wake-up through the queue, so a hanging endpoint holds at most
   * (1 + WAITERS_PER_SLOT) × its limit of this process's capacity, waiters for 1 s at most.
   */
  async function acquire (subscriptionId: string): Promise<boolean> {
    const lane = lanes.get(subscriptionId) ?? { busy: 0, waiters: [] }
    lanes.set(subscriptionId, lane)
    if (lane.busy < deps.maxInFlightPerEndpoint) {
      lane.busy++
      return true
    }
    if (lane.waiters.length >= WAITERS_PER_SLOT * deps.maxInFlightPerEndpoint) return false
    return await new Promise<boolean>((resolve) => {
      const waiter = (granted: boolean) => { clearTimeout(timer); resolve(granted) }
      const timer = setTimeout(() => {
        lane.waiters.splice(lane.waiters.indexOf(waiter), 1)
        resolve(false)
      }, SLOT_WAIT_MS)
      lane.waiters.push(waiter)
    })
  }

  function release (subscriptionId: string): void {
    const lane = lanes.get(subscriptionId)
    if (lane === undefined) return
    const next = lane.waiters.shift()
    if (next !== undefined) {
      next(true) // the slot passes to the waiter: busy stays the same
      return
    }
    lane.busy--
    if (lane.busy <= 0) lanes.delete(subscriptionId)
  }

  /** One wake-up: at most one attempt. Throws only when the table or queue cannot be reached. */
  async function attempt (w: Wakeup): Promise<AttemptResultKind> {
    if (!await acquire(w.subscriptionId)) {
      await deps.queue.enqueue([w], DEFER_SECONDS)
      return 'deferred'
    }
    try {
      return await attemptLeased(w)
    } finally {
      release(w.subscriptionId)
    }
  }

  async function attemptLeased (w: Wakeup): Promise<AttemptResultKind> {
    const now = deps.now()
    // The lease outlives the attempt's deadline, so a crashed attempt is retried once it expires.
    const lease = await deps.deliveries.lease(w.subscriptionId, w.eventId, now, now + deps.timeoutMs + 60_000)
    if (lease === undefined) {
      const current = await deps.deliveries.get(w.subscriptionId, w.eventId)
      if (current?.status !== 'pending' || current.nextAttemptAt === undefined) return 'done'
      const due = Date.parse(current.nextAttemptAt)
      if (due <= now) return 'busy' // another attempt holds the lease
      await wake(w, due - now)
      return 'not-due'
    }
    const sub = await deps.subscriptions.getForSigning(w.subscriptionId)
    if (sub === undefined || sub.status !== 'active') {
      await deps.deliveries.cancel(w.subscriptionId, w.eventId, sub === undefined ? 'subscription deleted' : 'subscription paused', now)
      return 'cancelled'
    }
    const body = payloadOf(sub.format, lease.record.event)
    const headers = signatureHeaders(sub.secrets, lease.record.webhookId, Math.floor(now / 1000), body)
    const result = await deps.send({ url: sub.url, headers, body })
    const at = deps.now()
    const record = { at: new Date(at).toISOString(), latencyMs: result.latencyMs, ...(result.statusCode !== undefined ? { statusCode: result.statusCode } : {}), ...(result.error !== undefined ? { error: result.error } : {}) }
    let outcome: AttemptOutcome
    if (result.ok) outcome = { status: 'delivered' }
    else if (at - lease.record.windowStart >= RETRY_WINDOW_MS) outcome = { status: 'failed' }
    else outcome = { status: 'pending', nextAttemptAt: at + retryDelayMs(lease.record.attempts + 1, random) }
    if (!await deps.deliveries.recordAttempt(lease, record, outcome)) return 'busy'
    deps.log.info({ webhookId: lease.record.webhookId, subscriptionId: w.subscriptionId, eventId: w.eventId, statusCode: result.statusCode, error: result.error, latencyMs: result.latencyMs, outcome: outcome.status }, 'webhook attempt')
    if (outcome.status === 'pending') {
      await wake(w, outcome.nextAttemptAt - at)
      return 'retrying'
    }
    return outcome.status === 'delivered' ? 'delivered' : 'failed'
  }

  /** The SQS handler: records run concurrently; a record whose attempt could not be recorded comes back. */
  async function handleBatch (event: SqsEvent): Promise<SqsBatchResponse> {
    const failures: Array<{ itemIdentifier: string }> = []
    await Promise.all(event.Records.map(async (record) => {
      const w = parseWakeup(record.body)
      if (w === undefined) {
        // Nothing to retry: a malformed message would only reach the DLQ later.
        deps.log.error({ messageId: record.messageId }, 'webhook wake-up is not {subscriptionId, eventId}; dropped')
        return
      }
      try {
        await attempt(w)
      } catch (err) {
        deps.log.error({ err, messageId: record.messageId, ...w }, 'webhook attempt not recorded; the message will come back')
        failures.push({ itemIdentifier: record.messageId })
      }
    }))
    return { batchItemFailures: failures }
  }

  /** Re-send a wake-up for every pending delivery due by now (lost messages, retries beyond 15 min). */
  async function sweep (limit = 1000): Promise<{ woken: number }> {
    const due = await deps.deliveries.listDue(deps.now(), limit)
    if (due.length > 0) await deps.queue.enqueue(due)
    return { woken: due.length }
  }

  return { attempt, handleBatch, sweep, inFlight: (subscriptionId: string) => lanes.get(subscriptionId)?.busy ?? 0 }
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>
