// The API-key verifier on its own (plugins/api-keys.ts): what it accepts and refuses, from a
// record it reads and from a record already cached, including a secret that differs from a
// verified one only where the cached path does not look first (its environment prefix).
import t from 'tap'
import { createHash } from 'node:crypto'
import { createApiKeyVerifier } from '../../plugins/api-keys.js'
import { TtlLru } from '../../src/lib/ttl-lru.js'
import type { ApiKeyRecord } from '../../src/repositories/api-key-repository.js'

const ID = '0123456789abcdef0123'
const RANDOM = 'A'.repeat(40) + 'b_-'
const SECRET = `sy_prod_${ID}_${RANDOM}`
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')
const record = (extra: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: ID, name: 'svc', environment: 'prod', kind: 'client', role: 'CLIENT', createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'admin@example.com', digest: digest(SECRET), ...extra
})

function setup (stored: ApiKeyRecord | undefined) {
  const reads: string[] = []
  const repo = { getRecord: async (id: string) => { reads.push(id); return stored } }
  const cache = new TtlLru<ApiKeyRecord | null>({ ttlMs: 60_000, maxEntries: 100 })
  return { verifier: createApiKeyVerifier(repo, cache), cache, reads }
}

t.test('a valid secret: read once, then answered from the cache with the same principal', async (t) => {
  const { verifier, reads } = setup(record())
  t.equal(verifier.verifyCached(SECRET), undefined, 'nothing cached yet: the caller must read')
  const first = await verifier.verify(SECRET)
  t.same(first, { kind: 'apiKey', sub: `apikey:${ID}`, role: 'CLIENT', keyId: ID, environment: 'prod', keyKind: 'client' })
  t.equal(verifier.verifyCached(SECRET), first, 'the verified principal is reused')
  t.equal(await verifier.verify(SECRET), first)
  t.same(reads, [ID], 'one read')
})

t.test('near misses of a verified secret are refused, before and after it verified', async (t) => {
  const { verifier } = setup(record())
  const otherEnv = `sy_dev_${ID}_${RANDOM}` // same key id and random part, another environment
  const oneCharOff = `sy_prod_${ID}_${RANDOM.slice(0, -1)}c`
  const garbage = 'x'.repeat(80)
  t.equal(await verifier.verify(otherEnv), undefined)
  t.equal(await verifier.verify(SECRET) !== undefined, true)
  for (const s of [otherEnv, oneCharOff]) {
    t.equal(verifier.verifyCached(s), null, `cached path refuses ${s.slice(0, 8)}…`)
    t.equal(await verifier.verify(s), undefined)
  }
  t.equal(verifier.verifyCached(garbage), null, 'not a secret at all')
  t.equal(verifier.verifyCached(SECRET) !== null, true, 'the real one still verifies')
})

t.test('a revoked record (a new record object in the cache) refuses the secret at once', async (t) => {
  const { verifier, cache } = setup(record())
  t.ok(await verifier.verify(SECRET))
  cache.set(ID, record({ revokedAt: '2026-02-01T00:00:00.000Z', revokedBy: 'admin@example.com' }))
  t.equal(verifier.verifyCached(SECRET), null)
  t.equal(await verifier.verify(SECRET), undefined)
})

t.test('an unknown key id is refused and its absence cached', async (t) => {
  const { verifier, reads } = setup(undefined)
  t.equal(await verifier.verify(SECRET), undefined)
  t.equal(verifier.verifyCached(SECRET), null)
  t.same(reads, [ID])
})
