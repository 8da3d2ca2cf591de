// API keys: decorates `fastify.apiKeys` (the repository) and fills the auth plugin's
// `apiKeyVerifier` slot. Lookups are cached per process for a short TTL, so the evaluation hot
// path costs no read per request; a revocation committed through this process drops the entry at
// once (store.onCommit), other processes (other Lambda instances) stop accepting it within the TTL.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createHash, timingSafeEqual } from 'node:crypto'
import { createApiKeyRepository, parseSecret, type ApiKeyRecord, type ApiKeyRepository } from '../src/repositories/api-key-repository.js'
import { TtlLru } from '../src/evaluation/cache.js'
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

export function createApiKeyVerifier (repo: Pick<ApiKeyRepository, 'getRecord'>, cache: TtlLru<ApiKeyRecord | null>): ApiKeyVerifier {
  // The hot path (every evaluation). A secret that verified against a cached record is kept with
  // it (in memory, for the record's cache lifetime: ≤ the TTL, or until a revocation through this
  // process drops the record), so later requests compare bytes in constant time instead of
  // hashing; anything else is hashed and compared with the stored digest, also in constant time.
  const verified = new WeakMap<ApiKeyRecord, Buffer>()
  function matches (record: ApiKeyRecord, secret: string): boolean {
    const presented = Buffer.from(secret, 'utf8')
    const known = verified.get(record)
    if (known !== undefined && known.length === presented.length && timingSafeEqual(known, presented)) return true
    const stored = Buffer.from(record.digest, 'hex')
    const digest = createHash('sha256').update(presented).digest()
    const ok = stored.length === digest.length && timingSafeEqual(stored, digest)
    if (ok) verified.set(record, presented)
    return ok
  }
  function principalOf (record: ApiKeyRecord | null, secret: string, environment: string): Principal | null {
    if (record === null || !matches(record, secret)) return null
    if (record.revokedAt !== undefined || record.environment !== environment) return null
    return { kind: 'apiKey', sub: `apikey:${record.id}`, role: 'CLIENT', keyId: record.id, environment: record.environment }
  }
  return {
    async verify (secret: string): Promise<Principal | undefined> {
      const parsed = parseSecret(secret)
      if (parsed === undefined) return undefined
      const record = cache.peek(parsed.keyId) ?? await cache.get(parsed.keyId, async () => (await repo.getRecord(parsed.keyId)) ?? null)
      return principalOf(record, secret, parsed.environment) ?? undefined
    },
    verifyCached (secret: string): Principal | null | undefined {
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
  fastify.store.onCommit(function invalidateApiKeys (keys) {
    for (const k of keys) if (k.PK.startsWith('APIKEY#')) cache.delete(k.PK.slice('APIKEY#'.length))
  })
  fastify.decorate('apiKeys', repo)
  fastify.decorate('apiKeyVerifier', createApiKeyVerifier(repo, cache))
}

export default fp(apiKeysPlugin, { name: 'api-keys', dependencies: ['repositories', 'auth'] })
