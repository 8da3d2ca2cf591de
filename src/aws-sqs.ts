// The SQS client built from the config (see aws.ts): only the write side (the audit publisher,
// the health check) and the workers use it.
import { SQSClient } from '@aws-sdk/client-sqs'
import { LOCAL_CREDENTIALS } from './aws.js'
import type { Config } from './config.js'

export function createSqsClient (config: Pick<Config, 'AWS_REGION' | 'SQS_ENDPOINT'>): SQSClient {
  return new SQSClient({
    region: config.AWS_REGION,
    maxAttempts: 3,
    ...(config.SQS_ENDPOINT !== undefined ? { endpoint: config.SQS_ENDPOINT, credentials: LOCAL_CREDENTIALS } : {})
  })
}
