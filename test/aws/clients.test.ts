// Endpoint overrides and credentials (src/aws.ts): the fixed local credentials are for engines on
// this machine only; any other endpoint, or none, uses the SDK's default chain (on Lambda, the
// function's role), and the SDK's own AWS_ENDPOINT_URL_* variables keep working.
import t from 'tap'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { ListQueuesCommand } from '@aws-sdk/client-sqs'
import { createDocumentClient, isLoopbackEndpoint, LOCAL_CREDENTIALS } from '../../src/aws.js'
import { createSqsClient } from '../../src/aws-sqs.js'
import type { Teardown } from '../helper.js'

const ROLE = { AWS_ACCESS_KEY_ID: 'ASIAROLEKEYEXAMPLE', AWS_SECRET_ACCESS_KEY: 'role-secret', AWS_SESSION_TOKEN: 'role-session' }

/** Run `fn` with these variables set in process.env (the SDK reads them when a client resolves). */
async function withEnv<T> (vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

/** A stand-in AWS endpoint on a loopback port that records each request's headers and answers `body`. */
async function recordingEndpoint (t: Teardown, body: string) {
  const seen: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    req.on('end', () => { res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(body) })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

const accessKeyOf = (headers: IncomingHttpHeaders) => /Credential=([^/]+)\//.exec(String(headers.authorization))?.[1]

t.test('loopback addresses are the embedded engines; nothing else is', async (t) => {
  for (const e of ['http://127.0.0.1:8000', 'http://localhost:4566', 'http://[::1]:9324', 'http://127.8.9.10', 'http://sqs.localhost:1']) t.ok(isLoopbackEndpoint(e), e)
  for (const e of ['https://vpce-0a1b2c3d.dynamodb.us-east-1.vpce.amazonaws.com', 'http://10.0.0.5:8000', 'http://dynamodb-local:8000', 'https://proxy.example.com', 'not a url', 'http://127.0.0.1.example.com']) t.notOk(isLoopbackEndpoint(e), e)
})

t.test('a local engine gets the fixed local credentials, even when the environment has others', async (t) => {
  await withEnv(ROLE, async () => {
    const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: 'http://127.0.0.1:9' })
    const sqs = createSqsClient({ AWS_REGION: 'us-east-1', SQS_ENDPOINT: 'http://localhost:9' })
    t.teardown(() => { doc.destroy(); sqs.destroy() })
    t.match(await doc.config.credentials(), LOCAL_CREDENTIALS)
    t.match(await sqs.config.credentials(), LOCAL_CREDENTIALS)
  })
})

t.test('an endpoint override elsewhere (a VPC endpoint, a proxy) signs with the default chain', async (t) => {
  await withEnv(ROLE, async () => {
    const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: 'https://vpce-0a1b2c3d.dynamodb.us-east-1.vpce.amazonaws.com' })
    const sqs = createSqsClient({ AWS_REGION: 'us-east-1', SQS_ENDPOINT: 'https://proxy.example.com' })
    t.teardown(() => { doc.destroy(); sqs.destroy() })
    t.match(await doc.config.credentials(), { accessKeyId: ROLE.AWS_ACCESS_KEY_ID, sessionToken: ROLE.AWS_SESSION_TOKEN })
    t.match(await sqs.config.credentials(), { accessKeyId: ROLE.AWS_ACCESS_KEY_ID, sessionToken: ROLE.AWS_SESSION_TOKEN })
  })
})

t.test('without an override, AWS_ENDPOINT_URL_DYNAMODB / _SQS decide the endpoint and the chain the credentials', async (t) => {
  const dynamo = await recordingEndpoint(t, '{"TableNames":[]}')
  const queue = await recordingEndpoint(t, '{"QueueUrls":[]}')
  await withEnv({ ...ROLE, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url, AWS_ENDPOINT_URL_SQS: queue.url }, async () => {
    const doc = createDocumentClient({ AWS_REGION: 'us-east-1' })
    const sqs = createSqsClient({ AWS_REGION: 'us-east-1' })
    t.teardown(() => { doc.destroy(); sqs.destroy() })
    t.same((await doc.send(new ListTablesCommand({}))).TableNames, [])
    await sqs.send(new ListQueuesCommand({}))
  })
  t.equal(dynamo.seen.length, 1, 'the DynamoDB requests went to AWS_ENDPOINT_URL_DYNAMODB')
  t.equal(queue.seen.length, 1, 'the SQS request went to AWS_ENDPOINT_URL_SQS')
  t.equal(accessKeyOf(dynamo.seen[0]!), ROLE.AWS_ACCESS_KEY_ID, 'signed with the default chain\'s credentials')
  t.equal(dynamo.seen[0]!['x-amz-security-token'], ROLE.AWS_SESSION_TOKEN)
  t.equal(accessKeyOf(queue.seen[0]!), ROLE.AWS_ACCESS_KEY_ID)
})
