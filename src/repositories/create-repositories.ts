// The write side's repositories over one store, built the same way by the app (plugins/
// repositories.ts) and the background workers (src/workers/runtime.ts).
import type { Store } from './store.js'
import { createAuditRepository } from './audit-repository.js'
import { createEnvironmentRepository } from './environment-repository.js'
import { createFeatureRepository } from './feature-repository.js'
import { createSegmentRepository } from './segment-repository.js'
import { createUserRepository } from './user-repository.js'

export function createRepositories (store: Store, opts: { auditRetentionDays?: number } = {}) {
  const segments = createSegmentRepository(store)
  return {
    features: createFeatureRepository(store, { segments }),
    segments,
    users: createUserRepository(store),
    environments: createEnvironmentRepository(store),
    audit: createAuditRepository({ doc: store.doc, tableName: store.tableName, retentionDays: opts.auditRetentionDays })
  }
}

export type Repositories = ReturnType<typeof createRepositories>
