import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { v7 as uuidv7 } from 'uuid'
import { createStore, type Store } from '../src/repositories/store.js'
import { createFeatureRepository, type FeatureRepository } from '../src/repositories/feature-repository.js'
import { createSegmentRepository, type SegmentRepository } from '../src/repositories/segment-repository.js'
import { createUserRepository, type UserRepository } from '../src/repositories/user-repository.js'
import { createEnvironmentRepository, type EnvironmentRepository } from '../src/repositories/environment-repository.js'
import { createAuditRepository, type AuditRepository } from '../src/repositories/audit-repository.js'
import type { Clock, IdGenerator } from '../src/domain/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    clock: Clock
    store: Store
    features: FeatureRepository
    segments: SegmentRepository
    users: UserRepository
    environments: EnvironmentRepository
    audit: AuditRepository
  }
}

export interface RepositoriesPluginOptions {
  now?: Clock
  ids?: IdGenerator
  /**
   * The surface never writes (the EvaluateFunction, whose role cannot): no audit publisher is
   * registered, so none is wired into the store. Were a commit ever made, its event would stay in
   * the outbox item committed with it until the sweeper sends it; nothing would be lost.
   */
  readOnly?: boolean
}

export const uuidV7Ids: IdGenerator = { eventId: () => uuidv7() }

async function repositoriesPlugin (fastify: FastifyInstance, opts: RepositoriesPluginOptions) {
  const now = opts.now ?? Date.now
  const tableName = fastify.config.TABLE_NAME
  const audit = createAuditRepository({ doc: fastify.dynamo, tableName })
  // The publisher is looked up at commit time: the audit-publisher plugin registers after us.
  const store = createStore({
    doc: fastify.dynamo,
    tableName,
    now,
    ids: opts.ids ?? uuidV7Ids,
    publisher: opts.readOnly === true ? undefined : { publish: async (events) => { await fastify.auditPublisher.publish(events) } },
    sweepAgeMs: fastify.config.OUTBOX_SWEEP_AGE_MS
  })
  const segments = createSegmentRepository(store)
  fastify.decorate('clock', now)
  fastify.decorate('store', store)
  fastify.decorate('audit', audit)
  fastify.decorate('segments', segments)
  fastify.decorate('features', createFeatureRepository(store, { segments }))
  fastify.decorate('users', createUserRepository(store))
  fastify.decorate('environments', createEnvironmentRepository(store))
}

export default fp(repositoriesPlugin, { name: 'repositories', dependencies: ['config', 'aws'] })
