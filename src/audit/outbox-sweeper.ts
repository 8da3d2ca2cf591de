// Re-sends audit events whose outbox item is still there after `minAgeMs`: the consumer deletes
// an item once its audit record exists, so a leftover means the send failed, the process died
// between commit and publish, or the message was lost or not yet consumed. Duplicates are
// harmless (the consumer's write is conditional); each resend pushes the next attempt back.
import type { AuditRepository } from '../repositories/audit-repository.js'
import type { AuditEvent } from '../domain/audit.js'

export function createOutboxSweeper (deps: { audit: AuditRepository; publishOrThrow(events: AuditEvent[]): Promise<string[]>; now: () => number; minAgeMs: number }) {
  return async function sweepOutbox (): Promise<{ found: number; sent: number }> {
    const now = deps.now()
    const due = await deps.audit.listOutbox(now, 500)
    if (due.length === 0) return { found: 0, sent: 0 }
    const sent = await deps.publishOrThrow(due)
    for (const id of sent) await deps.audit.deferOutbox(id, now + deps.minAgeMs)
    return { found: due.length, sent: sent.length }
  }
}
