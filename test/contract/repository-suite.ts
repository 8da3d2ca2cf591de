// The contract tier (DESIGN.md §7): the repositories, driven directly through the real AWS SDK v3
// clients — no Fastify — against whatever DynamoDB engine `endpoint` points at. The same suite
// runs on dynalite (src/local/dynamo-engine.ts) and on DynamoDB Local, the official emulator, so
// whatever the app relies on locally is proven to hold on DynamoDB too.
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb'
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { v7 as uuidv7 } from 'uuid'
import { createDocumentClient } from '../../src/aws.js'
import { eventually } from '../eventually.js'
import { ensureTable } from '../../src/local/provision.js'
import { createStore, type WriteOp } from '../../src/repositories/store.js'
import { createSegmentRepository } from '../../src/repositories/segment-repository.js'
import { createFeatureRepository, type CreateFeatureInput } from '../../src/repositories/feature-repository.js'
import { createFeatureItems, VersionRace } from '../../src/repositories/feature-items.js'
import { createDefinitionReader } from '../../src/repositories/definition-reader.js'
import { BATCH_GET_ATTEMPTS } from '../../src/repositories/batch-get.js'
import { createUserRepository } from '../../src/repositories/user-repository.js'
import { createEnvironmentRepository, DEFAULT_ENVIRONMENTS } from '../../src/repositories/environment-repository.js'
import { createAuditRepository } from '../../src/repositories/audit-repository.js'
import { featureEnvKey, featureEnvPartition, featureKey, outboxKey, segmentKey, segmentRefKey, userKey, auditPartition } from '../../src/repositories/keys.js'
import { createScheduler } from '../../src/workers/scheduler.js'
import { buildAuditEvent, SCHEDULER_ACTOR, type AuditEvent } from '../../src/domain/audit.js'
import { booleanVariants, simpleTargeting, type EnvTargeting } from '../../src/domain/model.js'

const REGION = 'us-east-1'
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' }
const ACTOR = 'contract@example.com'
const HOUR = 3_600_000

type Row = Record<string, unknown>

function flag (name: string, environments: Record<string, EnvTargeting>, extra: Partial<CreateFeatureInput> = {}): CreateFeatureInput {
  return { name, description: `contract flag ${name}`, type: 'boolean', variants: booleanVariants(), tags: ['contract'], environments, ...extra }
}

function usingSegment (segment: string, enabled = true): EnvTargeting {
  return {
    ...simpleTargeting(enabled),
    rules: [{ id: 'in-segment', clauses: [{ attribute: 'targetingKey', operator: 'segmentMatch', values: [segment] }], serve: { variant: 'on' } }]
  }
}

/** Await `p` and assert it rejects with an error matching `pattern` (e.g. `{ statusCode: 409 }`). */
async function expectError (t: Test, p: Promise<unknown>, pattern: Record<string, unknown> | (new (...args: never[]) => Error), message = 'rejects'): Promise<void> {
  const outcome = await p.then((value) => ({ value }), (error: unknown) => ({ error }))
  if (!('error' in outcome)) {
    t.fail(`${message}: expected a rejection, got ${JSON.stringify(outcome.value)?.slice(0, 200)}`)
    return
  }
  if (typeof pattern === 'function') t.ok(outcome.error instanceof pattern, `${message}: ${pattern.name} (got ${String(outcome.error)})`)
  else t.match(outcome.error, pattern, `${message}: ${String(outcome.error)}`)
}

export async function repositorySuite (t: Test, engine: { endpoint: string }): Promise<void> {
  const tableName = `contract-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`
  const client = new DynamoDBClient({ endpoint: engine.endpoint, region: REGION, credentials: CREDENTIALS })
  const doc: DynamoDBDocumentClient = createDocumentClient({ AWS_REGION: REGION, DYNAMODB_ENDPOINT: engine.endpoint })
  t.teardown(() => {
    doc.destroy()
    client.destroy()
  })

  // A clock the scheduler test can move forward; everything else sees real time.
  let clockOffset = 0
  const now = () => Date.now() + clockOffset
  const store = createStore({ doc, tableName, now, ids: { eventId: () => uuidv7() } })
  const segments = createSegmentRepository(store)
  const features = createFeatureRepository(store, { segments })
  const definitions = createDefinitionReader(store)
  const featureItems = createFeatureItems(tableName)
  const users = createUserRepository(store)
  const environments = createEnvironmentRepository(store)
  const audit = createAuditRepository({ doc, tableName })
  const meta = { actor: ACTOR }

  await ensureTable(client, tableName)
  await environments.ensureDefaults()

  async function getItem (key: { PK: string; SK: string }): Promise<Row | undefined> {
    return (await doc.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item
  }

  async function queryPartition (pk: string): Promise<Row[]> {
    const out: Row[] = []
    let ExclusiveStartKey: Row | undefined
    do {
      const res = await doc.send(new QueryCommand({ TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true, ExclusiveStartKey }))
      out.push(...(res.Items ?? []))
      ExclusiveStartKey = res.LastEvaluatedKey
    } while (ExclusiveStartKey !== undefined)
    return out
  }

  /** Outbox events (committed audit events) about one feature, optionally of one action. */
  async function outboxEvents (feature: string, action?: string): Promise<AuditEvent[]> {
    return (await queryPartition('OUTBOX'))
      .map((i) => i.event as AuditEvent)
      .filter((e) => e.feature === feature && (action === undefined || e.action === action))
  }

  await t.test('environment registry: ensureDefaults is idempotent, create refuses a duplicate', async (t) => {
    await environments.ensureDefaults()
    const names = (await environments.list()).map((e) => e.name)
    t.same(names.filter((n) => DEFAULT_ENVIRONMENTS.includes(n)).sort(), [...DEFAULT_ENVIRONMENTS].sort(), 'each default exactly once')
    const created = await environments.create({ name: 'contract-gsi', description: 'GSI paging' }, meta)
    t.equal(created.name, 'contract-gsi')
    await expectError(t, environments.create({ name: 'contract-gsi' }, meta), { statusCode: 409 }, 'duplicate → 409')
    const item = await getItem({ PK: 'ENVS', SK: 'ENV#contract-gsi' })
    t.equal(item?.description, 'GSI paging', 'the duplicate did not overwrite the first')
    const events = (await queryPartition('OUTBOX')).map((i) => i.event as AuditEvent).filter((e) => e.subject === 'environment:contract-gsi')
    t.equal(events.length, 1, 'one ENVIRONMENT_REGISTERED event: the failed create wrote no outbox item')
  })

  await t.test('feature create writes feature, env items and outbox in one transaction', async (t) => {
    const created = await features.create(flag('alpha', { dev: simpleTargeting(true), prod: simpleTargeting(false) }), meta)
    t.equal(created.version, 1)
    const feature = await getItem(featureKey('alpha'))
    t.match(feature, { entity: 'Feature', name: 'alpha', type: 'boolean', version: 1, createdBy: ACTOR, tags: ['contract'] })
    const envItems = await queryPartition(featureEnvPartition('alpha'))
    t.same(envItems.map((e) => e.environment).sort(), ['dev', 'prod'])
    for (const e of envItems) {
      t.match(e, { entity: 'FeatureEnv', flag: 'alpha', type: 'boolean', version: 1, GSI1PK: `ENVFLAGS#${String(e.environment)}`, GSI1SK: 'FEATURE#alpha' })
      t.same(e.variants, booleanVariants(), 'env item carries a copy of the variants')
    }
    const events = await outboxEvents('alpha')
    t.equal(events.length, 1, 'one outbox event')
    t.match(events[0], { action: 'FEATURE_CREATED', actor: ACTOR, before: null, after: { name: 'alpha', version: 1 } })

    const got = await features.get('alpha')
    t.same(Object.keys(got?.environments ?? {}).sort(), ['dev', 'prod'])
    t.equal(got?.environments.dev.enabled, true)
    const def = await definitions.getDefinition('alpha', 'dev')
    t.match(def, { flag: 'alpha', environment: 'dev', type: 'boolean', enabled: true, version: 1, segments: {} })
    const defs = await definitions.getDefinitions(['alpha', 'alpha', 'missing'], 'prod')
    t.same([...defs.keys()], ['alpha'], 'BatchGet returns the existing definitions only')
  })

  await t.test('duplicate create → 409 with nothing half-written', async (t) => {
    await expectError(t, features.create(flag('alpha', { dev: simpleTargeting(false), qa: simpleTargeting(true) }, { description: 'second' }), meta),
      { statusCode: 409, message: /already exists/ })
    t.equal((await getItem(featureKey('alpha')))?.description, 'contract flag alpha', 'feature untouched')
    t.equal(await getItem(featureEnvKey('alpha', 'qa')), undefined, 'no qa env item')
    t.equal((await getItem(featureEnvKey('alpha', 'dev')))?.enabled, true, 'dev env item untouched')
    t.equal((await outboxEvents('alpha')).length, 1, 'no outbox item for the failed create')

    // A failing condition further down the transaction (an unregistered environment's
    // ConditionCheck) cancels the earlier Puts as well.
    await expectError(t, features.create(flag('orphan', { dev: simpleTargeting(true), 'no-such-env': simpleTargeting(true) }), meta),
      { statusCode: 400, message: /Environment 'no-such-env' is not registered/ })
    t.equal(await getItem(featureKey('orphan')), undefined, 'no feature item')
    t.same(await queryPartition(featureEnvPartition('orphan')), [], 'no env items')
    t.equal((await outboxEvents('orphan')).length, 0, 'no outbox item')
  })

  await t.test('putEnv: stale If-Match → 412 and nothing written; current → version + 1', async (t) => {
    const before = await getItem(featureEnvKey('alpha', 'dev'))
    await expectError(t, features.putEnv('alpha', 'dev', simpleTargeting(false), { ...meta, ifMatch: 7 }), { statusCode: 412 })
    t.equal((await getItem(featureKey('alpha')))?.version, 1, 'version unchanged')
    t.same(await getItem(featureEnvKey('alpha', 'dev')), before, 'env item unchanged')
    t.equal((await outboxEvents('alpha', 'ENVIRONMENT_UPDATED')).length, 0, 'no outbox item')

    const res = await features.putEnv('alpha', 'dev', simpleTargeting(false), { ...meta, ifMatch: 1 })
    t.equal(res.version, 2)
    t.equal((await getItem(featureKey('alpha')))?.version, 2, 'aggregate version bumped')
    t.match(await getItem(featureEnvKey('alpha', 'dev')), { enabled: false, version: 2 })
    t.match(await outboxEvents('alpha', 'ENVIRONMENT_UPDATED'), [{ environment: 'dev', before: { enabled: true, version: 1 }, after: { enabled: false, version: 2 } }])

    // A new environment config through putEnv (no item before) on an unregistered env → 400.
    await expectError(t, features.putEnv('alpha', 'nowhere', simpleTargeting(true), meta), { statusCode: 400 })
    t.equal((await getItem(featureKey('alpha')))?.version, 2, 'the failed write did not bump the version')
    await expectError(t, features.putEnv('ghost', 'dev', simpleTargeting(true), meta), { statusCode: 404 })
  })

  await t.test('a condition failure on a later transaction item maps to its error (ALL_OLD honoured)', async (t) => {
    const at = new Date(now()).toISOString()
    const marker = { PK: 'CONTRACT', SK: `MARKER#${randomBytes(4).toString('hex')}` }
    const markerPut: WriteOp = { item: { Put: { TableName: tableName, Item: { ...marker, entity: 'Marker' } } } }

    // The raw protocol first: the second item fails, DynamoDB returns its old image (marshalled)
    // in CancellationReasons[1].Item; the first item's reason is None.
    const err = await doc.send(new TransactWriteCommand({
      TransactItems: [
        markerPut.item,
        { ...featureItems.bumpFeature('alpha', 99, at, ACTOR, 99).item }
      ]
    })).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof TransactionCanceledException || (err as Error | undefined)?.name === 'TransactionCanceledException', 'TransactionCanceledException')
    const reasons = (err as TransactionCanceledException).CancellationReasons ?? []
    t.equal(reasons.length, 2, 'one reason per item')
    t.equal(reasons[0]?.Code, 'None')
    t.equal(reasons[1]?.Code, 'ConditionalCheckFailed')
    t.match(reasons[1]?.Item, { PK: { S: 'FEATURES' }, SK: { S: 'FEATURE#alpha' }, version: { N: '2' } }, 'ALL_OLD item, marshalled')

    // Through the store: existing item + If-Match → 412 naming the current version (read from
    // ALL_OLD); missing item → 404; no If-Match → the internal retry signal.
    await expectError(t, store.commit([markerPut, featureItems.bumpFeature('alpha', 99, at, ACTOR, 99)], []),
      { statusCode: 412, message: /is at version 2, not 99/ })
    await expectError(t, store.commit([markerPut, featureItems.bumpFeature('ghost', 1, at, ACTOR, 1)], []),
      { statusCode: 404, message: /Feature 'ghost' not found/ })
    await expectError(t, store.commit([markerPut, featureItems.bumpFeature('alpha', 99, at, ACTOR, undefined)], []), VersionRace)
    t.equal(await getItem(marker), undefined, 'the first item was never written')
    t.equal((await getItem(featureKey('alpha')))?.version, 2, 'version unchanged')
  })

  await t.test('update replaces the variants copy on every env item', async (t) => {
    const variants = [...booleanVariants(), { key: 'also-on', value: true, description: 'a third variant' }]
    const updated = await features.update('alpha', { description: 'updated', variants }, { ...meta, ifMatch: 2 })
    t.equal(updated.version, 3)
    t.equal(updated.description, 'updated')
    for (const env of ['dev', 'prod']) {
      const e = await getItem(featureEnvKey('alpha', env))
      t.same(e?.variants, variants, `${env} variants copy`)
      t.equal(e?.version, 3, `${env} carries the aggregate version`)
    }
    await expectError(t, features.update('alpha', { description: 'stale' }, { ...meta, ifMatch: 2 }), { statusCode: 412 })
  })

  await t.test('feature list: cursor pagination', async (t) => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e', 'page-f', 'page-g']
    for (const n of names) await features.create(flag(n, { dev: simpleTargeting(true) }), meta)

    async function walk (prefix: string, limit: number): Promise<{ pages: string[][]; all: string[] }> {
      const pages: string[][] = []
      let cursor: string | undefined
      for (let i = 0; i < 20; i++) {
        const page = await features.list({ limit, prefix, cursor })
        pages.push(page.items.map((f) => f.name))
        if (page.nextCursor === null) break
        cursor = page.nextCursor
      }
      return { pages, all: pages.flat() }
    }

    const seven = await walk('page-', 3)
    t.same(seven.all, names, 'every feature once, in key order')
    t.same(seven.pages.map((p) => p.length), [3, 3, 1])
    // Exactly `limit` items left: DynamoDB stops at Limit and hands back a LastEvaluatedKey
    // without looking further, so the last page is empty.
    const six = await walk('page-', 6)
    t.same(six.pages.map((p) => p.length), [6, 1])
    const exact = await walk('page-', 7)
    t.same(exact.pages.map((p) => p.length), [7, 0], 'a full last page is followed by an empty one')
    const all = await walk('', 100)
    t.ok(all.all.includes('alpha') && all.all.includes('page-g'), 'no prefix lists every feature')
    await expectError(t, features.list({ limit: 3, cursor: 'not-a-cursor' }), { statusCode: 400 })
  })

  await t.test('GSI1: listDefinitions pages through ENVFLAGS#{env}', async (t) => {
    const names = Array.from({ length: 25 }, (_, i) => `gsi-${String(i).padStart(2, '0')}`)
    for (const n of names) await features.create(flag(n, { 'contract-gsi': simpleTargeting(n.endsWith('0')), dev: simpleTargeting(false) }), meta)

    // GSIs are eventually consistent on DynamoDB: walk until every flag shows up.
    const pages = await eventually(async () => {
      const pages: string[][] = []
      let cursor: Record<string, unknown> | undefined
      for (let i = 0; i < 10; i++) {
        const page = await definitions.listDefinitions('contract-gsi', { limit: 10, cursor })
        pages.push(page.items.map((d) => d.flag))
        for (const d of page.items) {
          if (d.environment !== 'contract-gsi' || d.type !== 'boolean' || d.variants.length !== 2) throw new Error(`incomplete definition ${JSON.stringify(d)}`)
        }
        if (page.cursor === undefined) break
        cursor = page.cursor
      }
      return pages.flat().length >= 25 ? pages : undefined
    }, { what: 'all 25 flags on GSI1' })
    t.same(pages.map((p) => p.length), [10, 10, 5], 'three pages of at most 10')
    t.same(pages.flat(), names, 'GSI1SK order, each flag once, no other environment')
    const first = await definitions.listDefinitions('contract-gsi', { limit: 10 })
    t.same(Object.keys(first.cursor ?? {}).sort(), ['GSI1PK', 'GSI1SK', 'PK', 'SK'], 'the cursor is the index key plus the table key')
  })

  await t.test('segments: refCount, snapshot refresh, delete refused while in use', async (t) => {
    const created = await segments.create({ key: 'beta', description: 'beta testers', included: ['u1'], excluded: [], rules: [] }, meta)
    t.equal(created.version, 1)
    await expectError(t, segments.create({ key: 'beta', included: [], excluded: [], rules: [] }, meta), { statusCode: 409 })

    await features.create(flag('seg-user', { dev: usingSegment('beta'), qa: usingSegment('beta') }), meta)
    t.equal((await getItem(segmentKey('beta')))?.refCount, 2, 'one reference per flag environment')
    t.ok(await getItem(segmentRefKey('beta', 'seg-user', 'dev')), 'SegmentRef item')
    t.same((await segments.usage('beta')).map((u) => u.environment).sort(), ['dev', 'qa'])
    t.same((await getItem(featureEnvKey('seg-user', 'dev')))?.segments, { beta: { key: 'beta', description: 'beta testers', included: ['u1'], excluded: [], rules: [] } }, 'snapshot on the env item')
    await expectError(t, features.create(flag('seg-missing', { dev: usingSegment('nope') }), meta), { statusCode: 400 })

    const updated = await segments.update({ key: 'beta', description: 'beta testers', included: ['u1', 'u2'], excluded: ['u3'], rules: [] }, { ...meta, ifMatch: 1 })
    t.equal(updated.version, 2)
    for (const env of ['dev', 'qa']) {
      t.match((await getItem(featureEnvKey('seg-user', env)))?.segments, { beta: { included: ['u1', 'u2'], excluded: ['u3'] } }, `${env} snapshot refreshed`)
    }
    t.equal((await definitions.getDefinition('seg-user', 'qa'))?.segments.beta.included.length, 2, 'evaluation read sees the new segment')
    await expectError(t, segments.update({ key: 'beta', included: [], excluded: [], rules: [] }, { ...meta, ifMatch: 1 }), { statusCode: 412 })

    await expectError(t, segments.delete('beta', meta), { statusCode: 409, message: /is used by/ })
    t.ok(await getItem(segmentKey('beta')), 'still there')

    // Drop the reference in one environment, then the other: refCount follows.
    await features.putEnv('seg-user', 'qa', simpleTargeting(true), meta)
    t.equal((await getItem(segmentKey('beta')))?.refCount, 1)
    t.equal(await getItem(segmentRefKey('beta', 'seg-user', 'qa')), undefined, 'qa reference removed')
    t.same((await getItem(featureEnvKey('seg-user', 'qa')))?.segments, {}, 'qa snapshot dropped')
    await features.putEnv('seg-user', 'dev', simpleTargeting(true), meta)
    t.equal((await getItem(segmentKey('beta')))?.refCount, 0)
    await segments.delete('beta', meta)
    t.equal(await getItem(segmentKey('beta')), undefined, 'deleted once unused')
    await expectError(t, segments.delete('beta', meta), { statusCode: 404 })

    // The delete's own condition, through ALL_OLD: a reference counted on the segment item
    // (a flag write that committed after the refs query) makes it 409, not 412.
    await segments.create({ key: 'gamma', included: [], excluded: [], rules: [] }, meta)
    await doc.send(new UpdateCommand({ TableName: tableName, Key: segmentKey('gamma'), UpdateExpression: 'SET refCount = :one', ExpressionAttributeValues: { ':one': 1 } }))
    await expectError(t, segments.delete('gamma', meta), { statusCode: 409, message: /in use by a flag/ })
    t.ok(await getItem(segmentKey('gamma')), 'not deleted')
    await doc.send(new UpdateCommand({ TableName: tableName, Key: segmentKey('gamma'), UpdateExpression: 'SET refCount = :zero', ExpressionAttributeValues: { ':zero': 0 } }))
    await expectError(t, segments.delete('gamma', { ...meta, ifMatch: 5 }), { statusCode: 412 }, 'unused but stale If-Match → 412')
    await segments.delete('gamma', { ...meta, ifMatch: 1 })
    t.equal(await getItem(segmentKey('gamma')), undefined, 'deleted with the current version')
  })

  await t.test('delete feature removes env items and side items in one transaction', async (t) => {
    await segments.create({ key: 'delta', included: ['x'], excluded: [], rules: [] }, meta)
    const later = new Date(now() + 24 * HOUR).toISOString()
    await features.create(flag('doomed', {
      dev: { ...usingSegment('delta'), schedule: [{ id: 'flip', at: later, change: { enabled: false } }] },
      qa: simpleTargeting(true),
      prod: usingSegment('delta', false)
    }), meta)
    t.equal((await getItem(segmentKey('delta')))?.refCount, 2)
    t.equal((await queryPartition('SCHEDULE')).filter((i) => i.flag === 'doomed').length, 1, 'schedule entry indexed')

    await expectError(t, features.delete('doomed', { ...meta, ifMatch: 3 }), { statusCode: 412 })
    t.ok(await getItem(featureKey('doomed')), 'stale If-Match deleted nothing')

    await features.delete('doomed', { ...meta, ifMatch: 1 })
    t.equal(await getItem(featureKey('doomed')), undefined, 'feature item gone')
    t.same(await queryPartition(featureEnvPartition('doomed')), [], 'env items gone')
    t.same((await queryPartition('SEGMENT#delta')).filter((i) => i.flag === 'doomed'), [], 'segment refs gone')
    t.same((await queryPartition('SCHEDULE')).filter((i) => i.flag === 'doomed'), [], 'schedule entries gone')
    t.equal((await getItem(segmentKey('delta')))?.refCount, 0, 'refCount released')
    t.match(await outboxEvents('doomed', 'FEATURE_DELETED'), [{ before: { name: 'doomed', environments: { dev: {}, qa: {}, prod: {} } }, after: null }])
    t.equal(await features.get('doomed'), undefined)
    await expectError(t, features.delete('doomed', meta), { statusCode: 404 })
    await eventually(async () => (await definitions.listDefinitions('qa', { limit: 100 })).items.every((d) => d.flag !== 'doomed') || undefined, { what: 'GSI1 entry removed' })
    await segments.delete('delta', meta)

    await features.create(flag('one-env', { dev: simpleTargeting(true), qa: simpleTargeting(true) }), meta)
    await features.deleteEnv('one-env', 'qa', meta)
    t.equal(await getItem(featureEnvKey('one-env', 'qa')), undefined, 'deleteEnv removed the env item')
    t.equal((await getItem(featureKey('one-env')))?.version, 2, 'and bumped the aggregate')
    await expectError(t, features.deleteEnv('one-env', 'qa', meta), { statusCode: 404 })
  })

  await t.test('users: create, duplicate, setRole', async (t) => {
    const user = await users.create({ username: 'ada', email: ' Ada@Example.com ', passwordHash: '$2b$04$hash', role: 'CLIENT' }, meta)
    t.equal(user.email, 'ada@example.com', 'email normalized')
    t.match(await getItem(userKey('ada@example.com')), { entity: 'User', role: 'CLIENT', roleVersion: 1 })
    await expectError(t, users.create({ username: 'ada2', email: 'ADA@example.com', passwordHash: 'x', role: 'ADMIN' }, meta), { statusCode: 409 })
    t.equal((await users.get('ada@example.com'))?.username, 'ada', 'duplicate did not overwrite')
    const promoted = await users.setRole('ada@example.com', 'ADMIN', meta)
    t.match(promoted, { role: 'ADMIN', roleVersion: 2 })
    t.notOk('passwordHash' in promoted, 'public view')
    t.match(await users.get('ADA@EXAMPLE.COM'), { role: 'ADMIN', roleVersion: 2 })
    await expectError(t, users.setRole('nobody@example.com', 'ADMIN', meta), { statusCode: 404 })
  })

  await t.test('audit repository: idempotent put, list asc/desc with cursors', async (t) => {
    const base = Date.parse('2024-05-01T12:00:00.000Z')
    const events = Array.from({ length: 5 }, (_, i) => buildAuditEvent(
      { subject: 'audited', feature: 'audited', action: 'ENVIRONMENT_UPDATED', environment: 'dev', actor: ACTOR, before: { n: i }, after: { n: i + 1 }, requestId: `req-${i}`, ...(i === 0 ? { correlationId: 'corr-0' } : {}) },
      { eventId: () => uuidv7() }, () => base + i * 1000))
    for (const e of events) t.equal(await audit.put(e), 'created')
    t.equal(await audit.put(events[0]), 'duplicate', 'second delivery is a no-op')
    t.equal((await queryPartition(auditPartition('audited'))).length, 5, 'one item per event')

    async function walk (order: 'asc' | 'desc'): Promise<{ pages: number[]; ids: string[] }> {
      const pages: number[] = []
      const ids: string[] = []
      let cursor: string | undefined
      for (let i = 0; i < 10; i++) {
        const page = await audit.list('audited', { order, limit: 2, cursor })
        pages.push(page.items.length)
        ids.push(...page.items.map((r) => r.eventId))
        if (page.nextCursor === null) break
        cursor = page.nextCursor
      }
      return { pages, ids }
    }
    const asc = await walk('asc')
    t.same(asc.ids, events.map((e) => e.eventId), 'oldest first')
    t.same(asc.pages, [2, 2, 1])
    const desc = await walk('desc')
    t.same(desc.ids, events.map((e) => e.eventId).reverse(), 'newest first')
    const first = await audit.list('audited', { order: 'asc', limit: 1 })
    t.match(first.items[0], { action: 'ENVIRONMENT_UPDATED', environment: 'dev', feature: 'audited', before: { n: 0 }, after: { n: 1 }, requestId: 'req-0', correlationId: 'corr-0' })
    t.notOk('correlationId' in (await audit.list('audited', { order: 'desc', limit: 1 })).items[0], 'absent when the event had none')
  })

  await t.test('outbox: listOutbox / deferOutbox / deleteOutbox', async (t) => {
    const event = buildAuditEvent({ subject: 'outboxed', feature: 'outboxed', action: 'FEATURE_UPDATED', actor: ACTOR, before: null, after: { x: 1 } }, { eventId: () => uuidv7() }, now)
    const createdAt = now()
    await store.commit([], [event])
    const item = await getItem(outboxKey(event.eventId))
    t.match(item, { entity: 'OutboxEvent', event: { eventId: event.eventId } })
    const sendAfter = item?.sendAfter as number
    t.ok(sendAfter >= createdAt + 30_000, 'due after the sweep age')

    const ids = async (dueBy: number) => (await audit.listOutbox(dueBy, 100_000)).map((e) => e.eventId)
    t.notOk((await ids(sendAfter - 1)).includes(event.eventId), 'not due before sendAfter')
    t.ok((await ids(sendAfter)).includes(event.eventId), 'due at sendAfter')
    await audit.deferOutbox(event.eventId, sendAfter + HOUR)
    t.notOk((await ids(sendAfter)).includes(event.eventId), 'deferred')
    t.ok((await ids(sendAfter + HOUR)).includes(event.eventId), 'due again later')
    const count = await audit.countOutbox()
    await audit.deleteOutbox(event.eventId)
    t.equal(await audit.countOutbox(), count - 1)
    await audit.deferOutbox(event.eventId, sendAfter)
    t.equal(await getItem(outboxKey(event.eventId)), undefined, 'deferring a consumed event does not resurrect it')
    await audit.deleteOutbox(event.eventId)
  })

  await t.test('scheduler applies a due change found by a SCHEDULE-partition Query', async (t) => {
    const at = new Date(now() + HOUR).toISOString()
    await features.create(flag('timed', {
      dev: { ...simpleTargeting(false), schedule: [{ id: 'go-live', at, change: { enabled: true } }] },
      qa: simpleTargeting(false)
    }), meta)
    const warnings: unknown[] = []
    const applyDue = createScheduler({ store, features, log: { info () {}, warn (obj) { warnings.push(obj) } } })

    t.same(await applyDue(), { applied: 0, failed: 0 }, 'nothing due yet')
    t.equal((await getItem(featureEnvKey('timed', 'dev')))?.enabled, false)

    clockOffset = 2 * HOUR
    try {
      t.same(await applyDue(), { applied: 1, failed: 0 }, 'the due change is applied')
    } finally {
      clockOffset = 0
    }
    t.same(warnings, [])
    t.match(await getItem(featureEnvKey('timed', 'dev')), { enabled: true, schedule: [], version: 2, updatedBy: SCHEDULER_ACTOR })
    t.same((await queryPartition('SCHEDULE')).filter((i) => i.flag === 'timed'), [], 'schedule entry removed')
    t.match(await outboxEvents('timed', 'ENVIRONMENT_UPDATED'), [{ actor: SCHEDULER_ACTOR, environment: 'dev', before: { enabled: false }, after: { enabled: true } }])
    t.same(await applyDue(), { applied: 0, failed: 0 }, 'nothing left to apply')
  })

  await t.test('20 concurrent putEnv without If-Match all commit, versions strictly increasing', async (t) => {
    await features.create(flag('hot', { dev: simpleTargeting(true) }), meta)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => features.putEnv('hot', 'dev', {
      ...simpleTargeting(i % 2 === 0),
      targets: [{ variant: 'on', values: [`writer-${i}`] }]
    }, { actor: `writer-${i}@example.com` })))
    t.same(results.map((r) => r.version).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 2), 'versions 2..21, each once')
    t.equal((await getItem(featureKey('hot')))?.version, 21)
    t.equal((await getItem(featureEnvKey('hot', 'dev')))?.version, 21)

    const events = await outboxEvents('hot', 'ENVIRONMENT_UPDATED')
    t.equal(events.length, 20, 'exactly one outbox event per committed write')
    // Each event's `before` is the state the change replaced: the versions form one chain.
    const chain = events.map((e) => ({ before: (e.before as { version: number }).version, after: (e.after as { version: number }).version }))
      .sort((a, b) => a.after - b.after)
    t.same(chain, Array.from({ length: 20 }, (_, i) => ({ before: i + 1, after: i + 2 })), 'before/after versions chain 1→2→…→21')
  })

  await t.test('a commit re-sent with its ClientRequestToken is applied once (the SDK retry path)', async (t) => {
    // The SDK puts a token on every TransactWriteItems and re-sends the identical request when it
    // retries (store.commit's client has maxAttempts 4), e.g. after a lost response.
    const id = randomBytes(4).toString('hex')
    const created = { PK: 'CONTRACT', SK: `TOKEN#${id}` }
    const counter = { PK: 'CONTRACT', SK: `COUNTER#${id}` }
    const request = (token: string, n = 1) => new TransactWriteCommand({
      ClientRequestToken: token,
      TransactItems: [
        { Put: { TableName: tableName, Item: { ...created, entity: 'Marker' }, ConditionExpression: 'attribute_not_exists(PK)' } },
        { Update: { TableName: tableName, Key: counter, UpdateExpression: 'ADD #n :n', ExpressionAttributeNames: { '#n': 'n' }, ExpressionAttributeValues: { ':n': n } } }
      ]
    })
    const token = uuidv7()
    await doc.send(request(token))
    await doc.send(request(token))
    t.equal((await getItem(counter))?.n, 1, 'the replay succeeded without applying the transaction again')
    await expectError(t, doc.send(request(token, 5)), { name: 'IdempotentParameterMismatchException' }, 'same token, different request')
    t.equal((await getItem(counter))?.n, 1, 'nothing applied')

    // A cancelled transaction leaves no token behind: once its cause is gone, the same request commits.
    const other = uuidv7()
    await expectError(t, doc.send(request(other)), { name: 'TransactionCanceledException' }, 'the Put condition fails')
    await doc.send(new DeleteCommand({ TableName: tableName, Key: created }))
    await doc.send(request(other))
    t.equal((await getItem(counter))?.n, 2, 'applied on the second try')
  })

  await t.test('transaction validation: more than 100 items, the same item twice', async (t) => {
    const prefix = `BULK#${randomBytes(4).toString('hex')}`
    const put = (i: number): WriteOp => ({ item: { Put: { TableName: tableName, Item: { PK: prefix, SK: `ITEM#${String(i).padStart(3, '0')}`, entity: 'Bulk' } } } })
    // The store refuses it before sending (a 400 naming the limit); DynamoDB would answer ValidationException.
    await expectError(t, store.commit(Array.from({ length: 101 }, (_, i) => put(i)), []), { statusCode: 400, message: /at most 100/ }, '101 items')
    t.same(await queryPartition(prefix), [], 'nothing written')
    await store.commit(Array.from({ length: 100 }, (_, i) => put(i)), [])
    t.equal((await queryPartition(prefix)).length, 100, '100 items is the limit, and allowed')

    const twice: WriteOp[] = [
      { item: { Put: { TableName: tableName, Item: { PK: prefix, SK: 'TWICE', entity: 'Bulk' } } } },
      { item: { Update: { TableName: tableName, Key: { PK: prefix, SK: 'TWICE' }, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': 1 } } } }
    ]
    await expectError(t, store.commit(twice, []), { name: 'ValidationException', message: /multiple operations on one item/ }, 'same item twice')
    t.equal(await getItem({ PK: prefix, SK: 'TWICE' }), undefined, 'nothing written')

    // An ordinary Put is unaffected by the failed transactions around it.
    await doc.send(new PutCommand({ TableName: tableName, Item: { PK: prefix, SK: 'TWICE', entity: 'Bulk' } }))
    t.ok(await getItem({ PK: prefix, SK: 'TWICE' }))
  })

  await t.test('getDefinitions: a consistent batch read; unprocessed keys asked again, never passed off as missing', async (t) => {
    const names = ['batch-a', 'batch-b', 'batch-c', 'batch-d']
    for (const n of names) await features.create(flag(n, { prod: simpleTargeting(false) }), meta)
    await features.putEnv('batch-c', 'prod', simpleTargeting(true), meta)
    const read = await definitions.getDefinitions([...names, 'batch-missing'], 'prod', { consistent: true })
    t.same([...read.keys()].sort(), names, 'every existing flag, the missing one absent')
    t.equal(read.get('batch-c')?.enabled, true, 'the write just made is seen (ConsistentRead)')

    // DynamoDB may answer part of a BatchGetItem and return the rest as UnprocessedKeys. This
    // client sends the engine only the first key of each call and reports the others unprocessed.
    const calls: number[] = []
    const partial = (processAtMost: number) => ({
      ...store,
      doc: {
        async send (command: unknown) {
          if (!(command instanceof BatchGetCommand)) return await doc.send(command as GetCommand)
          const asked = command.input.RequestItems?.[tableName]
          const keys = asked?.Keys ?? []
          calls.push(keys.length)
          const now = keys.slice(0, processAtMost)
          const res = now.length > 0 ? await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { ...asked, Keys: now } } })) : { Responses: { [tableName]: [] } }
          const rest = keys.slice(processAtMost)
          return { ...res, UnprocessedKeys: rest.length > 0 ? { [tableName]: { ...asked, Keys: rest } } : {} }
        }
      } as unknown as DynamoDBDocumentClient
    })
    const slow = createDefinitionReader(partial(1))
    const again = await slow.getDefinitions(names, 'prod', { consistent: true })
    t.same([...again.keys()].sort(), names, 'all four read')
    t.same(calls, [4, 3, 2, 1], 'each call asked again for what was left unprocessed')

    calls.length = 0
    const stuck = createDefinitionReader(partial(0))
    await expectError(t, stuck.getDefinitions(names, 'prod'), { statusCode: 503, message: /left 4 flag\(s\) of 'prod' unread/ }, 'keys never processed')
    t.equal(calls.length, BATCH_GET_ATTEMPTS, `given up after ${BATCH_GET_ATTEMPTS} calls, with backoff between them`)
  })
}
