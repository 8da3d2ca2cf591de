// How a feature and its environment configs are laid out in the table, and the transaction items
// that change them: the feature item, environment items (with their GSI1 keys for bulk
// evaluation), the side items that index an environment config (segment references, pending
// schedule entries) and the conditions that keep them consistent. Pure: no reads, no I/O.
import type { WriteOp } from './store.js'
import { ALL_OLD } from './store.js'
import { featureKey, featureEnvKey, featureEnvIndexKeys, environmentKey, segmentRefKey, scheduleKey, segmentKey } from './keys.js'
import { badRequest, notFound, preconditionFailed } from '../domain/errors.js'
import type { EnvTargeting, FlagType, SegmentDefinition, Variant } from '../domain/model.js'

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

export function targetingOf (item: Record<string, unknown> | EnvTargeting): EnvTargeting {
  return pick(item as EnvTargeting, TARGETING_FIELDS) as EnvTargeting
}

export function toEnvConfig (item: Record<string, unknown>): FeatureEnvConfig {
  const i = item as unknown as FeatureEnvConfig
  return { ...targetingOf(item), version: i.version, updatedAt: i.updatedAt, updatedBy: i.updatedBy }
}

/** Segment keys an environment config uses, in its rules and in its scheduled rules. */
export function segmentKeysOf (t: EnvTargeting): string[] {
  const keys = new Set<string>()
  const rules = [...t.rules, ...t.schedule.flatMap((s) => s.change.rules ?? [])]
  for (const r of rules) {
    for (const c of r.clauses) {
      if (c.operator === 'segmentMatch') for (const v of c.values) keys.add(String(v))
    }
  }
  return [...keys].sort()
}

/** Internal signal: the aggregate moved between read and commit; the caller retries. */
export class VersionRace extends Error {}

export function createFeatureItems (tableName: string) {
  const refCountDeltas = new WeakMap<WriteOp, { segment: string; delta: number }>()

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
      ...targetingOf(t),
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

  function versionGuard (name: string, ifMatch: number | undefined) {
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
      onConditionFailed: versionGuard(name, ifMatch)
    }
  }

  /** Delete the feature item, conditioned like bumpFeature. */
  function deleteFeature (name: string, expected: number, ifMatch: number | undefined): WriteOp {
    return {
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
      onConditionFailed: versionGuard(name, ifMatch)
    }
  }

  return { envItem, sideItemOps, foldRefCounts, envExistsCheck, bumpFeature, deleteFeature }
}

export type FeatureItems = ReturnType<typeof createFeatureItems>
