// Features and their per-environment configs: one aggregate with one version (DESIGN.md §4).
// Every write is one transaction through store.commit (changed items + outbox event).
import { setTimeout as sleep } from 'node:timers/promises'
import { GetCommand, QueryCommand, BatchGetCommand } from '@aws-sdk/lib-dynamodb'
import type { Store, WriteOp } from './store.js'
import { ALL_OLD, TransactionConflict } from './store.js'
import {
  featureKey, featureEnvKey, featureEnvPartition, featureEnvIndexKeys, envFlagsPartition,
  environmentKey, segmentRefKey, scheduleKey, segmentKey
} from './keys.js'
import { buildAuditEvent } from '../domain/audit.js'
import { badRequest, conflict, notFound, preconditionFailed, preconditionRequired, serviceUnavailable, type FieldError } from '../domain/errors.js'
import type { EnvTargeting, FlagDefinition, FlagType, SegmentDefinition, Variant } from '../domain/model.js'
import { validateFlag } from '../domain/validate-flag.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import type { SegmentRepository } from './segment-repository.js'

export interface Feature {
  name: string
  description: string
  type: FlagType
  variants: Variant[]
  tags: string[]
  createdAt: string
  createdBy: string
  updatedAt: string
  updatedBy: string
  version: number
}

export interface FeatureEnvConfig extends EnvTargeting {
  version: number
  updatedAt: string
  updatedBy: string
}

export interface FeatureWithEnvironments extends Feature {
  environments: Record<string, FeatureEnvConfig>
}

export interface WriteMeta {
  actor: string
  requestId?: string
  ifMatch?: number
  /** Refuse (428) to replace an existing environment config: the caller sent no If-Match. */
  createOnly?: boolean
}

export interface CreateFeatureInput {
  name: string
  description?: string
  type: FlagType
  variants: Variant[]
  tags?: string[]
  environments: Record<string, EnvTargeting>
}

export interface UpdateFeatureInput {
  description?: string
  tags?: string[]
  variants?: Variant[]
}

const FEATURE_FIELDS = ['name', 'description', 'type', 'variants', 'tags', 'createdAt', 'createdBy', 'updatedAt', 'updatedBy', 'version'] as const
const TARGETING_FIELDS = ['enabled', 'offVariant', 'defaultServe', 'targets', 'rules', 'prerequisites', 'schedule'] as const

function pick<T extends object, K extends keyof T> (obj: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k]
  return out
}

export function toFeature (item: Record<string, unknown>): Feature {
  return pick(item as unknown as Feature, FEATURE_FIELDS)
}

export function toEnvConfig (item: Record<string, unknown>): FeatureEnvConfig {
  const i = item as unknown as FeatureEnvConfig
  return { ...pick(i, TARGETING_FIELDS), version: i.version, updatedAt: i.updatedAt, updatedBy: i.updatedBy }
}

/**
 * The engine's view of an environment item: one object literal, every field in one order. It was
 * built as `{ ...pick(i, TARGETING_FIELDS), flag, … }`, and although those objects shared one
 * hidden class as well, V8 (Node 20) missed its inline caches on every property read of them:
 * 7 reads took ~640 ns instead of ~8 ns, on every evaluation (docs/PERFORMANCE.md, *What was
 * optimised*, item 19).
 */
export function toDefinition (item: Record<string, unknown>): FlagDefinition {
  const i = item as unknown as FlagDefinition
  return {
    enabled: i.enabled,
    offVariant: i.offVariant,
    defaultServe: i.defaultServe,
    targets: i.targets ?? [],
    rules: i.rules ?? [],
    prerequisites: i.prerequisites ?? [],
    schedule: i.schedule ?? [],
    flag: i.flag,
    environment: i.environment,
    type: i.type,
    variants: i.variants,
    segments: i.segments ?? {},
    version: i.version
  }
}

function segmentKeysOf (t: EnvTargeting): string[] {
  const keys = new Set<string>()
  const rules = [...t.rules, ...t.schedule.flatMap((s) => s.change.rules ?? [])]
  for (const r of rules) {
    for (const c of r.clauses) {
      if (c.operator === 'segmentMatch') for (const v of c.values) keys.add(String(v))
    }
  }
  return [...keys].sort()
}

/** BatchGetItem calls for one chunk of keys before unprocessed keys fail the read. */
export const BATCH_GET_ATTEMPTS = 6

export function createFeatureRepository (store: Store, deps: { segments: SegmentRepository }) {
  const { doc, tableName, now, ids } = store

  async function getFeatureItem (name: string): Promise<Record<string, unknown> | undefined> {
    const res = await doc.send(new GetCommand({ TableName: tableName, Key: featureKey(name), ConsistentRead: true }))
    return res.Item
  }

  async function getEnvItems (name: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = []
    let ExclusiveStartKey: Record<string, unknown> | undefined
    do {
      const res = await doc.send(new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': featureEnvPartition(name) },
        ConsistentRead: true,
        ExclusiveStartKey
      }))
      items.push(...(res.Items ?? []))
      ExclusiveStartKey = res.LastEvaluatedKey
    } while (ExclusiveStartKey !== undefined)
    return items
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

  /** Validate a whole flag; reads the segments and prerequisite flags it references. */
  async function validate (input: { name: string; type: FlagType; variants: Variant[]; environments: Record<string, EnvTargeting> }, pathPrefix = ''): Promise<Record<string, SegmentDefinition>> {
    const allTargeting = Object.values(input.environments)
    const segmentKeys = [...new Set(allTargeting.flatMap(segmentKeysOf))]
    const segments = await loadSegments(segmentKeys)
    const prereqNames = allTargeting.flatMap((t) => t.prerequisites.map((p) => p.flag)).filter((n) => n !== input.name)
    const others = await flagVariantsMap(prereqNames)
    // Walk prerequisite edges environment by environment for cycle detection, loading lazily.
    const edgeCache = new Map<string, Map<string, string[]>>()
    for (const [n, v] of others) edgeCache.set(n, v.prerequisites)
    const errors: FieldError[] = validateFlag(input, {
      segmentExists: (key) => key in segments,
      flagVariants: (flag) => flag === input.name ? input.variants.map((v) => v.key) : others.get(flag)?.variants,
      prerequisiteEdges: (flag) => {
        const byEnv = edgeCache.get(flag)
        return byEnv === undefined ? [] : [...new Set([...byEnv.values()].flat())]
      }
    })
    if (errors.length > 0) {
      throw badRequest(errors.map((e) => `${pathPrefix}${e.path}: ${e.message}`).join('; '),
        errors.map((e) => ({ path: pathPrefix + e.path, message: e.message })))
    }
    return segments
  }

  function envItem (feature: { name: string; type: FlagType; variants: Variant[] }, env: string, t: EnvTargeting,
    segments: Record<string, SegmentDefinition>, version: number, at: string, actor: string) {
    const used = Object.fromEntries(segmentKeysOf(t).map((k) => [k, segments[k]]).filter(([, s]) => s !== undefined))
    return {
      ...featureEnvKey(feature.name, env),
      ...featureEnvIndexKeys(feature.name, env),
      entity: 'FeatureEnv',
      flag: feature.name,
      environment: env,
      type: feature.type,
      variants: feature.variants,
      ...pick(t, TARGETING_FIELDS),
      segments: used,
      version,
      updatedAt: at,
      updatedBy: actor
    }
  }

  /** Side items that index an env config: segment references and pending schedule entries. */
  function sideItems (name: string, env: string, t: EnvTargeting | undefined) {
    if (t === undefined) return []
    return [
      ...segmentKeysOf(t).map((s) => ({ ...segmentRefKey(s, name, env), entity: 'SegmentRef', segment: s, flag: name, environment: env })),
      ...t.schedule.map((s) => ({ ...scheduleKey(new Date(s.at).toISOString(), name, env, s.id), entity: 'ScheduleEntry', flag: name, environment: env, scheduleId: s.id, at: s.at }))
    ]
  }

  /** Ops that replace the side items of `before` with those of `after`. */
  function sideItemOps (name: string, env: string, before: EnvTargeting | undefined, after: EnvTargeting | undefined): WriteOp[] {
    const key = (i: { PK: string; SK: string }) => `${i.PK}|${i.SK}`
    const old = new Map(sideItems(name, env, before).map((i) => [key(i), i]))
    const next = new Map(sideItems(name, env, after).map((i) => [key(i), i]))
    const ops: WriteOp[] = []
    for (const [k, i] of old) {
      if (next.has(k)) continue
      ops.push({ item: { Delete: { TableName: tableName, Key: { PK: i.PK, SK: i.SK } } } })
      if (i.entity === 'SegmentRef') ops.push(segmentRefCountOp(String((i as { segment?: string }).segment), -1))
    }
    for (const [k, i] of next) {
      if (old.has(k)) continue
      ops.push({ item: { Put: { TableName: tableName, Item: i } } })
      if (i.entity === 'SegmentRef') ops.push(segmentRefCountOp(String((i as { segment?: string }).segment), 1))
    }
    return ops
  }

  const refCountDeltas = new WeakMap<WriteOp, { segment: string; delta: number }>()

  /** Count a flag environment's use of a segment on the segment item, so delete can refuse atomically. */
  function segmentRefCountOp (segment: string, delta: number): WriteOp {
    const op: WriteOp = {
      item: {
        Update: {
          TableName: tableName,
          Key: segmentKey(segment),
          UpdateExpression: 'ADD #refs :d',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#refs': 'refCount' },
          ExpressionAttributeValues: { ':d': delta }
        }
      },
      onConditionFailed: () => badRequest(`Segment '${segment}' does not exist`, [{ path: '/rules', message: `unknown segment '${segment}'` }])
    }
    refCountDeltas.set(op, { segment, delta })
    return op
  }

  /**
   * A transaction may touch an item only once (DynamoDB rejects it with a ValidationException), so
   * the refCount changes of a segment used in several environments are folded into one ADD.
   */
  function foldRefCounts (ops: WriteOp[]): WriteOp[] {
    const deltas = new Map<string, number>()
    const rest: WriteOp[] = []
    for (const op of ops) {
      const ref = refCountDeltas.get(op)
      if (ref === undefined) rest.push(op)
      else deltas.set(ref.segment, (deltas.get(ref.segment) ?? 0) + ref.delta)
    }
    return [...rest, ...[...deltas].filter(([, d]) => d !== 0).map(([segment, d]) => segmentRefCountOp(segment, d))]
  }

  function envExistsCheck (env: string): WriteOp {
    return {
      item: { ConditionCheck: { TableName: tableName, Key: environmentKey(env), ConditionExpression: 'attribute_exists(PK)' } },
      onConditionFailed: () => badRequest(`Environment '${env}' is not registered (see GET /environments)`, [{ path: `/environments/${env}`, message: 'unknown environment' }])
    }
  }

  function versionGuard (name: string, expected: number, ifMatch: number | undefined) {
    return (current: Record<string, unknown> | undefined) => {
      if (current === undefined) return notFound(`Feature '${name}' not found`)
      if (ifMatch !== undefined) return preconditionFailed(`Feature '${name}' is at version ${String(current.version)}, not ${ifMatch}`)
      return new VersionRace()
    }
  }

  /** Bump the aggregate version, conditioned on the version the change was computed from. */
  function bumpFeature (name: string, expected: number, at: string, actor: string, ifMatch: number | undefined, extra: Record<string, unknown> = {}): WriteOp {
    const names: Record<string, string> = { '#v': 'version', '#ua': 'updatedAt', '#ub': 'updatedBy' }
    const values: Record<string, unknown> = { ':expected': expected, ':one': 1, ':at': at, ':actor': actor }
    const sets = ['#v = #v + :one', '#ua = :at', '#ub = :actor']
    for (const [k, v] of Object.entries(extra)) {
      names[`#${k}`] = k
      values[`:${k}`] = v
      sets.push(`#${k} = :${k}`)
    }
    return {
      item: {
        Update: {
          TableName: tableName,
          Key: featureKey(name),
          UpdateExpression: 'SET ' + sets.join(', '),
          ConditionExpression: 'attribute_exists(PK) AND #v = :expected',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...ALL_OLD
        }
      },
      onConditionFailed: versionGuard(name, expected, ifMatch)
    }
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
    async create (input: CreateFeatureInput, meta: WriteMeta): Promise<FeatureWithEnvironments> {
      const segments = await this.validateInput(input)
      const at = new Date(now()).toISOString()
      const feature: Feature = {
        name: input.name,
        description: input.description ?? '',
        type: input.type,
        variants: input.variants,
        tags: input.tags ?? [],
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
        ops.push(envExistsCheck(env))
        ops.push({
          item: { Put: { TableName: tableName, Item: envItem(feature, env, input.environments[env], segments, 1, at, meta.actor), ConditionExpression: 'attribute_not_exists(PK)' } },
          onConditionFailed: () => conflict(`Feature '${input.name}' already has a config in '${env}'`)
        })
        ops.push(...sideItemOps(input.name, env, undefined, input.environments[env]))
      }
      const result: FeatureWithEnvironments = {
        ...feature,
        environments: Object.fromEntries(envNames.map((env) => [env, { ...input.environments[env], version: 1, updatedAt: at, updatedBy: meta.actor }]))
      }
      const event = buildAuditEvent({ subject: input.name, feature: input.name, action: 'FEATURE_CREATED', actor: meta.actor, before: null, after: result, requestId: meta.requestId }, ids, now)
      await store.commit(foldRefCounts(ops), [event])
      return result
    },

    async validateInput (input: CreateFeatureInput) {
      return await validate({ name: input.name, type: input.type, variants: input.variants, environments: input.environments })
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
        ExpressionAttributeValues: { ':pk': 'FEATURES', ...(opts.prefix !== undefined ? { ':prefix': `FEATURE#${opts.prefix}` } : {}) },
        Limit: opts.limit,
        ExclusiveStartKey: start !== undefined ? featureKey(start) : undefined
      }))
      const items = (res.Items ?? []).map(toFeature)
      const last = res.LastEvaluatedKey
      return { items, nextCursor: last !== undefined ? encodeCursor(String(last.SK).slice('FEATURE#'.length)) : null }
    },

    async update (name: string, input: UpdateFeatureInput, meta: WriteMeta): Promise<FeatureWithEnvironments> {
      return await withVersion(name, meta, async (item, expected) => {
        const before = { ...toFeature(item) }
        const envs = await getEnvItems(name)
        const variants = input.variants ?? before.variants
        const environments = Object.fromEntries(envs.map((e) => [e.environment as string, toEnvConfig(e) as EnvTargeting]))
        const segments = input.variants !== undefined
          ? await validate({ name, type: before.type, variants, environments: Object.fromEntries(Object.entries(environments).map(([k, v]) => [k, pick(v, TARGETING_FIELDS) as EnvTargeting])) })
          : {}
        const at = new Date(now()).toISOString()
        const version = expected + 1
        const changes: Record<string, unknown> = {}
        if (input.description !== undefined) changes.description = input.description
        if (input.tags !== undefined) changes.tags = input.tags
        if (input.variants !== undefined) changes.variants = input.variants
        const ops: WriteOp[] = [bumpFeature(name, expected, at, meta.actor, meta.ifMatch, changes)]
        if (input.variants !== undefined) {
          // Environment items carry a copy of the variants so evaluation stays one GetItem.
          for (const e of envs) {
            const env = e.environment as string
            ops.push({ item: { Put: { TableName: tableName, Item: envItem({ name, type: before.type, variants }, env, environments[env], { ...(e.segments as Record<string, SegmentDefinition>), ...segments }, version, at, meta.actor) } } })
          }
        }
        const after: Feature = { ...before, ...changes, updatedAt: at, updatedBy: meta.actor, version } as Feature
        const event = buildAuditEvent({ subject: name, feature: name, action: 'FEATURE_UPDATED', actor: meta.actor, before, after, requestId: meta.requestId }, ids, now)
        await store.commit(ops, [event])
        const result = await this.get(name)
        return result ?? { ...after, environments: {} }
      })
    },

    async putEnv (name: string, env: string, targeting: EnvTargeting, meta: WriteMeta): Promise<{ config: FeatureEnvConfig; version: number }> {
      return await withVersion(name, meta, async (item, expected) => {
        const feature = toFeature(item)
        const segments = await validate({ name, type: feature.type, variants: feature.variants, environments: { [env]: targeting } })
        const current = await doc.send(new GetCommand({ TableName: tableName, Key: featureEnvKey(name, env), ConsistentRead: true }))
        const beforeConfig = current.Item !== undefined ? toEnvConfig(current.Item) : null
        // A config created concurrently bumps the flag version, so the commit below fails and the
        // retry sees it here: replacing a config always requires having seen it.
        if (meta.createOnly === true && beforeConfig !== null) {
          throw preconditionRequired(`Feature '${name}' already has a config in '${env}': send If-Match with the ETag of GET /features/${name} (or If-Match: * to overwrite whatever is there)`)
        }
        const at = new Date(now()).toISOString()
        const version = expected + 1
        const ops: WriteOp[] = [
          bumpFeature(name, expected, at, meta.actor, meta.ifMatch),
          envExistsCheck(env),
          { item: { Put: { TableName: tableName, Item: envItem(feature, env, targeting, segments, version, at, meta.actor) } } },
          ...sideItemOps(name, env, beforeConfig ?? undefined, targeting)
        ]
        const config: FeatureEnvConfig = { ...targeting, version, updatedAt: at, updatedBy: meta.actor }
        const event = buildAuditEvent({ subject: name, feature: name, environment: env, action: 'ENVIRONMENT_UPDATED', actor: meta.actor, before: beforeConfig, after: config, requestId: meta.requestId }, ids, now)
        await store.commit(ops, [event])
        return { config, version }
      })
    },

    async deleteEnv (name: string, env: string, meta: WriteMeta): Promise<void> {
      await withVersion(name, meta, async (_item, expected) => {
        const current = await doc.send(new GetCommand({ TableName: tableName, Key: featureEnvKey(name, env), ConsistentRead: true }))
        if (current.Item === undefined) throw notFound(`Feature '${name}' has no config in '${env}'`)
        const before = toEnvConfig(current.Item)
        const at = new Date(now()).toISOString()
        const ops: WriteOp[] = [
          bumpFeature(name, expected, at, meta.actor, meta.ifMatch),
          { item: { Delete: { TableName: tableName, Key: featureEnvKey(name, env), ConditionExpression: 'attribute_exists(PK)' } }, onConditionFailed: () => new VersionRace() },
          ...sideItemOps(name, env, before, undefined)
        ]
        const event = buildAuditEvent({ subject: name, feature: name, environment: env, action: 'ENVIRONMENT_DELETED', actor: meta.actor, before, after: null, requestId: meta.requestId }, ids, now)
        await store.commit(ops, [event])
      })
    },

    async delete (name: string, meta: WriteMeta): Promise<void> {
      await withVersion(name, meta, async (item, expected) => {
        const envs = await getEnvItems(name)
        const before = { ...toFeature(item), environments: Object.fromEntries(envs.map((e) => [e.environment as string, toEnvConfig(e)])) }
        const ops: WriteOp[] = foldRefCounts([
          {
            item: {
              Delete: {
                TableName: tableName,
                Key: featureKey(name),
                ConditionExpression: 'attribute_exists(PK) AND #v = :expected',
                ExpressionAttributeNames: { '#v': 'version' },
                ExpressionAttributeValues: { ':expected': expected },
                ...ALL_OLD
              }
            },
            onConditionFailed: versionGuard(name, expected, meta.ifMatch)
          },
          ...envs.flatMap((e) => [
            { item: { Delete: { TableName: tableName, Key: featureEnvKey(name, e.environment as string) } } },
            ...sideItemOps(name, e.environment as string, toEnvConfig(e), undefined)
          ])
        ])
        if (ops.length > 99) throw conflict(`Feature '${name}' has too many environment items to delete in one transaction`)
        const event = buildAuditEvent({ subject: name, feature: name, action: 'FEATURE_DELETED', actor: meta.actor, before, after: null, requestId: meta.requestId }, ids, now)
        await store.commit(ops, [event])
      })
    },

    /** The evaluation read: one GetItem on the environment item (strongly consistent on request, for caches). */
    async getDefinition (name: string, env: string, opts: { consistent?: boolean } = {}): Promise<FlagDefinition | undefined> {
      const res = await doc.send(new GetCommand({ TableName: tableName, Key: featureEnvKey(name, env), ConsistentRead: opts.consistent === true }))
      return res.Item !== undefined ? toDefinition(res.Item) : undefined
    },

    /**
     * Several flags of one environment: BatchGetItem, 100 keys a call (strongly consistent on
     * request, for caches). Keys DynamoDB leaves unprocessed (throttling, the 16 MB response cap)
     * are asked again with exponential backoff and jitter; still unread after
     * BATCH_GET_ATTEMPTS calls, the read fails as retryable (503) rather than pass a flag off as missing.
     */
    async getDefinitions (names: string[], env: string, opts: { consistent?: boolean } = {}): Promise<Map<string, FlagDefinition>> {
      const out = new Map<string, FlagDefinition>()
      const unique = [...new Set(names)]
      for (let i = 0; i < unique.length; i += 100) {
        let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map((n) => featureEnvKey(n, env))
        for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
          if (attempt === BATCH_GET_ATTEMPTS) throw serviceUnavailable(`The data store left ${keys.length} flag(s) of '${env}' unread; retry shortly`)
          if (attempt > 0) await sleep(Math.random() * Math.min(1_000, 25 * 2 ** attempt))
          const res: { Responses?: Record<string, Record<string, unknown>[]>; UnprocessedKeys?: Record<string, { Keys?: Record<string, unknown>[] }> } =
            await doc.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: opts.consistent === true } } }))
          for (const item of res.Responses?.[tableName] ?? []) out.set(item.flag as string, toDefinition(item))
          keys = res.UnprocessedKeys?.[tableName]?.Keys
        }
      }
      return out
    },

    /** One page of an environment's flags from GSI1 (bulk evaluation); never a Scan. */
    async listDefinitions (env: string, opts: { limit: number; cursor?: Record<string, unknown> }): Promise<{ items: FlagDefinition[]; cursor?: Record<string, unknown> }> {
      const res = await doc.send(new QueryCommand({
        TableName: tableName,
        IndexName: 'GSI1',
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': envFlagsPartition(env) },
        Limit: opts.limit,
        ExclusiveStartKey: opts.cursor
      }))
      return { items: (res.Items ?? []).map(toDefinition), cursor: res.LastEvaluatedKey }
    },

    /** Replace an env item's snapshot of a segment (called in the segment's own transaction). */
    refreshSegmentOp (flag: string, env: string, segment: SegmentDefinition | null): WriteOp {
      return {
        item: {
          Update: {
            TableName: tableName,
            Key: featureEnvKey(flag, env),
            UpdateExpression: 'SET #segments.#key = :segment',
            ConditionExpression: 'attribute_exists(PK)',
            ExpressionAttributeNames: { '#segments': 'segments', '#key': segment?.key ?? '' },
            ExpressionAttributeValues: { ':segment': segment }
          }
        }
      }
    },

    getEnvItems,
    getFeatureItem,
    envItem,
    sideItemOps,
    bumpFeature
  }
}

const MAX_VERSION_ATTEMPTS = 32

/** Internal signal: the aggregate moved between read and commit; the caller retries. */
export class VersionRace extends Error {}

export type FeatureRepository = ReturnType<typeof createFeatureRepository>
