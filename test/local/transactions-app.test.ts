// The dev engine's transactions as the app uses them: all-or-nothing with DynamoDB's cancellation
// reasons, and conditional creates that hold under 50 concurrent requests.
import t from 'tap'
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import { build, eventually } from '../helper.js'

t.test('transactions through the app', async (t) => {
  const ctx = await build(t)
  const { app } = ctx
  const TableName = app.config.TABLE_NAME
  const get = async (PK: string, SK: string) => (await app.dynamo.send(new GetCommand({ TableName, Key: { PK, SK }, ConsistentRead: true }))).Item

  t.test('a failing second condition writes nothing and returns the reasons', async (t) => {
    await app.dynamo.send(new PutCommand({ TableName, Item: { PK: 'TX', SK: 'EXISTING', version: 3 } }))
    const err = await app.dynamo.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName, Item: { PK: 'TX', SK: 'NEW', entity: 'Test' }, ConditionExpression: 'attribute_not_exists(PK)' } },
        {
          Update: {
            TableName,
            Key: { PK: 'TX', SK: 'EXISTING' },
            UpdateExpression: 'SET version = :next',
            ConditionExpression: 'version = :expected',
            ExpressionAttributeValues: { ':expected': 2, ':next': 3 },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
          }
        },
        { ConditionCheck: { TableName, Key: { PK: 'TX', SK: 'MISSING' }, ConditionExpression: 'attribute_not_exists(PK)' } }
      ]
    })).then(() => undefined, (e: unknown) => e as Error & { CancellationReasons?: Array<{ Code?: string; Item?: Record<string, unknown> }> })
    t.ok(err, 'the transaction is refused')
    t.equal(err?.name, 'TransactionCanceledException')
    t.same(err?.CancellationReasons?.map((r) => r.Code), ['None', 'ConditionalCheckFailed', 'None'], 'one reason per item, in order')
    t.same(err?.CancellationReasons?.[1]?.Item, { PK: { S: 'TX' }, SK: { S: 'EXISTING' }, version: { N: '3' } }, 'ALL_OLD returns the item as it was')
    t.match(err?.message, /ConditionalCheckFailed/)
    t.equal(await get('TX', 'NEW'), undefined, 'the first item was not written')
    t.match(await get('TX', 'EXISTING'), { version: 3 })
  })

  t.test('a failed app write leaves no trace: no items, no outbox event', async (t) => {
    const admin = await ctx.loginAs('ADMIN')
    const outbox = await app.audit.countOutbox()
    const res = await app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'half-made', environments: { dev: true, prod: true, nowhere: true } } })
    t.equal(res.statusCode, 400, res.body)
    t.equal(await get('FEATURES', 'FEATURE#half-made'), undefined)
    t.equal(await get('ENVIRONMENT#half-made', 'ENV#dev'), undefined)
    t.equal(await app.audit.countOutbox(), outbox, 'no audit event for a change that did not happen')
  })

  t.test('50 concurrent creates of one flag: one 201, 49 × 409, one audit record', async (t) => {
    ctx.startConsumer()
    const admin = await ctx.loginAs('ADMIN')
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => app.inject({
      method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'contended', description: `attempt ${i}`, environments: { dev: true, prod: i % 2 === 0 } }
    })))
    const codes = responses.map((r) => r.statusCode)
    t.equal(codes.filter((c) => c === 201).length, 1, 'exactly one 201')
    t.equal(codes.filter((c) => c === 409).length, 49, `49 × 409 (got ${JSON.stringify(codes)})`)
    const winner = responses.find((r) => r.statusCode === 201)!.json()

    const stored = (await app.inject({ method: 'GET', url: '/features/contended', headers: { authorization: admin } })).json()
    t.equal(stored.description, winner.description, 'the stored flag is the one that answered 201')
    t.equal(stored.version, 1)
    t.equal(stored.environments.prod.enabled, winner.environments.prod.enabled, 'its environment items come from the same request')

    const records = await eventually(async () => {
      if (await app.audit.countOutbox() !== 0) return undefined
      const page = await app.audit.list('contended', { order: 'asc', limit: 100 })
      return page.items.length > 0 ? page.items : undefined
    }, { what: 'the audit record and an empty outbox' })
    t.equal(records.length, 1, 'exactly one audit record')
    t.match(records[0], { action: 'FEATURE_CREATED', after: { description: winner.description } })
  })
})
