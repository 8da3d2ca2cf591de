// Audit retention (AuditRetentionDays in template.yaml): with a retention, each audit record carries
// expiresAt, the epoch second DynamoDB's TTL deletes it after; without one (the default), none does.
// The audit consumer gets the setting from its configuration.
import t from 'tap'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { startStack, testEnv } from '../helper.js'
import { createDocumentClient } from '../../src/aws.js'
import { createAuditRepository } from '../../src/repositories/audit-repository.js'
import { auditKey, TTL_ATTRIBUTE } from '../../src/repositories/keys.js'
import { buildAuditEvent } from '../../src/domain/audit.js'
import { workerConfig } from '../../src/lambda/env.js'
import { createWorkers } from '../../src/workers/runtime.js'

const stack = await startStack(t)
const env = testEnv(stack)
const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: stack.dynamoEndpoint })
t.teardown(() => doc.destroy())
const timestamp = Date.parse('2026-12-01T10:00:00.000Z')
const event = (subject: string) => buildAuditEvent({ subject, feature: subject, action: 'FEATURE_CREATED', actor: 'admin@example.com', before: null, after: { name: subject } }, { eventId: () => `0190d6a4-2222-7000-8000-00000000000${subject.length % 10}` }, () => timestamp)
const stored = async (e: ReturnType<typeof event>) => (await doc.send(new GetCommand({ TableName: env.TABLE_NAME, Key: auditKey(e.subject, e.timestamp, e.eventId), ConsistentRead: true }))).Item!

t.test('with a retention, the record expires that many days after its timestamp', async (t) => {
  const audit = createAuditRepository({ doc, tableName: env.TABLE_NAME, retentionDays: 30 })
  const e = event('retained-flag')
  t.equal(await audit.put(e), 'created')
  t.equal((await stored(e))[TTL_ATTRIBUTE], timestamp / 1000 + 30 * 86_400)
  const listed = await audit.list('retained-flag', { order: 'asc', limit: 10 })
  t.notOk(TTL_ATTRIBUTE in listed.items[0]!, 'the API does not show it')
})

t.test('by default audit records live forever', async (t) => {
  const audit = createAuditRepository({ doc, tableName: env.TABLE_NAME })
  const e = event('kept')
  await audit.put(e)
  t.notOk(TTL_ATTRIBUTE in await stored(e))
})

t.test('the workers take it from their configuration (AUDIT_RETENTION_DAYS)', async (t) => {
  const { JWT_SECRET: _s, ADMIN_EMAIL: _e, ADMIN_PASSWORD: _p, ...workerEnv } = env
  t.equal(workerConfig({ ...workerEnv }).AUDIT_RETENTION_DAYS, 0)
  t.throws(() => workerConfig({ ...workerEnv, AUDIT_RETENTION_DAYS: '-1' }), /AUDIT_RETENTION_DAYS/)
  const workers = createWorkers({ config: workerConfig({ ...workerEnv, AUDIT_RETENTION_DAYS: '7' }), log: { info () {}, warn () {}, error () {} } as never })
  t.teardown(() => workers.destroy())
  const e = event('worker-flag')
  await workers.audit.put(e)
  t.equal((await stored(e))[TTL_ATTRIBUTE], timestamp / 1000 + 7 * 86_400)
})
