// Every key of the single table is built here, so the access patterns read in one place.

/**
 * The table's TTL attribute (template.yaml: Table.TimeToLiveSpecification; DynamoDB allows one per
 * table), epoch seconds: audit records carry it with AUDIT_RETENTION_DAYS, webhook deliveries always.
 */
export const TTL_ATTRIBUTE = 'expiresAt'

export const featuresPartition = 'FEATURES'
export const featureKey = (name: string) => ({ PK: featuresPartition, SK: `FEATURE#${name}` })
export const featureEnvKey = (name: string, env: string) => ({ PK: `ENVIRONMENT#${name}`, SK: `ENV#${env}` })
export const featureEnvPartition = (name: string) => `ENVIRONMENT#${name}`
/** The flag and environment of a featureEnvKey, or undefined for any other key. */
export function parseFeatureEnvKey (k: { PK: string; SK: string }): { flag: string; env: string } | undefined {
  if (!k.PK.startsWith('ENVIRONMENT#') || !k.SK.startsWith('ENV#')) return undefined
  return { flag: k.PK.slice('ENVIRONMENT#'.length), env: k.SK.slice('ENV#'.length) }
}
export const featureEnvIndexKeys = (name: string, env: string) => ({ GSI1PK: `ENVFLAGS#${env}`, GSI1SK: `FEATURE#${name}` })
export const envFlagsPartition = (env: string) => `ENVFLAGS#${env}`
export const auditPartition = (subject: string) => `AUDIT#${subject}`
export const auditKey = (subject: string, timestamp: string, eventId: string) =>
  ({ PK: auditPartition(subject), SK: `LOGS#${timestamp}#${eventId}` })
export const userKey = (email: string) => ({ PK: `USER#${email}`, SK: 'PROFILE' })
/** GSI1 keys of a user item: GET /users lists accounts by email with one Query. */
export const usersIndexPartition = 'USERS'
export const userListKeys = (email: string) => ({ GSI1PK: usersIndexPartition, GSI1SK: `USER#${email}` })
export const outboxPartition = 'OUTBOX'
export const outboxKey = (eventId: string) => ({ PK: outboxPartition, SK: `EVENT#${eventId}` })
export const environmentsPartition = 'ENVS'
export const environmentKey = (env: string) => ({ PK: environmentsPartition, SK: `ENV#${env}` })
export const apiKeyKey = (keyId: string) => ({ PK: `APIKEY#${keyId}`, SK: 'KEY' })
export const apiKeysIndexPartition = 'APIKEYS'
export const apiKeyListKeys = (keyId: string) => ({ GSI1PK: apiKeysIndexPartition, GSI1SK: `KEY#${keyId}` })
export const segmentsPartition = 'SEGMENTS'
export const segmentKey = (key: string) => ({ PK: segmentsPartition, SK: `SEGMENT#${key}` })
export const segmentRefKey = (segment: string, flag: string, env: string) => ({ PK: `SEGMENT#${segment}`, SK: `REF#${flag}#${env}` })
export const schedulePartition = 'SCHEDULE'
export const scheduleKey = (at: string, flag: string, env: string, id: string) =>
  ({ PK: schedulePartition, SK: `AT#${at}#${flag}#${env}#${id}` })
/** Upper bound (inclusive) of the `AT#{iso}#…` sort keys due by `at` (epoch ms): schedule and webhook GSI1. */
export const dueBy = (at: number) => `AT#${new Date(at).toISOString()}#\uffff`
/** One per environment: bumped in the transaction of every change to one of its flag configs. */
export const envRevisionKey = (env: string) => ({ PK: `ENVREV#${env}`, SK: 'REVISION' })
/** The environment whose revision item this key is, or undefined for any other item. */
export const envOfRevisionKey = (key: { PK: string }): string | undefined =>
  key.PK.startsWith('ENVREV#') ? key.PK.slice('ENVREV#'.length) : undefined
export const webhookKey = (id: string) => ({ PK: 'WEBHOOKS', SK: `WEBHOOK#${id}` })
export const webhooksPartition = 'WEBHOOKS'
export const webhookDeliveryPartition = (subscriptionId: string) => `WEBHOOK#${subscriptionId}`
export const webhookDeliveryKey = (subscriptionId: string, eventId: string) =>
  ({ PK: webhookDeliveryPartition(subscriptionId), SK: `DELIVERY#${eventId}` })
/** GSI1 entry of a pending delivery, ordered by its next attempt: the sweeper's Query. */
export const webhookDuePartition = 'WEBHOOKS_DUE'
export const webhookDueIndexKeys = (nextAttemptAt: number, subscriptionId: string, eventId: string) =>
  ({ GSI1PK: webhookDuePartition, GSI1SK: `AT#${new Date(nextAttemptAt).toISOString()}#${subscriptionId}#${eventId}` })
