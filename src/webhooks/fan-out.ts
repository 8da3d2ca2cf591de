// Fan-out: each committed audit event becomes one delivery per matching active subscription.
// Called by the audit consumer after the audit record is written and before the event's outbox
// item is removed, so the event is fanned out at least once: a failure here fails the message,
// which comes back (and the outbox sweeper re-sends the event if the message is lost). Repeating
// it is harmless: the delivery items are conditional puts, and a pending one is only woken again.
import type { AuditEvent } from '../domain/audit.js'
import type { WebhookRepository } from '../repositories/webhook-repository.js'
import type { WebhookDeliveryRepository } from '../repositories/webhook-delivery-repository.js'
import type { DeliveryQueue, Wakeup } from './queue.js'
import { matches, needsTags, tagsInEvent } from '../domain/webhooks.js'

export interface FanOutDeps {
  subscriptions: Pick<WebhookRepository, 'list'>
  deliveries: Pick<WebhookDeliveryRepository, 'createIfAbsent'>
  queue: DeliveryQueue
  /** The current tags of a flag (for tag filters on events that do not carry the flag). */
  flagTags: (flag: string) => Promise<string[] | undefined>
  now: () => number
}

export function createFanOut (deps: FanOutDeps) {
  return async function fanOut (event: AuditEvent): Promise<number> {
    const active = (await deps.subscriptions.list()).filter((s) => s.status === 'active')
    if (active.length === 0) return 0
    let tags = tagsInEvent(event)
    if (tags === undefined && event.feature !== undefined && active.some((s) => needsTags(s.filter))) {
      tags = await deps.flagTags(event.feature)
    }
    const at = deps.now()
    const wakeups: Wakeup[] = []
    for (const sub of active) {
      if (!matches(sub.filter, event, tags)) continue
      const outcome = await deps.deliveries.createIfAbsent(sub.id, event, at)
      // A delivery already pending from an earlier fan-out may have lost its wake-up with a crash.
      if (outcome === 'created' || outcome === 'pending') wakeups.push({ subscriptionId: sub.id, eventId: event.eventId })
    }
    if (wakeups.length > 0) await deps.queue.enqueue(wakeups)
    return wakeups.length
  }
}
