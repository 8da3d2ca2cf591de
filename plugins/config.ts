import fp from 'fastify-plugin'
import fastifyEnv from '@fastify/env'
import addFormats from 'ajv-formats'
import type { Ajv } from 'ajv'
import type { FastifyInstance } from 'fastify'
import { ConfigSchema, type Config } from '../src/config.js'

declare module 'fastify' {
  interface FastifyInstance { config: Config }
}

export interface ConfigPluginOptions { env?: Record<string, string | undefined> }

async function configPlugin (fastify: FastifyInstance, opts: ConfigPluginOptions) {
  await fastify.register(fastifyEnv, {
    confKey: 'config',
    schema: ConfigSchema,
    data: opts.env ?? process.env,
    // Only `data`: tests and the Lambda entry pass their own map, and process.env must not leak in.
    env: false,
    dotenv: false,
    ajv: { customOptions: (ajv: Ajv) => { addFormats.default(ajv); return ajv } }
  })
  if ((fastify.config.ADMIN_EMAIL === undefined) !== (fastify.config.ADMIN_PASSWORD === undefined)) {
    throw new Error('ADMIN_EMAIL and ADMIN_PASSWORD must be set together')
  }
}

export default fp(configPlugin, { name: 'config' })
