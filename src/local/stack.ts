// The local stack of `npm run dev` and the integration tests: dynalite (with transactions) on
// LevelDB under DATA_DIR and local-aws-sqs, each on a free port of 127.0.0.1 unless configured.
// When DYNAMODB_ENDPOINT / SQS_ENDPOINT are given, those engines are used instead.
import type { Server } from 'node:http'
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { SQSClient } from '@aws-sdk/client-sqs'
import { createSqsServer } from 'local-aws-sqs'
import { startLocalDynamo, type LocalDynamo } from './dynamo-engine.js'
import { ensureQueues, ensureTable } from './provision.js'

export interface LocalStackOptions {
  /** LevelDB directory; in-memory when undefined. */
  dynamoPath?: string
  dynamoEndpoint?: string
  sqsEndpoint?: string
  tableName: string
  queueName?: string
  region?: string
  host?: string
  /** Visibility timeout of the audit queue; short locally so redelivery is quick. */
  visibilityTimeoutSeconds?: number
}

export interface LocalStack {
  dynamoEndpoint: string
  sqsEndpoint: string
  queueUrl: string
  dlqUrl: string
  /** The webhook delivery queue (wake-ups) and its dead-letter queue. */
  webhookQueueUrl: string
  webhookDlqUrl: string
  close(): Promise<void>
}

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' }

export async function startLocalStack (opts: LocalStackOptions): Promise<LocalStack> {
  const host = opts.host ?? '127.0.0.1'
  const region = opts.region ?? 'us-east-1'
  let dynamo: LocalDynamo | undefined
  let sqsServer: Server | undefined
  try {
    let dynamoEndpoint = opts.dynamoEndpoint
    if (dynamoEndpoint === undefined) {
      dynamo = await startLocalDynamo({ path: opts.dynamoPath, host, port: 0, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
      dynamoEndpoint = dynamo.endpoint
    }
    let sqsEndpoint = opts.sqsEndpoint
    if (sqsEndpoint === undefined) {
      sqsServer = await createSqsServer({ port: 0, hostname: host, region, emulateQueueCreationLifecycle: false })
      const address = sqsServer.address()
      if (address === null || typeof address === 'string') throw new Error('local SQS did not bind a TCP port')
      sqsEndpoint = `http://${host}:${address.port}`
    }
    const ddb = new DynamoDBClient({ endpoint: dynamoEndpoint, region, credentials })
    const sqs = new SQSClient({ endpoint: sqsEndpoint, region, credentials })
    try {
      await ensureTable(ddb, opts.tableName)
      const { queueUrl, dlqUrl } = await ensureQueues(sqs, opts.queueName ?? `${opts.tableName}-audit`, opts.visibilityTimeoutSeconds ?? 5)
      // Longer than one attempt's deadline (WEBHOOK_TIMEOUT_MS, 10 s by default) plus its writes.
      const webhooks = await ensureQueues(sqs, `${opts.tableName}-webhooks`, 30)
      return {
        dynamoEndpoint,
        sqsEndpoint,
        queueUrl,
        dlqUrl,
        webhookQueueUrl: webhooks.queueUrl,
        webhookDlqUrl: webhooks.dlqUrl,
        async close () {
          if (sqsServer !== undefined) {
            const s = sqsServer
            s.closeAllConnections()
            await new Promise<void>((resolve) => s.close(() => resolve()))
          }
          if (dynamo !== undefined) await dynamo.close()
        }
      }
    } finally {
      ddb.destroy()
      sqs.destroy()
    }
  } catch (err) {
    sqsServer?.closeAllConnections()
    sqsServer?.close()
    await dynamo?.close()
    throw err
  }
}
