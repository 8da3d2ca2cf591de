// The SQS client built from the config (see aws.ts for endpoints and credentials): only the write side (the audit publisher,
// the health check) and the workers use it.
import { SQSClient } from '@aws-sdk/client-sqs'
import { endpointOptions } from './aws.js'
import type { Config } from './config.js'

export function createSqsClient (config: Pick<Config, 'AWS_REGION' | 'SQS_ENDPOINT'>): SQSClient {
  return new SQSClient({
    region: config.AWS_REGION,
    maxAttempts: 3,
    ...endpointOptions(config.SQS_ENDPOINT)
  })
}
