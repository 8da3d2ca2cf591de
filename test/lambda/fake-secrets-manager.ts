// A stand-in for the Secrets Manager endpoint, speaking its JSON protocol (POST /, X-Amz-Target
// secretsmanager.GetSecretValue), so the real SDK client in src/lambda/env.ts is exercised over
// HTTP. Point a process at it with AWS_ENDPOINT_URL_SECRETS_MANAGER (the SDK's service-specific
// endpoint variable) and any static credentials.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface FakeSecretsManager { endpoint: string; calls: Array<{ target: string; secretId: string }>; close(): Promise<void> }

export async function startFakeSecretsManager (secrets: Record<string, string>): Promise<FakeSecretsManager> {
  const calls: FakeSecretsManager['calls'] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '')
      let secretId = ''
      try {
        secretId = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId?: string }).SecretId ?? '')
      } catch {}
      calls.push({ target, secretId })
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': `fake-${calls.length}` })
        res.end(JSON.stringify(body))
      }
      if (target !== 'secretsmanager.GetSecretValue') return reply(400, { __type: 'UnknownOperationException', message: target })
      const value = secrets[secretId]
      if (value === undefined) return reply(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." })
      reply(200, { ARN: secretId, Name: secretId.split(':').pop(), SecretString: value, VersionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111', VersionStages: ['AWSCURRENT'], CreatedDate: Math.floor(Date.now() / 1000) })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
