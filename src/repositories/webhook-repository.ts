// Webhook subscriptions (DESIGN.md §10): one item per subscription in the WEBHOOKS partition,
// read by the fan-out with one Query (never a Scan). Every change commits with its audit event
// (subject `webhook:{id}`, before/after without secrets). The signing secrets are stored as they
// are (an HMAC needs the key itself; the table is encrypted at rest) and shown only when created:
// at creation and at rotation. During a rotation the previous secret stays valid until its expiry.
import { randomBytes } from 'node:crypto'
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import type { Store } from './store.js'
import { ALL_OLD } from './store.js'
import { webhookKey, webhooksPartition } from './keys.js'
import { auditOrigin, buildAuditEvent } from '../domain/audit.js'
import { notFound, preconditionFailed } from '../domain/errors.js'
import type { WriteMeta } from './store.js'
import { generateSecret } from '../domain/webhook-signature.js'
import type { StoredSecret, WebhookFilter, WebhookFormat, WebhookStatus, WebhookSubscription } from '../domain/webhooks.js'

const ID_PATTERN = /^wh_[0-9a-f]{20}$/

export interface CreateWebhookInput { url: string; description?: string; filter?: WebhookFilter; status?: WebhookStatus; format?: WebhookFormat }
export type UpdateWebhookInput = Partial<CreateWebhookInput>

/** A subscription with the secrets that sign its deliveries now. */
export interface SigningSubscription extends WebhookSubscription { secrets: string[] }

export function isWebhookId (id: string): boolean {
  return ID_PATTERN.test(id)
}

/** `at`: drop previousSecretExpiresAt once the rotation window is over. */
function publicSubscription (i: Record<string, unknown>, at?: number): WebhookSubscription {
  const out: WebhookSubscription = {
    id: String(i.id),
    url: String(i.url),
    description: String(i.description ?? ''),
    filter: (i.filter ?? {}) as WebhookFilter,
    status: i.status === 'paused' ? 'paused' : 'active',
    format: i.format === 'slack' ? 'slack' : 'standard',
    createdAt: String(i.createdAt),
    createdBy: String(i.createdBy),
    updatedAt: String(i.updatedAt),
    updatedBy: String(i.updatedBy),
    version: Number(i.version)
  }
  if (typeof i.previousSecretExpiresAt === 'string' && (at === undefined || Date.parse(i.previousSecretExpiresAt) > at)) out.previousSecretExpiresAt = i.previousSecretExpiresAt
  return out
}

/** The secrets still valid at `at`, newest first. */
export function validSecrets (secrets: StoredSecret[], at: number): string[] {
  return secrets.filter((s) => s.expiresAt === undefined || Date.parse(s.expiresAt) > at).map((s) => s.secret)
}

export function createWebhookRepository (store: Store, opts: { random?: (size: number) => Buffer } = {}) {
  const { doc, tableName, now, ids } = store
  const random = opts.random ?? randomBytes

  async function getItem (id: string): Promise<Record<string, unknown> | undefined> {
    if (!isWebhookId(id)) return undefined
    const res = await doc.send(new GetCommand({ TableName: tableName, Key: webhookKey(id), ConsistentRead: true }))
    return res.Item
  }

  function audit (id: string, action: 'WEBHOOK_CREATED' | 'WEBHOOK_UPDATED' | 'WEBHOOK_DELETED' | 'WEBHOOK_SECRET_ROTATED', meta: WriteMeta, before: unknown, after: unknown) {
    return buildAuditEvent({ subject: `webhook:${id}`, action, actor: meta.actor, before, after, ...auditOrigin(meta) }, ids, now)
  }

  /** Replace the whole item, on the condition that it is still the version read. */
  async function replace (before: Record<string, unknown>, item: Record<string, unknown>, event: ReturnType<typeof audit>): Promise<void> {
    const id = String(before.id)
    await store.commit([{
      item: {
        Put: {
          TableName: tableName,
          Item: item,
          ConditionExpression: 'attribute_exists(PK) AND #v = :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': before.version },
          ...ALL_OLD
        }
      },
      onConditionFailed: (old) => old === undefined ? notFound(`Webhook '${id}' not found`) : preconditionFailed(`Webhook '${id}' changed concurrently (now version ${String(old.version)}); read it again`)
    }], [event])
  }

  function checkVersion (item: Record<string, unknown> | undefined, id: string, ifMatch: number | undefined): Record<string, unknown> {
    if (item === undefined) throw notFound(`Webhook '${id}' not found`)
    if (ifMatch !== undefined && ifMatch !== item.version) throw preconditionFailed(`Webhook '${id}' is at version ${String(item.version)}, not ${ifMatch}`)
    return item
  }

  return {
    async create (input: CreateWebhookInput, meta: WriteMeta): Promise<{ subscription: WebhookSubscription; secret: string }> {
      const at = now()
      const id = 'wh_' + Math.floor(at).toString(16).padStart(12, '0').slice(-12) + random(4).toString('hex')
      const iso = new Date(at).toISOString()
      const secret = generateSecret(random)
      const subscription: WebhookSubscription = {
        id,
        url: input.url,
        description: input.description ?? '',
        filter: input.filter ?? {},
        status: input.status ?? 'active',
        format: input.format ?? 'standard',
        createdAt: iso,
        createdBy: meta.actor,
        updatedAt: iso,
        updatedBy: meta.actor,
        version: 1
      }
      const secrets: StoredSecret[] = [{ secret, createdAt: iso }]
      await store.commit([{
        item: { Put: { TableName: tableName, Item: { ...webhookKey(id), entity: 'WebhookSubscription', ...subscription, secrets }, ConditionExpression: 'attribute_not_exists(PK)' } }
      }], [audit(id, 'WEBHOOK_CREATED', meta, null, subscription)])
      return { subscription, secret }
    },

    async get (id: string): Promise<WebhookSubscription | undefined> {
      const item = await getItem(id)
      return item !== undefined ? publicSubscription(item, now()) : undefined
    },

    /** For the delivery worker: the subscription and the secrets valid now. */
    async getForSigning (id: string): Promise<SigningSubscription | undefined> {
      const item = await getItem(id)
      if (item === undefined) return undefined
      return { ...publicSubscription(item), secrets: validSecrets((item.secrets ?? []) as StoredSecret[], now()) }
    },

    /** Every subscription, in creation order (one Query per 1 MB page of the WEBHOOKS partition). */
    async list (): Promise<WebhookSubscription[]> {
      const out: WebhookSubscription[] = []
      let ExclusiveStartKey: Record<string, unknown> | undefined
      do {
        const res = await doc.send(new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk',
          ExpressionAttributeValues: { ':pk': webhooksPartition },
          ConsistentRead: true,
          ExclusiveStartKey
        }))
        for (const i of res.Items ?? []) out.push(publicSubscription(i, now()))
        ExclusiveStartKey = res.LastEvaluatedKey
      } while (ExclusiveStartKey !== undefined)
      return out
    },

    async update (id: string, patch: UpdateWebhookInput, meta: WriteMeta): Promise<WebhookSubscription> {
      const item = checkVersion(await getItem(id), id, meta.ifMatch)
      const before = publicSubscription(item)
      const after: WebhookSubscription = {
        ...before,
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.filter !== undefined ? { filter: patch.filter } : {}),
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        ...(patch.format !== undefined ? { format: patch.format } : {}),
        updatedAt: new Date(now()).toISOString(),
        updatedBy: meta.actor,
        version: before.version + 1
      }
      await replace(item, { ...item, ...after }, audit(id, 'WEBHOOK_UPDATED', meta, before, after))
      return after
    },

    /**
     * A new secret signs from now on; the current one keeps signing too until `graceSeconds` from
     * now (0: at once), so receivers can switch without losing a delivery.
     */
    async rotateSecret (id: string, graceSeconds: number, meta: WriteMeta): Promise<{ subscription: WebhookSubscription; secret: string }> {
      const item = checkVersion(await getItem(id), id, meta.ifMatch)
      const at = now()
      const before = publicSubscription(item)
      const current = validSecrets((item.secrets ?? []) as StoredSecret[], at)[0]
      const secret = generateSecret(random)
      const iso = new Date(at).toISOString()
      const expiresAt = new Date(at + graceSeconds * 1000).toISOString()
      const secrets: StoredSecret[] = [{ secret, createdAt: iso }]
      if (current !== undefined && graceSeconds > 0) secrets.push({ secret: current, createdAt: iso, expiresAt })
      const after: WebhookSubscription = { ...before, updatedAt: iso, updatedBy: meta.actor, version: before.version + 1 }
      if (secrets.length > 1) after.previousSecretExpiresAt = expiresAt
      else delete after.previousSecretExpiresAt
      const { previousSecretExpiresAt: _drop, ...rest } = item
      await replace(item, { ...rest, ...after, secrets }, audit(id, 'WEBHOOK_SECRET_ROTATED', meta, before, after))
      return { subscription: after, secret }
    },

    async delete (id: string, meta: WriteMeta): Promise<void> {
      const item = checkVersion(await getItem(id), id, meta.ifMatch)
      const before = publicSubscription(item)
      await store.commit([{
        item: {
          Delete: {
            TableName: tableName,
            Key: webhookKey(id),
            ConditionExpression: 'attribute_exists(PK) AND #v = :v',
            ExpressionAttributeNames: { '#v': 'version' },
            ExpressionAttributeValues: { ':v': item.version },
            ...ALL_OLD
          }
        },
        onConditionFailed: (old) => old === undefined ? notFound(`Webhook '${id}' not found`) : preconditionFailed(`Webhook '${id}' changed concurrently; read it again`)
      }], [audit(id, 'WEBHOOK_DELETED', meta, before, null)])
    }
  }
}

export type WebhookRepository = ReturnType<typeof createWebhookRepository>
