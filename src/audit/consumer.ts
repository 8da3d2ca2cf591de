// The audit consumer: the same function serves the AuditConsumerFunction Lambda (SQS event
// source with ReportBatchItemFailures) and the local poller. Each message is one audit event,
// persisted with a conditional put, so redelivery is harmless; a message that cannot be parsed
// or stored is reported as a batch item failure and, after the redrive count, lands in the DLQ.
import '../domain/formats.js'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { AuditEventSchema, type AuditEvent } from '../domain/audit.js'
import type { AuditRepository } from '../repositories/audit-repository.js'

import type { SQSBatchResponse, SQSRecord } from 'aws-lambda'

/** What the consumer reads of an SQS record: Lambda's SQSEvent and the local poller's events both have it. */
export type SqsRecord = Pick<SQSRecord, 'messageId' | 'body'> & { attributes?: Partial<SQSRecord['attributes']> }
export interface SqsEvent { Records: SqsRecord[] }
export type SqsBatchResponse = SQSBatchResponse

const checkEvent = TypeCompiler.Compile(AuditEventSchema)

export class PoisonMessage extends Error {}

export function parseAuditMessage (body: string): AuditEvent {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    throw new PoisonMessage('message body is not JSON')
  }
  if (!checkEvent.Check(value)) {
    const first = checkEvent.Errors(value).First()
    throw new PoisonMessage(`message is not an audit event: ${first?.path ?? ''} ${first?.message ?? ''}`)
  }
  return value
}

export interface ConsumerLogger { info(obj: object, msg: string): void; error(obj: object, msg: string): void }

export function createAuditConsumer (deps: {
  audit: AuditRepository
  log: ConsumerLogger
  /** Runs after the record is written and before the outbox item goes (the webhook fan-out). */
  afterPersist?: (event: AuditEvent) => Promise<unknown>
}) {
  return async function handleAuditBatch (event: SqsEvent): Promise<SqsBatchResponse> {
    const failures: Array<{ itemIdentifier: string }> = []
    await Promise.all(event.Records.map(async (record) => {
      try {
        const audit = parseAuditMessage(record.body)
        const outcome = await deps.audit.put(audit)
        // Until this succeeds the message fails and comes back, and the outbox item stays.
        if (deps.afterPersist !== undefined) await deps.afterPersist(audit)
        // The event is safe in the log: its outbox item (if the publisher did not get to it) can go.
        await deps.audit.deleteOutbox(audit.eventId)
        deps.log.info({ eventId: audit.eventId, action: audit.action, outcome }, 'audit event persisted')
      } catch (err) {
        deps.log.error({ err, messageId: record.messageId, receiveCount: record.attributes?.ApproximateReceiveCount }, 'audit message not persisted')
        failures.push({ itemIdentifier: record.messageId })
      }
    }))
    return { batchItemFailures: failures }
  }
}
