// TransactWriteItems and TransactGetItems for the local engine (dynamo-engine.ts describes how
// they are built from dynalite's own validation, locks and actions).
import {
  type ApiError, type Item, type LevelOp, type Store, type Table, actions, apiError, commitBatch, dynaliteDb, getTable, isApiError, isConditionalFailure, lockAll, readItem, runAction, stagingStore, transactGetTypes, transactWriteTypes, validateRequest, validationError, validators
} from './dynalite-internals.js'

/* eslint-disable @typescript-eslint/no-explicit-any -- dynalite's request shapes are untyped */

/* ------------------------------------------------------------------------------------------------
 * TransactWriteItems
 * ---------------------------------------------------------------------------------------------- */

type WriteKind = 'ConditionCheck' | 'Put' | 'Delete' | 'Update'
const writeKinds: WriteKind[] = ['ConditionCheck', 'Put', 'Delete', 'Update']
const customValidatorFor: Record<WriteKind, 'putItem' | 'updateItem' | 'deleteItem'> = {
  ConditionCheck: 'deleteItem', // same shape: TableName, Key, ConditionExpression, names/values
  Put: 'putItem',
  Delete: 'deleteItem',
  Update: 'updateItem',
}

interface PlannedItem {
  kind: WriteKind
  op: any // the validated sub-request, with dynalite's parsed _condition / _updates
  table: Table
  key: string
}

interface CancellationReason {
  Code: string
  Message?: string
  Item?: Item
}

async function planItems<T extends { op: any }> (
  store: Store,
  entries: T[],
  keyOf: (entry: T, table: Table) => string
): Promise<(T & { table: Table; key: string })[]> {
  const tables = new Map<string, Promise<Table>>()
  const planned: (T & { table: Table; key: string })[] = []
  for (const entry of entries) {
    const name: string = entry.op.TableName
    if (!tables.has(name)) tables.set(name, getTable(store, name))
    const table = await tables.get(name)
    planned.push({ ...entry, table, key: keyOf(entry, table) })
  }
  const seen = new Set<string>()
  for (const p of planned) {
    const id = `${p.table.TableName}\u0000${p.key}`
    if (seen.has(id)) throw validationError('Transaction request cannot include multiple operations on one item')
    seen.add(id)
  }
  return planned
}

function keysByTable (planned: { table: Table; key: string }[]): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const p of planned) {
    const keys = map.get(p.table.TableName) ?? []
    keys.push(p.key)
    map.set(p.table.TableName, keys)
  }
  return map
}

const CLIENT_TOKEN_WINDOW_MS = 10 * 60_000

interface ClientToken {
  fingerprint: string
  /** Set once the transaction committed; until then `pending` settles when it finishes. */
  expires?: number
  pending?: Promise<unknown>
}

const clientTokensByStore = new WeakMap<Store, Map<string, ClientToken>>()

/** The request minus its token, with object keys sorted, to compare a replay with the original. */
function requestFingerprint (raw: Record<string, unknown>): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical)
    if (v === null || typeof v !== 'object') return v
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
  }
  const { ClientRequestToken: _token, ...rest } = raw
  return JSON.stringify(canonical(rest))
}

export async function transactWriteItems (store: Store, raw: any, now: () => number): Promise<Record<string, unknown>> {
  const data = validateRequest(raw, transactWriteTypes, store)
  const token: unknown = data.ClientRequestToken
  if (typeof token !== 'string') return executeTransactWrite(store, data)

  let tokens = clientTokensByStore.get(store)
  if (tokens === undefined) clientTokensByStore.set(store, tokens = new Map())
  const at = now()
  // Completed tokens are (nearly) in insertion order; drop the expired ones at the front.
  for (const [key, entry] of tokens) {
    if (entry.expires === undefined || entry.expires > at) break
    tokens.delete(key)
  }
  const fingerprint = requestFingerprint(raw)
  for (;;) {
    const seen = tokens.get(token)
    if (seen === undefined || (seen.expires !== undefined && seen.expires <= at)) break
    if (seen.fingerprint !== fingerprint) {
      throw apiError('com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException',
        'Transaction with the given request token has different parameters than the original request')
    }
    if (seen.expires !== undefined) return {} // committed before: succeed without applying it again
    await seen.pending?.catch(() => {})
  }

  const entry: ClientToken = { fingerprint }
  const run = executeTransactWrite(store, data)
  entry.pending = run
  tokens.delete(token)
  tokens.set(token, entry)
  try {
    const result = await run
    entry.expires = now() + CLIENT_TOKEN_WINDOW_MS
    entry.pending = undefined
    // Re-insert so the map stays ordered by completion time for the purge above.
    tokens.delete(token)
    tokens.set(token, entry)
    return result
  } catch (err) {
    if (tokens.get(token) === entry) tokens.delete(token)
    throw err
  }
}

async function executeTransactWrite (store: Store, data: any): Promise<Record<string, unknown>> {
  const entries = (data.TransactItems as any[]).map((member) => {
    const present = writeKinds.filter((k) => member[k] != null)
    if (present.length !== 1) {
      throw validationError('TransactItems can only contain one of Check, Put, Update or Delete')
    }
    const kind = present[0]
    const op = member[kind]
    const msg = validators[customValidatorFor[kind]].custom(op, store)
    if (msg) throw validationError(msg)
    return { kind, op }
  })

  const planned: PlannedItem[] = await planItems(store, entries, ({ kind, op }, table) => {
    let invalid: unknown
    if (kind === 'Put') invalid = dynaliteDb.validateItem(op.Item, table)
    else {
      invalid = dynaliteDb.validateKey(op.Key, table)
      if (invalid == null && kind === 'Update') invalid = dynaliteDb.validateUpdates(null, op._updates, table)
    }
    if (invalid != null) throw invalid
    return dynaliteDb.createKey(kind === 'Put' ? op.Item : op.Key, table)
  })

  const release = await lockAll(store, keysByTable(planned))
  try {
    const snapshots = await Promise.all(planned.map((p) => readItem(store, p.table.TableName, p.key)))

    const reasons: CancellationReason[] = []
    const ops: LevelOp[] = []
    for (let i = 0; i < planned.length; i++) {
      const { kind, op, table } = planned[i]
      const existing = snapshots[i]
      const itemOps: LevelOp[] = []
      let err: unknown = null
      try {
        if (kind === 'ConditionCheck') {
          err = dynaliteDb.checkConditional(op, existing)
        } else {
          const action = kind === 'Put' ? actions.putItem : kind === 'Update' ? actions.updateItem : actions.deleteItem
          await runAction(action, stagingStore(store, table, existing, itemOps), op)
        }
      } catch (e) {
        err = e
      }
      if (err == null) {
        reasons.push({ Code: 'None' })
        ops.push(...itemOps)
      } else if (isConditionalFailure(err)) {
        const reason: CancellationReason = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }
        if (op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && existing) reason.Item = existing
        reasons.push(reason)
      } else if (isApiError(err) && /#ValidationException$/.test(String(err.body.__type))) {
        // Data-dependent validation failures (e.g. an update expression's operand type, the
        // updated item's size) cancel the transaction with a ValidationError reason.
        reasons.push({ Code: 'ValidationError', Message: String(err.body.message) })
      } else {
        throw err
      }
    }

    if (reasons.some((r) => r.Code !== 'None')) {
      const message = 'Transaction cancelled, please refer cancellation reasons for specific reasons ' +
        `[${reasons.map((r) => r.Code).join(', ')}]`
      const err = new Error(message) as ApiError
      err.statusCode = 400
      err.body = {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        Message: message,
        CancellationReasons: reasons,
      }
      throw err
    }

    await commitBatch(store, ops)
    return {}
  } finally {
    release()
  }
}

/* ------------------------------------------------------------------------------------------------
 * TransactGetItems
 * ---------------------------------------------------------------------------------------------- */

export async function transactGetItems (store: Store, raw: any): Promise<Record<string, unknown>> {
  const data = validateRequest(raw, transactGetTypes, store)

  const entries = (data.TransactItems as any[]).map((member) => {
    const op = member.Get
    const msg = validators.getItem.custom(op, store)
    if (msg) throw validationError(msg)
    return { op }
  })

  const planned = await planItems(store, entries, ({ op }, table) => {
    const invalid = dynaliteDb.validateKey(op.Key, table) ??
      dynaliteDb.validateKeyPaths((op._projection || {}).nestedPaths, table)
    if (invalid != null) throw invalid
    return dynaliteDb.createKey(op.Key, table)
  })

  // Reading under the items' write locks gives a consistent snapshot: no transaction or
  // single-item write on these items can be half-way through while we read.
  const release = await lockAll(store, keysByTable(planned))
  try {
    const items = await Promise.all(planned.map((p) => readItem(store, p.table.TableName, p.key)))
    return {
      Responses: items.map((item, i) => {
        if (!item) return {}
        const paths = planned[i].op._projection?.paths
        return { Item: paths ? dynaliteDb.mapPaths(paths, item) : item }
      }),
    }
  } finally {
    release()
  }
}
