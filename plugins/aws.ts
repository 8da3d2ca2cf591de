import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { SQSClient } from '@aws-sdk/client-sqs'
import { createDocumentClient, createSqsClient } from '../src/aws.js'

declare module 'fastify' {
  interface FastifyInstance {
    dynamo: DynamoDBDocumentClient
    sqs: SQSClient
  }
}

export interface AwsPluginOptions {
  /** Seams for tests and fault injection; the plugin builds real clients when absent. */
  dynamo?: DynamoDBDocumentClient
  sqs?: SQSClient
}

export interface AwsClientsOptions extends AwsPluginOptions {
  /**
   * A surface that never writes (the EvaluateFunction) sends nothing to SQS: no client is built,
   * which saves its construction in a cold start. `fastify.sqs` then throws if anything asks.
   */
  withoutSqs?: boolean
}

async function awsPlugin (fastify: FastifyInstance, opts: AwsClientsOptions) {
  const dynamo = opts.dynamo ?? createDocumentClient(fastify.config)
  fastify.decorate('dynamo', dynamo)
  const sqs = opts.withoutSqs === true ? undefined : opts.sqs ?? createSqsClient(fastify.config)
  if (sqs !== undefined) {
    fastify.decorate('sqs', sqs)
  } else {
    fastify.decorate('sqs', { getter () { throw new Error('this surface is read-only: it has no SQS client') } })
  }
  fastify.addHook('onClose', async () => {
    // Only destroy what this plugin created; injected clients belong to the caller.
    if (opts.dynamo === undefined) dynamo.destroy()
    if (opts.sqs === undefined) sqs?.destroy()
  })
}

export default fp(awsPlugin, { name: 'aws', dependencies: ['config'] })
