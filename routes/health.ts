import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb'
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs'

const Check = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('error')]), latencyMs: Type.Number(), error: Type.Optional(Type.String()) })
const HealthSchema = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]), checks: Type.Object({ table: Check, queue: Check }) })

async function timed (fn: () => Promise<unknown>) {
  const start = performance.now()
  try {
    await fn()
    return { status: 'ok' as const, latencyMs: Math.round(performance.now() - start) }
  } catch (err) {
    return { status: 'error' as const, latencyMs: Math.round(performance.now() - start), error: (err as Error).name }
  }
}

export default async function healthRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  fastify.get('/', {
    config: { rateLimit: false },
    schema: {
      tags: ['health'],
      summary: '200 when the table is reachable (the queue is reported; audit events wait in the outbox while it is down)',
      response: { 200: HealthSchema, 503: HealthSchema }
    }
  }, async function health (_request, reply) {
    const [table, queue] = await Promise.all([
      timed(() => fastify.dynamo.send(new DescribeTableCommand({ TableName: fastify.config.TABLE_NAME }))),
      timed(() => fastify.sqs.send(new GetQueueAttributesCommand({ QueueUrl: fastify.config.AUDIT_QUEUE_URL, AttributeNames: ['QueueArn'] })))
    ])
    const status = table.status !== 'ok' ? 'down' : queue.status !== 'ok' ? 'degraded' : 'ok'
    return reply.code(table.status === 'ok' ? 200 : 503).send({ status, checks: { table, queue } })
  })
}
