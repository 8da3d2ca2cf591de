import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../src/config.js'

declare module 'fastify' {
  interface FastifyInstance { config: Config }
}

export interface ConfigPluginOptions { env?: Record<string, string | undefined> }

// The TypeBox schema checked by loadConfig() (src/config.ts), the same validator the workers and
// scripts use, rather than @fastify/env: @fastify/env builds its own Ajv and compiles the JSON
// Schema meta-schema on every start (about 80 ms of a Lambda cold start), for one constant schema.
async function configPlugin (fastify: FastifyInstance, opts: ConfigPluginOptions) {
  // Only the given map: tests and the Lambda entry pass their own, and process.env must not leak in.
  const config = loadConfig(opts.env ?? process.env)
  if ((config.ADMIN_EMAIL === undefined) !== (config.ADMIN_PASSWORD === undefined)) {
    throw new Error('ADMIN_EMAIL and ADMIN_PASSWORD must be set together')
  }
  fastify.decorate('config', config)
}

export default fp(configPlugin, { name: 'config' })
