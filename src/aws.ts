// AWS SDK v3 clients built from the config. Locally they point at the embedded engines;
// on Lambda they use the execution role and the region of the function. The SQS client lives in
// aws-sqs.ts, so the read-only EvaluateFunction, which imports this file, does not bundle it.
//
// Credentials: only an endpoint on this machine (a loopback address: the embedded dynalite and
// SQS engines, DynamoDB Local) gets the fixed local credentials those engines accept. Any other
// endpoint override (a VPC endpoint, a proxy) and no override at all leave credentials to the SDK's
// default chain, i.e. the function's role on Lambda; without DYNAMODB_ENDPOINT / SQS_ENDPOINT the
// SDK also honours its own AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS variables.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Config } from './config.js'

/** Credentials for the embedded engines, which accept any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' }

/** True when `endpoint` names this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackEndpoint (endpoint: string): boolean {
  let host: string
  try {
    host = new URL(endpoint).hostname.toLowerCase()
  } catch {
    return false
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** The client options an endpoint override brings: the endpoint, and local credentials only on loopback. */
export function endpointOptions (endpoint: string | undefined): { endpoint?: string; credentials?: typeof LOCAL_CREDENTIALS } {
  if (endpoint === undefined) return {}
  return isLoopbackEndpoint(endpoint) ? { endpoint, credentials: LOCAL_CREDENTIALS } : { endpoint }
}

export function createDocumentClient (config: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    maxAttempts: 4,
    ...endpointOptions(config.DYNAMODB_ENDPOINT)
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
