import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import { createDocumentClient } from '../src/aws.js'

declare module 'fastify' {
  interface FastifyInstance {
    dynamo: DynamoDBDocumentClient
  }
}

export interface AwsPluginOptions {
  /** A seam for tests and fault injection; the plugin builds a real client when absent. */
  dynamo?: DynamoDBDocumentClient
}

/**
 * The DynamoDB document client, shared by the repositories. The SQS client belongs to the audit
 * publisher plugin, which only the write side registers: the read-only EvaluateFunction neither
 * builds nor bundles it.
 */
async function awsPlugin (fastify: FastifyInstance, opts: AwsPluginOptions) {
  const dynamo = opts.dynamo ?? createDocumentClient(fastify.config)
  fastify.decorate('dynamo', dynamo)
  fastify.addHook('onClose', async () => {
    // Only destroy what this plugin created; an injected client belongs to the caller.
    if (opts.dynamo === undefined) dynamo.destroy()
  })
}

export default fp(awsPlugin, { name: 'aws', dependencies: ['config'] })
