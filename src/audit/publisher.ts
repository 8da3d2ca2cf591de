// After a commit, send the audit events to SQS: the publisher listens to the store's commits
// (store.onCommitted). The outbox item stays until the consumer has written the audit record (it
// deletes the item then), so an event lost anywhere between commit and audit log — failed send,
// crash, a queue that loses messages — is sent again by the sweeper. The queue may see an event
// twice, never zero times; the consumer makes the second delivery a no-op.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { AuditEvent } from '../domain/audit.js'
import type { CommitListener } from '../repositories/store.js'

export interface PublisherLogger { warn(obj: object, msg: string): void }

export interface AuditPublisher {
  /** Send committed events to the queue; failures are logged and left to the outbox sweeper. */
  publish(events: AuditEvent[]): Promise<void>
  /** Send events; returns the ids the queue accepted, throws when the queue cannot be reached. */
  publishOrThrow(events: AuditEvent[]): Promise<string[]>
}

/** The commit listener that hands each commit's audit events to the publisher. */
export function publishCommitted (publisher: AuditPublisher): CommitListener {
  return function publishCommittedEvents ({ events }) {
    if (events.length > 0) return publisher.publish(events)
  }
}

export function createAuditPublisher (deps: { sqs: SQSClient; queueUrl: string; log: PublisherLogger }): AuditPublisher {
  /** Returns the ids of the events the queue accepted. */
  async function publishOrThrow (events: AuditEvent[]): Promise<string[]> {
    const sent: string[] = []
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10)
      const res = await deps.sqs.send(new SendMessageBatchCommand({
        QueueUrl: deps.queueUrl,
        Entries: batch.map((e, n) => ({
          Id: String(n),
          MessageBody: JSON.stringify(e),
          MessageAttributes: { action: { DataType: 'String', StringValue: e.action } }
        }))
      }))
      for (const ok of res.Successful ?? []) {
        const event = batch[Number(ok.Id)]
        if (event !== undefined) sent.push(event.eventId)
      }
      if ((res.Failed ?? []).length > 0) {
        deps.log.warn({ failed: res.Failed }, 'some audit events were not accepted by the queue; the sweeper will retry them')
      }
    }
    return sent
  }

  return {
    publishOrThrow,
    async publish (events: AuditEvent[]): Promise<void> {
      try {
        await publishOrThrow(events)
      } catch (err) {
        deps.log.warn({ err, eventIds: events.map((e) => e.eventId) }, 'audit publish failed after commit; left in the outbox for the sweeper')
      }
    }
  }
}
