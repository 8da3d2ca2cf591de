// Local stand-ins for the Lambda event sources: an SQS poller that feeds the audit consumer the
// same SQS-shaped event Lambda would, deleting what it reports as processed; and a timer for the
// maintenance job. Both stop promptly on close().
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs'
import type { SQSBatchResponse, SQSEvent, SQSRecordAttributes, SQSMessageAttributes } from 'aws-lambda'

export interface Poller { close(): Promise<void> }

/**
 * Runs `step` over and over until `signal` aborts. A failing step is reported to `onError` (unless
 * the failure is the abort itself) and retried after a short pause, so an unreachable queue does
 * not turn the loop into a busy spin.
 */
export async function pollUntilAborted (signal: AbortSignal, onError: ((err: unknown) => void) | undefined, step: () => Promise<void>): Promise<void> {
  while (!signal.aborted) {
    try {
      await step()
    } catch (err) {
      if (signal.aborted) break
      onError?.(err)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

/** SQS's message attributes as Lambda's event record spells them (stringValue, dataType, …). */
function lambdaMessageAttributes (attributes: Record<string, { StringValue?: string; BinaryValue?: Uint8Array; DataType?: string }>): SQSMessageAttributes {
  return Object.fromEntries(Object.entries(attributes).map(([name, a]) => [name, {
    stringValue: a.StringValue,
    binaryValue: a.BinaryValue !== undefined ? Buffer.from(a.BinaryValue).toString('base64') : undefined,
    stringListValues: [],
    binaryListValues: [],
    dataType: a.DataType ?? 'String'
  }]))
}

export function startSqsPoller (opts: {
  sqs: SQSClient
  queueUrl: string
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>
  waitTimeSeconds?: number
  onError?: (err: unknown) => void
}): Poller {
  const abort = new AbortController()
  const queueArn = `arn:aws:sqs:local:000000000000:${opts.queueUrl.split('/').pop() ?? 'queue'}`
  const loop = pollUntilAborted(abort.signal, opts.onError, async () => {
    const res = await opts.sqs.send(new ReceiveMessageCommand({
      QueueUrl: opts.queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: opts.waitTimeSeconds ?? 1,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All']
    }), { abortSignal: abort.signal })
    const messages = res.Messages ?? []
    if (messages.length === 0) return
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        // ReceiveMessage with every system attribute gives the ones Lambda's record carries.
        attributes: (m.Attributes ?? {}) as SQSRecordAttributes,
        messageAttributes: lambdaMessageAttributes(m.MessageAttributes ?? {}),
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: 'local'
      }))
    }
    const result = await opts.handler(event)
    // Like Lambda's partial batch response: delete the successes, leave failures to reappear
    // after the visibility timeout (and reach the DLQ after maxReceiveCount).
    const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier))
    const done = messages.filter((m) => !failed.has(m.MessageId ?? ''))
    if (done.length > 0) {
      await opts.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' }))
      }))
    }
  })
  return {
    async close () {
      abort.abort()
      await loop
    }
  }
}

export function startInterval (fn: () => Promise<unknown>, everyMs: number, onError: (err: unknown) => void): Poller {
  let running: Promise<unknown> | undefined
  const timer = setInterval(() => {
    if (running !== undefined) return
    running = fn().catch(onError).finally(() => { running = undefined })
  }, everyMs)
  return {
    async close () {
      clearInterval(timer)
      await running
    }
  }
}
