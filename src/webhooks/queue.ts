// The delivery queue carries wake-ups, `{subscriptionId, eventId}`, never the payload: the
// delivery item in the table is the truth, so a duplicate, late or lost message changes nothing
// but timing (the sweeper re-sends a wake-up for every pending delivery that is overdue).
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs'

export interface Wakeup { subscriptionId: string; eventId: string }

export interface DeliveryQueue {
  /** Send wake-ups, visible after `delaySeconds` (0–900, SQS's limit); throws when any is refused. */
  enqueue(wakeups: Wakeup[], delaySeconds?: number): Promise<void>
}

/** SQS's longest message delay; a retry due later is woken up by the sweeper. */
export const MAX_DELAY_SECONDS = 900

export function createSqsDeliveryQueue (deps: { sqs: SQSClient; queueUrl: string }): DeliveryQueue {
  return {
    async enqueue (wakeups, delaySeconds = 0) {
      const delay = Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.ceil(delaySeconds)))
      for (let i = 0; i < wakeups.length; i += 10) {
        const batch = wakeups.slice(i, i + 10)
        const res = await deps.sqs.send(new SendMessageBatchCommand({
          QueueUrl: deps.queueUrl,
          Entries: batch.map((w, n) => ({ Id: String(n), MessageBody: JSON.stringify(w), DelaySeconds: delay }))
        }))
        if ((res.Failed ?? []).length > 0) throw new Error(`delivery queue refused ${res.Failed!.length} wake-up(s): ${res.Failed![0].Code ?? ''}`)
      }
    }
  }
}

export function parseWakeup (body: string): Wakeup | undefined {
  try {
    const v = JSON.parse(body) as Partial<Wakeup>
    if (typeof v.subscriptionId === 'string' && typeof v.eventId === 'string') return { subscriptionId: v.subscriptionId, eventId: v.eventId }
  } catch {}
  return undefined
}
