// The data layer every surface shares: the clock, the store (the one write path, and the commit
// listener API caches subscribe to) and the definitions reader evaluation reads through. The write
// side's repositories are plugins/repositories.ts, registered by the whole app only, so the
// EvaluateFunction neither builds nor bundles them.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { v7 as uuidv7 } from 'uuid'
import { createStore, type Store } from '../src/repositories/store.js'
import { createDefinitionReader, type DefinitionReader } from '../src/repositories/definition-reader.js'
import type { Clock, IdGenerator } from '../src/domain/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    clock: Clock
    store: Store
    definitions: DefinitionReader
  }
}

export interface StorePluginOptions {
  now?: Clock
  ids?: IdGenerator
}

export const uuidV7Ids: IdGenerator = { eventId: () => uuidv7() }

async function storePlugin (fastify: FastifyInstance, opts: StorePluginOptions) {
  const now = opts.now ?? Date.now
  const store = createStore({
    doc: fastify.dynamo,
    tableName: fastify.config.TABLE_NAME,
    now,
    ids: opts.ids ?? uuidV7Ids,
    log: fastify.log,
    sweepAgeMs: fastify.config.OUTBOX_SWEEP_AGE_MS
  })
  fastify.decorate('clock', now)
  fastify.decorate('store', store)
  fastify.decorate('definitions', createDefinitionReader(store))
}

export default fp(storePlugin, { name: 'store', dependencies: ['config', 'aws'] })
