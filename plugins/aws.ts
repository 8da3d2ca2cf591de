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

async function awsPlugin (fastify: FastifyInstance, opts: AwsPluginOptions) {
  const dynamo = opts.dynamo ?? createDocumentClient(fastify.config)
  const sqs = opts.sqs ?? createSqsClient(fastify.config)
  fastify.decorate('dynamo', dynamo)
  fastify.decorate('sqs', sqs)
  fastify.addHook('onClose', async () => {
    // Only destroy what this plugin created; injected clients belong to the caller.
    if (opts.dynamo === undefined) dynamo.destroy()
    if (opts.sqs === undefined) sqs.destroy()
  })
}

export default fp(awsPlugin, { name: 'aws', dependencies: ['config'] })
