// Environment-scoped API keys (DESIGN.md §3, §6). The secret is shown once and never stored:
// the item `APIKEY#{keyId}` holds its SHA-256 digest. The key id is part of the secret, so
// verification is one GetItem and a constant-time digest comparison, never a Scan.
//
// Secret format: `sy_{environment}_{keyId}_{random}`
//   - `sy_` and the environment make a leaked key recognisable (and greppable by secret scanners);
//     environment names never contain "_" (ENV_NAME_PATTERN), so the parts split unambiguously;
//   - keyId: 12 hex digits of creation time (ms) + 8 random hex digits, so the GSI1 listing comes
//     back in creation order and ids stay unguessable enough not to leak the key count;
//   - random: 32 bytes from the CSPRNG, base64url (43 characters, 256 bits).
import { createHash, randomBytes } from 'node:crypto'
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import type { Store, WriteMeta } from './store.js'
import { ALL_OLD } from './store.js'
import { apiKeyKey, apiKeyListKeys, environmentKey, apiKeysIndexPartition } from './keys.js'
import { auditOrigin, buildAuditEvent } from '../domain/audit.js'
import { badRequest, notFound } from '../domain/errors.js'
import { decodeCursor } from './cursor.js'
import { gsi1Page } from './list-page.js'

export const API_KEY_SECRET_PREFIX = 'sy_'
const SECRET_PATTERN = /^sy_([a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?)_([0-9a-f]{20})_([A-Za-z0-9_-]{43})$/
const KEY_ID_PATTERN = /^[0-9a-f]{20}$/

/**
 * `client`: evaluation results only (`/features/evaluate`, OFREP), safe to ship in a browser.
 * `server`: also downloads its environment's rules (`/sdk/v1/*`) for in-process evaluation.
 * Keys created before kinds existed have no `kind` attribute and are `client`.
 */
export type ApiKeyKind = 'server' | 'client'

export function kindOf (item: { kind?: unknown }): ApiKeyKind {
  return item.kind === 'server' ? 'server' : 'client'
}

/** What the API shows about a key; never the secret or its digest. */
export interface ApiKey {
  id: string
  name: string
  environment: string
  kind: ApiKeyKind
  role: 'CLIENT'
  createdAt: string
  createdBy: string
  revokedAt?: string
  revokedBy?: string
}

/** The stored record, as the verifier needs it. */
export interface ApiKeyRecord extends ApiKey {
  digest: string
}

export interface CreatedApiKey extends ApiKey {
  /** The secret, returned once by create and never again. */
  key: string
}

export function digestOf (secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex')
}

/** The parts of a well-formed secret, or undefined (checked before any read). */
export function parseSecret (secret: string): { environment: string; keyId: string } | undefined {
  const m = SECRET_PATTERN.exec(secret)
  return m === null ? undefined : { environment: m[1], keyId: m[2] }
}

export function isKeyId (id: string): boolean {
  return KEY_ID_PATTERN.test(id)
}

export function publicApiKey (r: ApiKeyRecord | (ApiKey & Record<string, unknown>)): ApiKey {
  const out: ApiKey = { id: r.id, name: r.name, environment: r.environment, kind: kindOf(r), role: 'CLIENT', createdAt: r.createdAt, createdBy: r.createdBy }
  if (typeof r.revokedAt === 'string') out.revokedAt = r.revokedAt
  if (typeof r.revokedBy === 'string') out.revokedBy = r.revokedBy
  return out
}

/** Built field by field, not by spreading publicApiKey's result: see toDefinition (definition-reader.ts). */
function toRecord (item: Record<string, unknown>): ApiKeyRecord {
  const r = item as unknown as ApiKeyRecord
  const out: ApiKeyRecord = { id: r.id, name: r.name, environment: r.environment, kind: kindOf(r), role: 'CLIENT', createdAt: r.createdAt, createdBy: r.createdBy, digest: String(item.digest) }
  if (typeof r.revokedAt === 'string') out.revokedAt = r.revokedAt
  if (typeof r.revokedBy === 'string') out.revokedBy = r.revokedBy
  return out
}

class AlreadyRevoked extends Error {}

export interface ApiKeyRepositoryOptions {
  /** Random bytes source (tests may pin it); defaults to node:crypto randomBytes. */
  random?: (size: number) => Buffer
}

export function createApiKeyRepository (store: Store, opts: ApiKeyRepositoryOptions = {}) {
  const { doc, tableName, now, ids } = store
  const random = opts.random ?? randomBytes

  function newKeyId (at: number): string {
    return Math.floor(at).toString(16).padStart(12, '0').slice(-12) + random(4).toString('hex')
  }

  return {
    /** Create a key for a registered environment; the only time the secret exists in clear. */
    async create (input: { name: string; environment: string; kind?: ApiKeyKind }, meta: WriteMeta): Promise<CreatedApiKey> {
      const at = now()
      const id = newKeyId(at)
      const secret = `${API_KEY_SECRET_PREFIX}${input.environment}_${id}_${random(32).toString('base64url')}`
      const key: ApiKey = { id, name: input.name, environment: input.environment, kind: input.kind ?? 'client', role: 'CLIENT', createdAt: new Date(at).toISOString(), createdBy: meta.actor }
      const event = buildAuditEvent({
        subject: `apikey:${id}`, environment: input.environment, action: 'API_KEY_CREATED', actor: meta.actor, before: null, after: key, ...auditOrigin(meta)
      }, ids, now)
      await store.commit([
        {
          item: { ConditionCheck: { TableName: tableName, Key: environmentKey(input.environment), ConditionExpression: 'attribute_exists(PK)' } },
          onConditionFailed: () => badRequest(`Environment '${input.environment}' is not registered (see GET /environments)`, [{ path: '/body/environment', message: 'unknown environment' }])
        },
        {
          item: {
            Put: {
              TableName: tableName,
              Item: { ...apiKeyKey(id), ...apiKeyListKeys(id), entity: 'ApiKey', ...key, digest: digestOf(secret) },
              ConditionExpression: 'attribute_not_exists(PK)'
            }
          }
        }
      ], [event])
      return { ...key, key: secret }
    },

    /** The stored record (with digest) for verification; strongly consistent. */
    async getRecord (id: string): Promise<ApiKeyRecord | undefined> {
      if (!isKeyId(id)) return undefined
      const res = await doc.send(new GetCommand({ TableName: tableName, Key: apiKeyKey(id), ConsistentRead: true }))
      return res.Item !== undefined ? toRecord(res.Item) : undefined
    },

    async get (id: string): Promise<ApiKey | undefined> {
      const r = await this.getRecord(id)
      return r !== undefined ? publicApiKey(r) : undefined
    },

    /** One page of keys in creation order, from GSI1 `APIKEYS` (never a Scan). */
    async list (opts: { limit: number; cursor?: string; environment?: string }): Promise<{ items: ApiKey[]; nextCursor: string | null }> {
      const start = opts.cursor !== undefined ? decodeCursor(opts.cursor, (v) => typeof v === 'string' && isKeyId(v)) : undefined
      // A filter on environment can leave a page short; gsi1Page reads on until it is full or done.
      return await gsi1Page(doc, tableName, {
        pk: apiKeysIndexPartition,
        limit: opts.limit,
        startKey: start !== undefined ? { ...apiKeyKey(start), ...apiKeyListKeys(start) } : undefined,
        keep: (i) => opts.environment === undefined || i.environment === opts.environment,
        map: (i) => publicApiKey(i as unknown as ApiKey & Record<string, unknown>),
        cursorOf: (i) => String(i.id)
      })
    },

    /** Revoke a key; revoking a revoked key changes nothing and answers its state. */
    async revoke (id: string, meta: WriteMeta): Promise<ApiKey> {
      const current = await this.getRecord(id)
      if (current === undefined) throw notFound(`API key '${id}' not found`)
      const before = publicApiKey(current)
      if (before.revokedAt !== undefined) return before
      const after: ApiKey = { ...before, revokedAt: new Date(now()).toISOString(), revokedBy: meta.actor }
      const event = buildAuditEvent({
        subject: `apikey:${id}`, environment: current.environment, action: 'API_KEY_REVOKED', actor: meta.actor, before, after, ...auditOrigin(meta)
      }, ids, now)
      try {
        await store.commit([{
          item: {
            Update: {
              TableName: tableName,
              Key: apiKeyKey(id),
              UpdateExpression: 'SET #ra = :at, #rb = :by',
              ConditionExpression: 'attribute_exists(PK) AND attribute_not_exists(#ra)',
              ExpressionAttributeNames: { '#ra': 'revokedAt', '#rb': 'revokedBy' },
              ExpressionAttributeValues: { ':at': after.revokedAt, ':by': meta.actor },
              ...ALL_OLD
            }
          },
          onConditionFailed: (old) => old === undefined ? notFound(`API key '${id}' not found`) : new AlreadyRevoked()
        }], [event])
      } catch (err) {
        // Revoked concurrently by someone else: their revocation (and audit record) stands.
        if (err instanceof AlreadyRevoked) return (await this.get(id)) ?? before
        throw err
      }
      return after
    }
  }
}

export type ApiKeyRepository = ReturnType<typeof createApiKeyRepository>
