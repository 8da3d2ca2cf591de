// AWS SDK v3 clients built from the config. Locally they point at the embedded engines;
// on Lambda they use the execution role and the region of the function. The SQS client lives in
// aws-sqs.ts, so the read-only EvaluateFunction, which imports this file, does not bundle it.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from './config.js'

/** Credentials for the embedded engines, which accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' }

export function createDocumentClient (config: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    maxAttempts: 4,
    ...(config.DYNAMODB_ENDPOINT !== undefined ? { endpoint: config.DYNAMODB_ENDPOINT, credentials: LOCAL_CREDENTIALS } : {})
  })
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false }
  })
}

const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded',
  'InternalServerError', 'InternalFailure', 'ServiceUnavailable', 'TransactionInProgressException',
  'TransactionConflictException', 'LimitExceededException', 'TimeoutError'
])

/** True for AWS errors that mean "try again later" rather than "your request is wrong". */
export function isTransientAwsError (err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown }
  if (e.name !== undefined && TRANSIENT.has(e.name)) return true
  if (e.code !== undefined && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(e.code)) return true
  const status = e.$metadata?.httpStatusCode
  return status !== undefined && status >= 500
}
