// API keys: decorates `fastify.apiKeys` (the repository) and fills the auth plugin's
// `apiKeyVerifier` slot. Lookups are cached per process for a short TTL, so the evaluation hot
// path costs no read per request; a revocation committed through this process drops the entry at
// once (store.onCommitted), other processes (other Lambda instances) stop accepting it within the TTL.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createHash, timingSafeEqual } from 'node:crypto'
import { createApiKeyRepository, parseSecret, type ApiKeyRecord, type ApiKeyRepository } from '../src/repositories/api-key-repository.js'
import { TtlLru } from '../src/lib/ttl-lru.js'
import type { ApiKeyVerifier, Principal } from './auth.js'

declare module 'fastify' {
  interface FastifyInstance { apiKeys: ApiKeyRepository }
}

export interface ApiKeysPluginOptions {
  /** How long a verified (or unknown) key id is trusted without a read; default 10 s. */
  cacheTtlMs?: number
  /** Bound on cached key ids (unknown ids are cached too, so garbage keys cost one read each per TTL). */
  cacheMaxEntries?: number
}

export const DEFAULT_API_KEY_CACHE_TTL_MS = 10_000

/** Characters from a secret's key id to its end: the id (20), `_`, the random part (43). */
const SECRET_TAIL = 64

export function createApiKeyVerifier (repo: Pick<ApiKeyRepository, 'getRecord'>, cache: TtlLru<ApiKeyRecord | null>): ApiKeyVerifier {
  // The hot path (every evaluation). A secret that verified against a cached record is kept with
  // it and with the principal it stands for (in memory, for the record's cache lifetime: ≤ the TTL,
  // or until a revocation through this process drops the record), so later requests compare bytes
  // in constant time and reuse that principal instead of hashing; anything else is hashed and
  // compared with the stored digest, also in constant time. Records are never mutated (a change is
  // a new record object), so a kept principal is the one the record gives.
  const verified = new WeakMap<ApiKeyRecord, { secret: Buffer; principal: Principal | null }>()
  /** The principal of a secret already verified against `record`; undefined when it is not that secret. */
  function known (record: ApiKeyRecord, presented: Buffer): Principal | null | undefined {
    const k = verified.get(record)
    return k !== undefined && k.secret.length === presented.length && timingSafeEqual(k.secret, presented) ? k.principal : undefined
  }
  function principalOf (record: ApiKeyRecord | null, secret: string, environment: string): Principal | null {
    if (record === null) return null
    const presented = Buffer.from(secret, 'utf8')
    const hit = known(record, presented)
    if (hit !== undefined) return hit
    const stored = Buffer.from(record.digest, 'hex')
    const digest = createHash('sha256').update(presented).digest()
    if (stored.length !== digest.length || !timingSafeEqual(stored, digest)) return null
    const principal: Principal | null = record.revokedAt !== undefined || record.environment !== environment
      ? null
      : Object.freeze({ kind: 'apiKey', sub: `apikey:${record.id}`, role: 'CLIENT', keyId: record.id, environment: record.environment, keyKind: record.kind })
    verified.set(record, { secret: presented, principal })
    return principal
  }
  return {
    async verify (secret: string): Promise<Principal | undefined> {
      const parsed = parseSecret(secret)
      if (parsed === undefined) return undefined
      const record = cache.peek(parsed.keyId) ?? await cache.get(parsed.keyId, async () => (await repo.getRecord(parsed.keyId)) ?? null)
      return principalOf(record, secret, parsed.environment) ?? undefined
    },
    verifyCached (secret: string): Principal | null | undefined {
      // A secret verified before is byte for byte one that parsed: its key id is at a fixed place
      // from the end (`_<20 hex>_<43 chars>`), so a repeat skips the parse. Anything else parses.
      if (secret.length > SECRET_TAIL) {
        const record = cache.peek(secret.slice(-SECRET_TAIL, -SECRET_TAIL + 20))
        const hit = record === undefined || record === null ? undefined : known(record, Buffer.from(secret, 'utf8'))
        if (hit !== undefined) return hit
      }
      const parsed = parseSecret(secret)
      if (parsed === undefined) return null
      const record = cache.peek(parsed.keyId)
      return record === undefined ? undefined : principalOf(record, secret, parsed.environment)
    }
  }
}

async function apiKeysPlugin (fastify: FastifyInstance, opts: ApiKeysPluginOptions) {
  const repo = createApiKeyRepository(fastify.store)
  const ttlMs = opts.cacheTtlMs ?? DEFAULT_API_KEY_CACHE_TTL_MS
  const cache = new TtlLru<ApiKeyRecord | null>({
    ttlMs,
    maxEntries: opts.cacheMaxEntries ?? 10_000,
    // A key in use is re-read before its entry expires (a revocation elsewhere is still seen within the TTL).
    refreshAhead: { withinMs: Math.floor(ttlMs * 0.5), load: async (keyId) => (await repo.getRecord(keyId)) ?? null },
    now: fastify.clock
  })
  fastify.store.onCommitted(function invalidateApiKeys ({ keys }) {
    for (const k of keys) if (k.PK.startsWith('APIKEY#')) cache.delete(k.PK.slice('APIKEY#'.length))
  })
  fastify.decorate('apiKeys', repo)
  fastify.decorate('apiKeyVerifier', createApiKeyVerifier(repo, cache))
}

export default fp(apiKeysPlugin, { name: 'api-keys', dependencies: ['store', 'auth'] })
