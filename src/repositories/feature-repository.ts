// The write side of features and their per-environment configs: one aggregate with one version
// (DESIGN.md §4), and the admin's reads of it. Every write is one transaction through
// store.commit (changed items + outbox event). Evaluation reads through definition-reader.ts.
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb'
import type { Store, WriteMeta, WriteOp } from './store.js'
import { TransactionConflict } from './store.js'
import { featureKey, featureEnvKey, featureEnvPartition, featuresPartition } from './keys.js'
import { auditOrigin, buildAuditEvent } from '../domain/audit.js'
import { badRequest, conflict, notFound, preconditionFailed, preconditionRequired, type FieldError } from '../domain/errors.js'
import type { EnvTargeting, FlagType, SegmentDefinition, Variant } from '../domain/model.js'
import { validateFlag } from '../domain/validate-flag.js'
import { withFlagDefaults, type EnvTargetingInput, type FlagDraft } from '../domain/flag-input.js'
import { applySchedule } from '../domain/evaluate.js'
import { toDefinition } from './definition-reader.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import type { SegmentRepository } from './segment-repository.js'
import { queryAll } from './query-all.js'
import {
  createFeatureItems, segmentKeysOf, targetingOf, toEnvConfig, toFeature, VersionRace,
  type Feature, type FeatureEnvConfig, type FeatureWithEnvironments
} from './feature-items.js'

export type { Feature, FeatureEnvConfig, FeatureWithEnvironments } from './feature-items.js'

/** A new flag as the writer sent it: the type's defaults are filled in here (withFlagDefaults). */
export interface CreateFeatureInput extends FlagDraft {
  description?: string
  tags?: string[]
}

/** A flag that passed validateFlag: variants and every environment complete. */
interface ValidFlag {
  name: string
  type: FlagType
  variants: Variant[]
  environments: Record<string, EnvTargeting>
}

export interface UpdateFeatureInput {
  description?: string
  tags?: string[]
  variants?: Variant[]
}

const MAX_VERSION_ATTEMPTS = 32

export function createFeatureRepository (store: Store, deps: { segments: SegmentRepository }) {
  const { doc, tableName, now, ids } = store
  const items = createFeatureItems(tableName)

  async function getFeatureItem (name: string): Promise<Record<string, unknown> | undefined> {
    const res = await doc.send(new GetCommand({ TableName: tableName, Key: featureKey(name), ConsistentRead: true }))
    return res.Item
  }

  async function getEnvItem (name: string, env: string): Promise<Record<string, unknown> | undefined> {
    const res = await doc.send(new GetCommand({ TableName: tableName, Key: featureEnvKey(name, env), ConsistentRead: true }))
    return res.Item
  }

  async function getEnvItems (name: string): Promise<Record<string, unknown>[]> {
    return await queryAll(doc, { TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': featureEnvPartition(name) }, ConsistentRead: true })
  }

  async function loadSegments (keys: string[]): Promise<Record<string, SegmentDefinition>> {
    const found = await deps.segments.getMany(keys)
    return Object.fromEntries(found.map((s) => [s.key, s]))
  }

  /** Variants of other flags, for prerequisite validation. */
  async function flagVariantsMap (names: string[]): Promise<Map<string, { variants: string[]; prerequisites: Map<string, string[]> }>> {
    const out = new Map<string, { variants: string[]; prerequisites: Map<string, string[]> }>()
    for (const name of new Set(names)) {
      const feature = await getFeatureItem(name)
      if (feature === undefined) continue
      const envs = await getEnvItems(name)
      const prerequisites = new Map<string, string[]>()
      for (const e of envs) prerequisites.set(e.environment as string, ((e.prerequisites ?? []) as { flag: string }[]).map((p) => p.flag))
      out.set(name, { variants: (feature.variants as Variant[]).map((v) => v.key), prerequisites })
    }
    return out
  }

  /**
   * The one place a flag is validated: the type's defaults filled in, then every write-time rule
   * of the domain (validateFlag), with the segments and prerequisite flags it references read
   * first. Returns the flag, complete, and the segments it uses.
   */
  async function validate (draft: FlagDraft): Promise<{ flag: ValidFlag; segments: Record<string, SegmentDefinition> }> {
    const input = withFlagDefaults(draft)
    const allTargeting = Object.values(input.environments)
    const segments = await loadSegments([...new Set(allTargeting.flatMap((t) => segmentKeysOf(t as EnvTargeting)))])
    const prereqNames = allTargeting.flatMap((t) => t.prerequisites.map((p) => p.flag)).filter((n) => n !== input.name)
    const others = await flagVariantsMap(prereqNames)
    const errors: FieldError[] = validateFlag(input, {
      segmentExists: (key) => key in segments,
      flagVariants: (flag) => flag === input.name ? input.variants?.map((v) => v.key) : others.get(flag)?.variants,
      prerequisiteEdges: (flag) => {
        const byEnv = others.get(flag)?.prerequisites
        return byEnv === undefined ? [] : [...new Set([...byEnv.values()].flat())]
      }
    })
    if (errors.length > 0) throw badRequest(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors)
    return { flag: input as ValidFlag, segments }
  }

  /**
   * Run a read-compute-commit cycle. With If-Match the caller's version is the condition and a
   * mismatch is 412; without it, a concurrent change is retried on fresh state, so the audit
   * record's `before` is always the state the change actually replaced.
   */
  async function withVersion<T> (name: string, meta: WriteMeta, attempt: (feature: Record<string, unknown>, expected: number) => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      const feature = await getFeatureItem(name)
      if (feature === undefined) throw notFound(`Feature '${name}' not found`)
      const current = feature.version as number
      if (meta.ifMatch !== undefined && meta.ifMatch !== current) {
        throw preconditionFailed(`Feature '${name}' is at version ${current}, not ${meta.ifMatch}`)
      }
      try {
        return await attempt(feature, meta.ifMatch ?? current)
      } catch (err) {
        if (!(err instanceof VersionRace) && !(err instanceof TransactionConflict)) throw err
        // Every lost race means another writer committed, so N concurrent writers need at most N
        // attempts; the jittered pause keeps them from re-reading in lockstep.
        if (i + 1 >= MAX_VERSION_ATTEMPTS) throw conflict(`Feature '${name}' is changing too fast; retry`)
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 5 * 2 ** i)))
      }
    }
  }

  return {
    async create (draft: CreateFeatureInput, meta: WriteMeta): Promise<FeatureWithEnvironments> {
      const { flag: input, segments } = await validate(draft)
      const at = new Date(now()).toISOString()
      const feature: Feature = {
        name: input.name,
        description: draft.description ?? '',
        type: input.type,
        variants: input.variants,
        tags: draft.tags ?? [],
        createdAt: at,
        createdBy: meta.actor,
        updatedAt: at,
        updatedBy: meta.actor,
        version: 1
      }
      const envNames = Object.keys(input.environments).sort()
      const ops: WriteOp[] = [
        {
          item: { Put: { TableName: tableName, Item: { ...featureKey(input.name), entity: 'Feature', ...feature }, ConditionExpression: 'attribute_not_exists(PK)' } },
          onConditionFailed: () => conflict(`Feature '${input.name}' already exists`)
        }
      ]
      for (const env of envNames) {
        ops.push(items.envExistsCheck(env))
        ops.push({
          item: { Put: { TableName: tableName, Item: items.envItem(feature, env, input.environments[env], segments, 1, at, meta.actor), ConditionExpression: 'attribute_not_exists(PK)' } },
          onConditionFailed: () => conflict(`Feature '${input.name}' already has a config in '${env}'`)
        })
        ops.push(...items.sideItemOps(input.name, env, undefined, input.environments[env]))
      }
      const result: FeatureWithEnvironments = {
        ...feature,
        environments: Object.fromEntries(envNames.map((env) => [env, { ...input.environments[env], version: 1, updatedAt: at, updatedBy: meta.actor }]))
      }
      const event = buildAuditEvent({ subject: input.name, feature: input.name, action: 'FEATURE_CREATED', actor: meta.actor, before: null, after: result, ...auditOrigin(meta) }, ids, now)
      await store.commit(items.foldRefCounts(ops), [event])
      return result
    },

    async get (name: string): Promise<FeatureWithEnvironments | undefined> {
      const item = await getFeatureItem(name)
      if (item === undefined) return undefined
      const envs = await getEnvItems(name)
      return { ...toFeature(item), environments: Object.fromEntries(envs.map((e) => [e.environment as string, toEnvConfig(e)])) }
    },

    async list (opts: { limit: number; cursor?: string; prefix?: string }): Promise<{ items: Feature[]; nextCursor: string | null }> {
      const start = opts.cursor !== undefined ? decodeCursor(opts.cursor) : undefined
      const res = await doc.send(new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: opts.prefix !== undefined ? 'PK = :pk AND begins_with(SK, :prefix)' : 'PK = :pk',
        ExpressionAttributeValues: { ':pk': featuresPartition, ...(opts.prefix !== undefined ? { ':prefix': `FEATURE#${opts.prefix}` } : {}) },
        Limit: opts.limit,
        ExclusiveStartKey: start !== undefined ? featureKey(start) : undefined
      }))
      const last = res.LastEvaluatedKey
      return { items: (res.Items ?? []).map(toFeature), nextCursor: last !== undefined ? encodeCursor(String(last.SK).slice('FEATURE#'.length)) : null }
    },

    async update (name: string, input: UpdateFeatureInput, meta: WriteMeta): Promise<FeatureWithEnvironments> {
      return await withVersion(name, meta, async (item, expected) => {
        const before = { ...toFeature(item) }
        const envs = await getEnvItems(name)
        const variants = input.variants ?? before.variants
        const environments = Object.fromEntries(envs.map((e) => [e.environment as string, targetingOf(e)]))
        const segments = input.variants !== undefined ? (await validate({ name, type: before.type, variants, environments })).segments : {}
        const at = new Date(now()).toISOString()
        const version = expected + 1
        const changes: Record<string, unknown> = {}
        if (input.description !== undefined) changes.description = input.description
        if (input.tags !== undefined) changes.tags = input.tags
        if (input.variants !== undefined) changes.variants = input.variants
        const ops: WriteOp[] = [items.bumpFeature(name, expected, at, meta.actor, meta.ifMatch, changes)]
        if (input.variants !== undefined) {
          // Environment items carry a copy of the variants so evaluation stays one GetItem.
          for (const e of envs) {
            const env = e.environment as string
            ops.push({ item: { Put: { TableName: tableName, Item: items.envItem({ name, type: before.type, variants }, env, environments[env], { ...(e.segments as Record<string, SegmentDefinition>), ...segments }, version, at, meta.actor) } } })
          }
        }
        const after: Feature = { ...before, ...changes, updatedAt: at, updatedBy: meta.actor, version } as Feature
        const event = buildAuditEvent({ subject: name, feature: name, action: 'FEATURE_UPDATED', actor: meta.actor, before, after, ...auditOrigin(meta) }, ids, now)
        await store.commit(ops, [event])
        const result = await this.get(name)
        return result ?? { ...after, environments: {} }
      })
    },

    /** Set one environment's config; the feature item is read once per attempt (for its type and variants). */
    async putEnv (name: string, env: string, input: EnvTargetingInput, meta: WriteMeta): Promise<{ config: FeatureEnvConfig; version: number }> {
      return await withVersion(name, meta, async (item, expected) => {
        const feature = toFeature(item)
        const { flag, segments } = await validate({ name, type: feature.type, variants: feature.variants, environments: { [env]: input } })
        const targeting = flag.environments[env]
        const current = await getEnvItem(name, env)
        const beforeConfig = current !== undefined ? toEnvConfig(current) : null
        // A config created concurrently bumps the flag version, so the commit below fails and the
        // retry sees it here: replacing a config always requires having seen it.
        if (meta.createOnly === true && beforeConfig !== null) {
          throw preconditionRequired(`Feature '${name}' already has a config in '${env}': send If-Match with the ETag of GET /features/${name} (or If-Match: * to overwrite whatever is there)`)
        }
        const at = new Date(now()).toISOString()
        const version = expected + 1
        const ops: WriteOp[] = [
          items.bumpFeature(name, expected, at, meta.actor, meta.ifMatch),
          items.envExistsCheck(env),
          { item: { Put: { TableName: tableName, Item: items.envItem(feature, env, targeting, segments, version, at, meta.actor) } } },
          ...items.sideItemOps(name, env, beforeConfig ?? undefined, targeting)
        ]
        const config: FeatureEnvConfig = { ...targeting, version, updatedAt: at, updatedBy: meta.actor }
        const event = buildAuditEvent({ subject: name, feature: name, environment: env, action: 'ENVIRONMENT_UPDATED', actor: meta.actor, before: beforeConfig, after: config, ...auditOrigin(meta) }, ids, now)
        await store.commit(ops, [event])
        return { config, version }
      })
    },

    async deleteEnv (name: string, env: string, meta: WriteMeta): Promise<void> {
      await withVersion(name, meta, async (_item, expected) => {
        const current = await getEnvItem(name, env)
        if (current === undefined) throw notFound(`Feature '${name}' has no config in '${env}'`)
        const before = toEnvConfig(current)
        const at = new Date(now()).toISOString()
        const ops: WriteOp[] = [
          items.bumpFeature(name, expected, at, meta.actor, meta.ifMatch),
          { item: { Delete: { TableName: tableName, Key: featureEnvKey(name, env), ConditionExpression: 'attribute_exists(PK)' } }, onConditionFailed: () => new VersionRace() },
          ...items.sideItemOps(name, env, before, undefined)
        ]
        const event = buildAuditEvent({ subject: name, feature: name, environment: env, action: 'ENVIRONMENT_DELETED', actor: meta.actor, before, after: null, ...auditOrigin(meta) }, ids, now)
        await store.commit(ops, [event])
      })
    },

    async delete (name: string, meta: WriteMeta): Promise<void> {
      await withVersion(name, meta, async (item, expected) => {
        const envs = await getEnvItems(name)
        const before = { ...toFeature(item), environments: Object.fromEntries(envs.map((e) => [e.environment as string, toEnvConfig(e)])) }
        const ops: WriteOp[] = items.foldRefCounts([
          items.deleteFeature(name, expected, meta.ifMatch),
          ...envs.flatMap((e) => [
            { item: { Delete: { TableName: tableName, Key: featureEnvKey(name, e.environment as string) } } },
            ...items.sideItemOps(name, e.environment as string, toEnvConfig(e), undefined)
          ])
        ])
        if (ops.length > 99) throw conflict(`Feature '${name}' has too many environment items to delete in one transaction`)
        const event = buildAuditEvent({ subject: name, feature: name, action: 'FEATURE_DELETED', actor: meta.actor, before, after: null, ...auditOrigin(meta) }, ids, now)
        await store.commit(ops, [event])
      })
    },

    /**
     * Persist the scheduled changes of one environment that are due at `at` (the maintenance
     * worker, actor system:scheduler). The environment item is read consistently and the change
     * decided on it; the commit holds only if that item is still the one read (its version) and
     * the flag's version is the one bumped. On a conflict it re-reads and decides again, so a
     * schedule an admin cancelled or replaced meanwhile is not applied, a change to another
     * environment does not stop it, and a second tick finds nothing due.
     */
    async applyDueSchedule (name: string, env: string, at: number, meta: WriteMeta): Promise<{ applied: boolean; version?: number }> {
      return await withVersion(name, { ...meta, ifMatch: undefined }, async (item, expected) => {
        const current = await getEnvItem(name, env)
        if (current === undefined) return { applied: false }
        const read = toDefinition(current)
        const next = applySchedule(read, at)
        if (next === read) return { applied: false }
        const before = toEnvConfig(current)
        const targeting = targetingOf(next)
        const ts = new Date(now()).toISOString()
        const version = expected + 1
        const ops: WriteOp[] = [
          items.bumpFeature(name, expected, ts, meta.actor, undefined),
          {
            item: {
              Put: {
                TableName: tableName,
                Item: items.envItem(toFeature(item), env, targeting, read.segments, version, ts, meta.actor),
                ConditionExpression: 'attribute_exists(PK) AND #v = :seen',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':seen': read.version }
              }
            },
            onConditionFailed: () => new VersionRace()
          },
          ...items.sideItemOps(name, env, before, targeting)
        ]
        const config: FeatureEnvConfig = { ...targeting, version, updatedAt: ts, updatedBy: meta.actor }
        const event = buildAuditEvent({ subject: name, feature: name, environment: env, action: 'ENVIRONMENT_UPDATED', actor: meta.actor, before, after: config, ...auditOrigin(meta) }, ids, now)
        await store.commit(items.foldRefCounts(ops), [event])
        return { applied: true, version }
      })
    },

  }
}

export { VersionRace } from './feature-items.js'

export type FeatureRepository = ReturnType<typeof createFeatureRepository>
