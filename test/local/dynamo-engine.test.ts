import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb'
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { startLocalDynamo, type LocalDynamo } from '../../src/local/dynamo-engine.js'
import { eventually } from '../eventually.js'

const TABLE = 'switchyard-test'

interface Ctx {
  engine: LocalDynamo
  client: DynamoDBClient
  doc: DynamoDBDocumentClient
}

function clientFor (engine: LocalDynamo): { client: DynamoDBClient; doc: DynamoDBDocumentClient } {
  const client = new DynamoDBClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  })
  return { client, doc: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }) }
}

async function createTable (client: DynamoDBClient): Promise<void> {
  await client.send(new CreateTableCommand({
    TableName: TABLE,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'PK', AttributeType: 'S' },
      { AttributeName: 'SK', AttributeType: 'S' },
      { AttributeName: 'GSI1PK', AttributeType: 'S' },
      { AttributeName: 'GSI1SK', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }, { AttributeName: 'SK', KeyType: 'RANGE' }],
    GlobalSecondaryIndexes: [{
      IndexName: 'GSI1',
      KeySchema: [{ AttributeName: 'GSI1PK', KeyType: 'HASH' }, { AttributeName: 'GSI1SK', KeyType: 'RANGE' }],
      Projection: { ProjectionType: 'ALL' },
    }],
  }))
  await waitActive(client)
}

async function waitActive (client: DynamoDBClient): Promise<void> {
  await eventually(async () => (await client.send(new DescribeTableCommand({ TableName: TABLE }))).Table?.TableStatus === 'ACTIVE', { intervalMs: 10, what: 'the table to be ACTIVE' })
}

async function setup (t: { teardown(fn: () => unknown): void }, path?: string): Promise<Ctx> {
  const engine = await startLocalDynamo({ path, createTableMs: 0 })
  const { client, doc } = clientFor(engine)
  t.teardown(async () => {
    client.destroy()
    await engine.close()
  })
  await createTable(client)
  return { engine, client, doc }
}

async function get (doc: DynamoDBDocumentClient, PK: string, SK: string) {
  return (await doc.send(new GetCommand({ TableName: TABLE, Key: { PK, SK }, ConsistentRead: true }))).Item
}

async function expectError<T extends Error = Error> (p: Promise<unknown>): Promise<T> {
  try {
    await p
  } catch (err) {
    return err as T
  }
  throw new Error('expected the request to fail')
}

t.test('successful put + update + delete transaction, visible in the table and through GSI1', async (t) => {
  const { doc } = await setup(t)
  await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'F', SK: 'b', count: 1 } }))
  await doc.send(new PutCommand({
    TableName: TABLE,
    Item: { PK: 'F', SK: 'c', GSI1PK: 'G', GSI1SK: 'c', entity: 'Doomed' },
  }))

  const res = await doc.send(new TransactWriteCommand({
    TransactItems: [
      {
        Put: {
          TableName: TABLE,
          Item: { PK: 'F', SK: 'a', GSI1PK: 'G', GSI1SK: 'a', entity: 'Feature' },
          ConditionExpression: 'attribute_not_exists(PK)',
        },
      },
      {
        Update: {
          TableName: TABLE,
          Key: { PK: 'F', SK: 'b' },
          UpdateExpression: 'SET #c = #c + :one, GSI1PK = :g, GSI1SK = :s',
          ConditionExpression: '#c = :one',
          ExpressionAttributeNames: { '#c': 'count' },
          ExpressionAttributeValues: { ':one': 1, ':g': 'G', ':s': 'b' },
        },
      },
      { Delete: { TableName: TABLE, Key: { PK: 'F', SK: 'c' }, ConditionExpression: 'attribute_exists(PK)' } },
    ],
  }))
  t.equal(res.$metadata.httpStatusCode, 200)

  t.same(await get(doc, 'F', 'a'), { PK: 'F', SK: 'a', GSI1PK: 'G', GSI1SK: 'a', entity: 'Feature' })
  t.same(await get(doc, 'F', 'b'), { PK: 'F', SK: 'b', GSI1PK: 'G', GSI1SK: 'b', count: 2 })
  t.equal(await get(doc, 'F', 'c'), undefined)

  const q = await doc.send(new QueryCommand({
    TableName: TABLE,
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :g',
    ExpressionAttributeValues: { ':g': 'G' },
  }))
  t.same(q.Items?.map((i) => i.SK), ['a', 'b'], 'GSI1 has the put and the updated item, not the deleted one')
  t.same(q.Items?.[1], { PK: 'F', SK: 'b', GSI1PK: 'G', GSI1SK: 'b', count: 2 })

  // Moving an item to another GSI key through a transaction removes the old index entry.
  await doc.send(new TransactWriteCommand({
    TransactItems: [{
      Update: {
        TableName: TABLE,
        Key: { PK: 'F', SK: 'a' },
        UpdateExpression: 'SET GSI1PK = :h',
        ExpressionAttributeValues: { ':h': 'H' },
      },
    }],
  }))
  const q2 = await doc.send(new QueryCommand({
    TableName: TABLE,
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :g',
    ExpressionAttributeValues: { ':g': 'G' },
  }))
  t.same(q2.Items?.map((i) => i.SK), ['b'])
})

t.test('a failing condition writes nothing and reports CancellationReasons', async (t) => {
  const { doc } = await setup(t)
  await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'F', SK: 'y', version: 3 } }))
  await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'F', SK: 'z', GSI1PK: 'G', GSI1SK: 'z' } }))

  const err = await expectError<TransactionCanceledException>(doc.send(new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: TABLE, Item: { PK: 'F', SK: 'x', GSI1PK: 'G', GSI1SK: 'x' } } },
      {
        Update: {
          TableName: TABLE,
          Key: { PK: 'F', SK: 'y' },
          UpdateExpression: 'SET version = version + :one',
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':one': 1, ':expected': 2 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      { Delete: { TableName: TABLE, Key: { PK: 'F', SK: 'z' } } },
    ],
  })))

  t.ok(err instanceof TransactionCanceledException, 'the SDK raises TransactionCanceledException')
  t.equal(err.name, 'TransactionCanceledException')
  t.equal(err.$metadata.httpStatusCode, 400)
  t.equal(err.message,
    'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]')
  t.same(err.CancellationReasons, [
    { Code: 'None' },
    {
      Code: 'ConditionalCheckFailed',
      Message: 'The conditional request failed',
      Item: { PK: { S: 'F' }, SK: { S: 'y' }, version: { N: '3' } },
    },
    { Code: 'None' },
  ])

  t.equal(await get(doc, 'F', 'x'), undefined, 'the put was not applied')
  t.same(await get(doc, 'F', 'y'), { PK: 'F', SK: 'y', version: 3 }, 'the update was not applied')
  t.ok(await get(doc, 'F', 'z'), 'the delete was not applied')
  const q = await doc.send(new QueryCommand({
    TableName: TABLE,
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :g',
    ExpressionAttributeValues: { ':g': 'G' },
  }))
  t.same(q.Items?.map((i) => i.SK), ['z'], 'GSI1 untouched')

  // Without ALL_OLD the reason carries no Item.
  const err2 = await expectError<TransactionCanceledException>(doc.send(new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: TABLE, Item: { PK: 'F', SK: 'y' }, ConditionExpression: 'attribute_not_exists(PK)' } },
    ],
  })))
  t.same(err2.CancellationReasons, [{ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }])
})

t.test('ConditionCheck items gate the other writes', async (t) => {
  const { doc } = await setup(t)
  await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'ENV', SK: 'prod', locked: false } }))

  const write = (locked: boolean, sk: string) => doc.send(new TransactWriteCommand({
    TransactItems: [
      {
        ConditionCheck: {
          TableName: TABLE,
          Key: { PK: 'ENV', SK: 'prod' },
          ConditionExpression: '#l = :l',
          ExpressionAttributeNames: { '#l': 'locked' },
          ExpressionAttributeValues: { ':l': locked },
        },
      },
      { Put: { TableName: TABLE, Item: { PK: 'F', SK: sk } } },
    ],
  }))

  await write(false, 'ok')
  t.ok(await get(doc, 'F', 'ok'), 'written when the check passes')

  const err = await expectError<TransactionCanceledException>(write(true, 'blocked'))
  t.equal(err.name, 'TransactionCanceledException')
  t.same(err.CancellationReasons?.map((r) => r.Code), ['ConditionalCheckFailed', 'None'])
  t.equal(await get(doc, 'F', 'blocked'), undefined, 'not written when the check fails')
  t.same(await get(doc, 'ENV', 'prod'), { PK: 'ENV', SK: 'prod', locked: false }, 'ConditionCheck writes nothing')

  // A ConditionCheck needs a ConditionExpression.
  const invalid = await expectError(doc.send(new TransactWriteCommand({
    TransactItems: [{ ConditionCheck: { TableName: TABLE, Key: { PK: 'ENV', SK: 'prod' } } as never }],
  })))
  t.equal(invalid.name, 'ValidationException')
})

t.test('validation errors', async (t) => {
  const { doc } = await setup(t)

  const dup = await expectError(doc.send(new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: TABLE, Item: { PK: 'F', SK: 'a' } } },
      { Update: { TableName: TABLE, Key: { PK: 'F', SK: 'a' }, UpdateExpression: 'SET x = :x', ExpressionAttributeValues: { ':x': 1 } } },
    ],
  })))
  t.equal(dup.name, 'ValidationException')
  t.equal(dup.message, 'Transaction request cannot include multiple operations on one item')

  const tooMany = await expectError(doc.send(new TransactWriteCommand({
    TransactItems: Array.from({ length: 101 }, (_, i) => ({ Put: { TableName: TABLE, Item: { PK: 'F', SK: `i${i}` } } })),
  })))
  t.equal(tooMany.name, 'ValidationException')
  t.match(tooMany.message, /Member must have length less than or equal to 100/)

  const empty = await expectError(doc.send(new TransactWriteCommand({ TransactItems: [] })))
  t.equal(empty.name, 'ValidationException')
  t.match(empty.message, /Member must have length greater than or equal to 1/)

  const missing = await expectError(doc.send(new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: TABLE, Item: { PK: 'F', SK: 'a' } } },
      { Put: { TableName: 'no-such-table', Item: { PK: 'F', SK: 'a' } } },
    ],
  })))
  t.equal(missing.name, 'ResourceNotFoundException')

  const badKey = await expectError(doc.send(new TransactWriteCommand({
    TransactItems: [{ Delete: { TableName: TABLE, Key: { PK: 'F' } } }],
  })))
  t.equal(badKey.name, 'ValidationException')

  const badExpr = await expectError(doc.send(new TransactWriteCommand({
    TransactItems: [{ Update: { TableName: TABLE, Key: { PK: 'F', SK: 'a' }, UpdateExpression: 'SET = nonsense' } }],
  })))
  t.equal(badExpr.name, 'ValidationException')
  t.match(badExpr.message, /Invalid UpdateExpression/)

  const twoOps = await expectError(doc.send(new TransactWriteCommand({
    TransactItems: [{
      Put: { TableName: TABLE, Item: { PK: 'F', SK: 'a' } },
      Delete: { TableName: TABLE, Key: { PK: 'F', SK: 'b' } },
    }],
  })))
  t.equal(twoOps.name, 'ValidationException')

  const dupGet = await expectError(doc.send(new TransactGetCommand({
    TransactItems: [{ Get: { TableName: TABLE, Key: { PK: 'F', SK: 'a' } } }, { Get: { TableName: TABLE, Key: { PK: 'F', SK: 'a' } } }],
  })))
  t.equal(dupGet.name, 'ValidationException')

  const scan = await doc.send(new ScanCommand({ TableName: TABLE }))
  t.equal(scan.Count, 0, 'no rejected transaction wrote anything')
})

t.test('50 concurrent create-if-absent transactions: exactly one wins', async (t) => {
  const { doc } = await setup(t)
  const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => doc.send(new TransactWriteCommand({
    TransactItems: [
      { Put: { TableName: TABLE, Item: { PK: 'FEATURES', SK: 'FEATURE#x', by: i }, ConditionExpression: 'attribute_not_exists(PK)' } },
      { Put: { TableName: TABLE, Item: { PK: 'AUDIT', SK: `EVENT#${String(i).padStart(2, '0')}`, by: i } } },
    ],
  }))))

  const ok = results.filter((r) => r.status === 'fulfilled')
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
  t.equal(ok.length, 1, 'exactly one transaction succeeds')
  t.ok(failed.every((r) => r.reason.name === 'TransactionCanceledException'), 'the others are cancelled')

  const winner = (await get(doc, 'FEATURES', 'FEATURE#x'))?.by
  const audit = await doc.send(new QueryCommand({
    TableName: TABLE,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': 'AUDIT' },
  }))
  t.equal(audit.Count, 1, 'exactly one distinct item exists')
  t.equal(audit.Items?.[0].by, winner, 'and it belongs to the winning transaction')
})

t.test('UpdateItem increments interleaved with versioned transactions never lose an update', async (t) => {
  const { doc } = await setup(t)
  await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'C', SK: 'counter', counter: 0, version: 0 } }))

  let incrementsOk = 0
  let txOk = 0
  let txCancelled = 0

  // A plain, unconditional UpdateItem through dynalite: bumps both counter and version.
  const increment = async () => {
    await doc.send(new UpdateCommand({
      TableName: TABLE,
      Key: { PK: 'C', SK: 'counter' },
      UpdateExpression: 'SET #c = #c + :one, version = version + :one',
      ExpressionAttributeNames: { '#c': 'counter' },
      ExpressionAttributeValues: { ':one': 1 },
    }))
    incrementsOk++
  }

  // Optimistic concurrency: read the version, then increment in a transaction conditioned on it;
  // on cancellation re-read and retry (a few times, then give up).
  const versionedTransaction = async (worker: number, round: number) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await get(doc, 'C', 'counter')
      try {
        await doc.send(new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: TABLE,
                Key: { PK: 'C', SK: 'counter' },
                UpdateExpression: 'SET #c = #c + :one, version = :next',
                ConditionExpression: 'version = :v',
                ExpressionAttributeNames: { '#c': 'counter' },
                ExpressionAttributeValues: { ':one': 1, ':v': current?.version, ':next': current?.version + 1 },
              },
            },
            { Put: { TableName: TABLE, Item: { PK: 'LOG', SK: `w${worker}#r${round}` } } },
          ],
        }))
        txOk++
        return
      } catch (err) {
        if ((err as Error).name !== 'TransactionCanceledException') throw err
        txCancelled++
      }
    }
  }

  const workers = 10
  const rounds = 8
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    for (let r = 0; r < rounds; r++) {
      if ((w + r) % 2 === 0) await increment()
      else await versionedTransaction(w, r)
    }
  }))

  const final = await get(doc, 'C', 'counter')
  t.ok(txOk > 0, `some transactions succeeded (${txOk})`)
  t.ok(txCancelled > 0, `some transactions were cancelled by a concurrent write (${txCancelled})`)
  t.equal(incrementsOk, workers * rounds / 2)
  t.equal(final?.counter, incrementsOk + txOk, 'counter = number of successful operations')
  t.equal(final?.version, incrementsOk + txOk, 'version = number of successful operations')
  const log = await doc.send(new QueryCommand({
    TableName: TABLE,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': 'LOG' },
  }))
  t.equal(log.Count, txOk, 'one log item per successful transaction, none for cancelled ones')
})

t.test('persistence: transactions survive close and reopen of the same path', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-dynamo-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  {
    const engine = await startLocalDynamo({ path: dir, createTableMs: 0 })
    const { client, doc } = clientFor(engine)
    await createTable(client)
    await doc.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: TABLE, Item: { PK: 'FEATURES', SK: 'FEATURE#a', GSI1PK: 'ENT', GSI1SK: 'a' } } },
        { Put: { TableName: TABLE, Item: { PK: 'FEATURES', SK: 'FEATURE#b', GSI1PK: 'ENT', GSI1SK: 'b' } } },
      ],
    }))
    client.destroy()
    await engine.close()
  }

  const engine = await startLocalDynamo({ path: dir })
  const { client, doc } = clientFor(engine)
  t.teardown(async () => {
    client.destroy()
    await engine.close()
  })
  t.same(await get(doc, 'FEATURES', 'FEATURE#a'), { PK: 'FEATURES', SK: 'FEATURE#a', GSI1PK: 'ENT', GSI1SK: 'a' })
  t.same(await get(doc, 'FEATURES', 'FEATURE#b'), { PK: 'FEATURES', SK: 'FEATURE#b', GSI1PK: 'ENT', GSI1SK: 'b' })
  const q = await doc.send(new QueryCommand({
    TableName: TABLE,
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :g',
    ExpressionAttributeValues: { ':g': 'ENT' },
  }))
  t.same(q.Items?.map((i) => i.SK), ['FEATURE#a', 'FEATURE#b'], 'GSI entries persisted too')
})

t.test('acknowledged transactions survive a SIGKILL of the engine process', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-dynamo-kill-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const engineModule = fileURLToPath(new URL('../../src/local/dynamo-engine.ts', import.meta.url))

  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    const { startLocalDynamo } = await import(${JSON.stringify(engineModule)})
    const engine = await startLocalDynamo({ path: ${JSON.stringify(dir)}, createTableMs: 0 })
    console.log(JSON.stringify({ endpoint: engine.endpoint, port: engine.port }))
  `], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const [line] = await once(child.stdout, 'data') as [Buffer]
  const { endpoint, port } = JSON.parse(line.toString()) as { endpoint: string; port: number }

  const remote = clientFor({ endpoint, port, close: async () => {} })
  await createTable(remote.client)
  for (let i = 0; i < 5; i++) {
    await remote.doc.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: TABLE, Item: { PK: 'FEATURES', SK: `FEATURE#${i}`, GSI1PK: 'ENT', GSI1SK: `${i}` } } },
        { Put: { TableName: TABLE, Item: { PK: 'AUDIT', SK: `EVENT#${i}` } } },
      ],
    }))
  }
  remote.client.destroy()
  child.kill('SIGKILL')
  await once(child, 'exit')

  const engine = await startLocalDynamo({ path: dir })
  const { client, doc } = clientFor(engine)
  t.teardown(async () => {
    client.destroy()
    await engine.close()
  })
  const features = await doc.send(new QueryCommand({
    TableName: TABLE,
    IndexName: 'GSI1',
    KeyConditionExpression: 'GSI1PK = :g',
    ExpressionAttributeValues: { ':g': 'ENT' },
  }))
  t.equal(features.Count, 5, 'every acknowledged transaction is there, GSI included')
  const audit = await doc.send(new QueryCommand({
    TableName: TABLE,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': 'AUDIT' },
  }))
  t.equal(audit.Count, 5)
})

t.test('TransactGetItems returns items in order, missing ones as {}', async (t) => {
  const { doc } = await setup(t)
  await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'F', SK: 'a', name: 'a', extra: { deep: 1 } } }))
  await doc.send(new PutCommand({ TableName: TABLE, Item: { PK: 'F', SK: 'c', name: 'c' } }))

  const res = await doc.send(new TransactGetCommand({
    TransactItems: [
      { Get: { TableName: TABLE, Key: { PK: 'F', SK: 'c' } } },
      { Get: { TableName: TABLE, Key: { PK: 'F', SK: 'b' } } },
      { Get: { TableName: TABLE, Key: { PK: 'F', SK: 'a' } } },
      {
        Get: {
          TableName: TABLE,
          Key: { PK: 'G', SK: 'a' },
        },
      },
    ],
  }))
  t.same(res.Responses, [
    { Item: { PK: 'F', SK: 'c', name: 'c' } },
    {},
    { Item: { PK: 'F', SK: 'a', name: 'a', extra: { deep: 1 } } },
    {},
  ])

  const projected = await doc.send(new TransactGetCommand({
    TransactItems: [{
      Get: { TableName: TABLE, Key: { PK: 'F', SK: 'a' }, ProjectionExpression: '#n, extra.deep', ExpressionAttributeNames: { '#n': 'name' } },
    }],
  }))
  t.same(projected.Responses, [{ Item: { name: 'a', extra: { deep: 1 } } }])

  const missingTable = await expectError(doc.send(new TransactGetCommand({
    TransactItems: [{ Get: { TableName: 'no-such-table', Key: { PK: 'F', SK: 'a' } } }],
  })))
  t.equal(missingTable.name, 'ResourceNotFoundException')
})
