// Reusable segments. Flags that use a segment hold a snapshot of it on their environment item
// (so evaluation stays one GetItem); a SegmentRef item per (segment, flag, env) lets a segment
// change refresh those snapshots in its own transaction, and blocks deleting a segment in use.
import { GetCommand } from '@aws-sdk/lib-dynamodb'
import { batchGetAll } from './batch-get.js'
import type { Store, WriteMeta, WriteOp } from './store.js'
import { segmentKey, segmentRefKey, featureEnvKey, segmentsPartition } from './keys.js'
import { auditOrigin, buildAuditEvent } from '../domain/audit.js'
import { badRequest, conflict, notFound, preconditionFailed } from '../domain/errors.js'
import type { SegmentDefinition } from '../domain/model.js'
import { validateSegment } from '../domain/validate-flag.js'
import { queryAll } from './query-all.js'

export interface Segment extends SegmentDefinition {
  version: number
  createdAt: string
  updatedAt: string
  updatedBy: string
}

const FIELDS = ['key', 'description', 'included', 'excluded', 'rules'] as const

function toDefinition (item: Record<string, unknown>): SegmentDefinition {
  const out: Record<string, unknown> = {}
  for (const f of FIELDS) if (item[f] !== undefined) out[f] = item[f]
  return out as unknown as SegmentDefinition
}

function toSegment (item: Record<string, unknown>): Segment {
  return { ...toDefinition(item), version: item.version as number, createdAt: item.createdAt as string, updatedAt: item.updatedAt as string, updatedBy: item.updatedBy as string }
}

export function createSegmentRepository (store: Store) {
  const { doc, tableName, now, ids } = store

  async function refs (key: string): Promise<{ flag: string; environment: string }[]> {
    const items = await queryAll(doc, {
      TableName: tableName,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :ref)',
      ExpressionAttributeValues: { ':pk': segmentRefKey(key, '', '').PK, ':ref': 'REF#' },
      ConsistentRead: true
    })
    return items.map((i) => ({ flag: i.flag as string, environment: i.environment as string }))
  }

  function snapshotOps (segment: SegmentDefinition, users: { flag: string; environment: string }[]): WriteOp[] {
    return users.map((u) => ({
      item: {
        Update: {
          TableName: tableName,
          Key: featureEnvKey(u.flag, u.environment),
          UpdateExpression: 'SET #segments.#key = :segment',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeNames: { '#segments': 'segments', '#key': segment.key },
          ExpressionAttributeValues: { ':segment': segment }
        }
      }
    }))
  }

  function check (seg: SegmentDefinition) {
    const errors = validateSegment(seg)
    if (errors.length > 0) throw badRequest(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors)
  }

  return {
    async get (key: string): Promise<Segment | undefined> {
      const res = await doc.send(new GetCommand({ TableName: tableName, Key: segmentKey(key), ConsistentRead: true }))
      return res.Item !== undefined ? toSegment(res.Item) : undefined
    },

    /** Segments by key, strongly consistent (validation of a flag that uses them). */
    async getMany (keys: string[]): Promise<SegmentDefinition[]> {
      const found = await batchGetAll(doc, tableName, keys.map(segmentKey), { consistent: true, what: 'segment(s)' })
      return found.map(toDefinition)
    },

    async list (): Promise<Segment[]> {
      return (await queryAll(doc, { TableName: tableName, KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': segmentsPartition } })).map(toSegment)
    },

    usage: refs,

    async create (seg: SegmentDefinition, meta: WriteMeta): Promise<Segment> {
      check(seg)
      const at = new Date(now()).toISOString()
      const segment: Segment = { ...seg, version: 1, createdAt: at, updatedAt: at, updatedBy: meta.actor }
      const event = buildAuditEvent({ subject: `segment:${seg.key}`, action: 'SEGMENT_CREATED', actor: meta.actor, before: null, after: segment, ...auditOrigin(meta) }, ids, now)
      await store.commit([{
        item: { Put: { TableName: tableName, Item: { ...segmentKey(seg.key), entity: 'Segment', ...segment }, ConditionExpression: 'attribute_not_exists(PK)' } },
        onConditionFailed: () => conflict(`Segment '${seg.key}' already exists`)
      }], [event])
      return segment
    },

    async update (seg: SegmentDefinition, meta: WriteMeta): Promise<Segment> {
      check(seg)
      for (let attempt = 0; ; attempt++) {
        const current = await this.get(seg.key)
        if (current === undefined) throw notFound(`Segment '${seg.key}' not found`)
        if (meta.ifMatch !== undefined && meta.ifMatch !== current.version) throw segmentVersionError(seg.key, meta.ifMatch)
        const users = await refs(seg.key)
        if (users.length > 90) throw conflict(`Segment '${seg.key}' is used by ${users.length} flag environments; at most 90 can be refreshed in one change`)
        const at = new Date(now()).toISOString()
        const segment: Segment = { ...seg, version: current.version + 1, createdAt: current.createdAt, updatedAt: at, updatedBy: meta.actor }
        const event = buildAuditEvent({ subject: `segment:${seg.key}`, action: 'SEGMENT_UPDATED', actor: meta.actor, before: current, after: segment, ...auditOrigin(meta) }, ids, now)
        try {
          await store.commit([
            {
              item: {
                Update: {
                  TableName: tableName,
                  Key: segmentKey(seg.key),
                  UpdateExpression: 'SET #v = :next, #d = :d, #inc = :inc, #exc = :exc, #rules = :rules, #ua = :at, #ub = :actor',
                  // The reference count must equal the references refreshed below: a flag that
                  // started using the segment meanwhile makes this fail, and we retry.
                  ConditionExpression: 'attribute_exists(PK) AND #v = :expected AND ' +
                    (users.length === 0 ? '(attribute_not_exists(#refs) OR #refs = :n)' : '#refs = :n'),
                  ExpressionAttributeNames: { '#v': 'version', '#d': 'description', '#inc': 'included', '#exc': 'excluded', '#rules': 'rules', '#ua': 'updatedAt', '#ub': 'updatedBy', '#refs': 'refCount' },
                  ExpressionAttributeValues: { ':next': segment.version, ':expected': current.version, ':d': seg.description ?? '', ':inc': seg.included, ':exc': seg.excluded, ':rules': seg.rules, ':at': at, ':actor': meta.actor, ':n': users.length }
                }
              },
              onConditionFailed: () => new SegmentRace()
            },
            ...snapshotOps(seg, users)
          ], [event])
          return segment
        } catch (err) {
          if (!(err instanceof SegmentRace)) throw err
          if (meta.ifMatch !== undefined) {
            const latest = await this.get(seg.key)
            if (latest !== undefined && latest.version !== meta.ifMatch) throw segmentVersionError(seg.key, meta.ifMatch)
          }
          if (attempt >= 5) throw conflict(`Segment '${seg.key}' is changing too fast; retry`)
        }
      }
    },

    async delete (key: string, meta: WriteMeta): Promise<void> {
      const current = await this.get(key)
      if (current === undefined) throw notFound(`Segment '${key}' not found`)
      const users = await refs(key)
      if (users.length > 0) {
        throw conflict(`Segment '${key}' is used by ${users.map((u) => `${u.flag}/${u.environment}`).slice(0, 10).join(', ')}; remove it from their rules first`)
      }
      const event = buildAuditEvent({ subject: `segment:${key}`, action: 'SEGMENT_DELETED', actor: meta.actor, before: current, after: null, ...auditOrigin(meta) }, ids, now)
      await store.commit([
        {
          item: {
            Delete: {
              TableName: tableName,
              Key: segmentKey(key),
              // refCount is kept by the flag writes that add or drop a reference, in their own
              // transactions, so a flag cannot start using the segment between our read and delete.
              ConditionExpression: 'attribute_exists(PK) AND #v = :expected AND (attribute_not_exists(#refs) OR #refs <= :zero)',
              ExpressionAttributeNames: { '#v': 'version', '#refs': 'refCount' },
              ExpressionAttributeValues: { ':expected': meta.ifMatch ?? current.version, ':zero': 0 },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD'
            }
          },
          onConditionFailed: (old) => old !== undefined && Number(old.refCount ?? 0) > 0
            ? conflict(`Segment '${key}' is in use by a flag; remove it from their rules first`)
            : segmentVersionError(key, meta.ifMatch ?? current.version)
        }
      ], [event])
    }
  }
}

class SegmentRace extends Error {}

function segmentVersionError (key: string, expected: number) {
  return preconditionFailed(`Segment '${key}' changed since version ${expected}`)
}

export type SegmentRepository = ReturnType<typeof createSegmentRepository>
