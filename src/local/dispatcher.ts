// The local stand-in for the delivery queue's Lambda event source, built for isolation: unlike the
// audit poller (src/local/workers.ts), it does not wait for a batch to finish before receiving the
// next one. Each message is handed to the handler on its own (a one-record SQS event, the same
// handler the Lambda runs) and deleted when the handler reports it processed, so a message stuck
// on a hanging endpoint holds nothing but itself. At most `maxInFlight` messages are in progress.
import { DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs'
import type { SqsEvent, SqsBatchResponse } from '../audit/consumer.js'
import { pollUntilAborted, type Poller } from './workers.js'

export function startDispatcher (opts: {
  sqs: SQSClient
  queueUrl: string
  handler: (event: SqsEvent) => Promise<SqsBatchResponse>
  maxInFlight?: number
  waitTimeSeconds?: number
  onError?: (err: unknown) => void
}): Poller {
  const abort = new AbortController()
  const maxInFlight = opts.maxInFlight ?? 64
  const queueArn = `arn:aws:sqs:local:000000000000:${opts.queueUrl.split('/').pop() ?? 'queue'}`
  const running = new Set<Promise<void>>()
  let freed: (() => void) | undefined

  async function handle (m: Message): Promise<void> {
    try {
      const result = await opts.handler({
        Records: [{
          messageId: m.MessageId ?? '',
          receiptHandle: m.ReceiptHandle ?? '',
          body: m.Body ?? '',
          attributes: (m.Attributes ?? {}) as Record<string, string>,
          messageAttributes: m.MessageAttributes ?? {},
          md5OfBody: m.MD5OfBody ?? '',
          eventSource: 'aws:sqs',
          eventSourceARN: queueArn,
          awsRegion: 'local'
        } as SqsEvent['Records'][number]]
      })
      // A reported failure stays on the queue and reappears after the visibility timeout.
      if (result.batchItemFailures.length === 0) {
        await opts.sqs.send(new DeleteMessageCommand({ QueueUrl: opts.queueUrl, ReceiptHandle: m.ReceiptHandle ?? '' }))
      }
    } catch (err) {
      opts.onError?.(err)
    }
  }

  const loop = pollUntilAborted(abort.signal, opts.onError, async () => {
    if (running.size >= maxInFlight) {
      await new Promise<void>((resolve) => { freed = resolve })
      return
    }
    const res = await opts.sqs.send(new ReceiveMessageCommand({
      QueueUrl: opts.queueUrl,
      MaxNumberOfMessages: Math.min(10, maxInFlight - running.size),
      WaitTimeSeconds: opts.waitTimeSeconds ?? 1,
      MessageSystemAttributeNames: ['All']
    }), { abortSignal: abort.signal })
    for (const m of res.Messages ?? []) {
      const p: Promise<void> = handle(m).finally(() => {
        running.delete(p)
        freed?.()
        freed = undefined
      })
      running.add(p)
    }
  })

  return {
    async close () {
      abort.abort()
      freed?.()
      await loop
      await Promise.all(running)
    }
  }
}
