// The write side's repositories (features, segments, users, environments, the audit log), over
// the shared store. Registered by the whole app only (src/app.ts), never by the read-only
// evaluation surface.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createRepositories } from '../src/repositories/create-repositories.js'
import type { FeatureRepository } from '../src/repositories/feature-repository.js'
import type { SegmentRepository } from '../src/repositories/segment-repository.js'
import type { UserRepository } from '../src/repositories/user-repository.js'
import type { EnvironmentRepository } from '../src/repositories/environment-repository.js'
import type { AuditRepository } from '../src/repositories/audit-repository.js'

declare module 'fastify' {
  interface FastifyInstance {
    features: FeatureRepository
    segments: SegmentRepository
    users: UserRepository
    environments: EnvironmentRepository
    audit: AuditRepository
  }
}

async function repositoriesPlugin (fastify: FastifyInstance) {
  const repositories = createRepositories(fastify.store)
  fastify.decorate('features', repositories.features)
  fastify.decorate('segments', repositories.segments)
  fastify.decorate('users', repositories.users)
  fastify.decorate('environments', repositories.environments)
  fastify.decorate('audit', repositories.audit)
}

export default fp(repositoriesPlugin, { name: 'repositories', dependencies: ['store'] })
