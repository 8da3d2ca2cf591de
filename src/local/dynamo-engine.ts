/**
 * Local DynamoDB engine for development: dynalite (DynamoDB API on LevelDB) extended with
 * TransactWriteItems and TransactGetItems, which dynalite answers with UnknownOperationException.
 *
 * DEVELOPMENT ONLY. Nothing here runs on AWS; the app talks to this engine through the real AWS
 * SDK v3 clients over HTTP, exactly as it talks to DynamoDB.
 *
 * How it works
 * - `dynalite()` builds an http.Server around a private store. We capture that store by wrapping
 *   dynalite's own `db.create` for the duration of the call, then put our request listener in front
 *   of dynalite's: requests whose `X-Amz-Target` is `DynamoDB_20120810.TransactWriteItems` or
 *   `DynamoDB_20120810.TransactGetItems` are answered here, everything else goes to dynalite.
 * - Validation reuses dynalite's validation machinery (`checkTypes` / `checkValidations`, and the
 *   PutItem/UpdateItem/DeleteItem/GetItem `custom` validators that parse the expressions).
 * - Isolation: every item touched by a transaction is locked with dynalite's own per-table item
 *   lock (`store.getItemDb(table).lock`), the same lock dynalite's PutItem/UpdateItem/DeleteItem
 *   (and BatchWriteItem, which goes through them) hold across their read-check-write. All locks of
 *   a transaction are enqueued synchronously in one tick, so two transactions can never wait on
 *   each other in opposite orders (no deadlock). Plain GetItem/Query/Scan do not lock in dynalite,
 *   so they may observe a single-item write in progress, as before; they never observe half a
 *   transaction because a transaction is one LevelDB batch.
 * - Conditions and updates: each Put/Update/Delete is run through dynalite's *own* putItem /
 *   updateItem / deleteItem action against a "staging" store whose reads come from the locked
 *   snapshot and whose writes (item and secondary-index puts/deletes, i.e. dynalite's
 *   `db.updateIndexes`) are recorded instead of applied. Condition evaluation, update-expression
 *   application, item-size checks and GSI/LSI maintenance are therefore dynalite's code, unchanged.
 *   ConditionCheck uses `db.checkConditional` directly.
 * - Atomicity and durability: if every item passes, all recorded writes are committed in ONE
 *   LevelDB batch with `sync: true`, so a crash or SIGKILL leaves either the whole transaction or
 *   nothing, and an acknowledged transaction is on disk.
 * - ClientRequestToken idempotency, as DynamoDB (and DynamoDB Local) do it: the AWS SDK puts a
 *   token on every TransactWriteItems and re-sends the same request when it retries, so a retry of
 *   a transaction that committed (response lost, timeout) must succeed without applying it again.
 *   A token whose transaction committed is remembered for 10 minutes after completion: the same
 *   request again succeeds with no changes, a different request with that token is answered with
 *   IdempotentParameterMismatchException. A cancelled transaction leaves no token behind; a second
 *   request with the token of one still in flight waits for it (DynamoDB Local does the same).
 *   Tokens live in memory, so they are forgotten when the engine restarts.
 *
 * Not supported / simplifications
 * - ReturnConsumedCapacity / ReturnItemCollectionMetrics are accepted and ignored.
 * - The 4 MB aggregate transaction size limit and TransactionConflictException (DynamoDB rejects a
 *   transaction conflicting with another in-flight one; here the second one simply waits for the
 *   locks) are not emulated.
 */
import { createRequire } from 'node:module'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'

export interface LocalDynamo {
  endpoint: string
  port: number
  close(): Promise<void>
}

export interface LocalDynamoOptions {
  /** LevelDB directory; in-memory when absent. */
  path?: string
  /** 0 or absent = a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** How long tables stay CREATING / DELETING / UPDATING (dynalite's defaults: 500 ms). */
  createTableMs?: number
  deleteTableMs?: number
  updateTableMs?: number
}

/* ------------------------------------------------------------------------------------------------
 * dynalite internals (CommonJS, untyped)
 * ---------------------------------------------------------------------------------------------- */

const nodeRequire = createRequire(import.meta.url)
const dynaliteMain = nodeRequire.resolve('dynalite')
const requireFromDynalite = createRequire(dynaliteMain)

/* eslint-disable @typescript-eslint/no-explicit-any */
const dynalite: (options: Record<string, unknown>) => Server = nodeRequire('dynalite')
const dynaliteDb: any = requireFromDynalite('./db/index.js')
const dynaliteValidations: any = requireFromDynalite('./validations/index.js')
const crc32: { unsigned(body: string | Buffer): number } = requireFromDynalite('buffer-crc32')
const actions: Record<'putItem' | 'updateItem' | 'deleteItem', any> = {
  putItem: requireFromDynalite('./actions/putItem.js'),
  updateItem: requireFromDynalite('./actions/updateItem.js'),
  deleteItem: requireFromDynalite('./actions/deleteItem.js'),
}
const validators: Record<'putItem' | 'updateItem' | 'deleteItem' | 'getItem', { types: any; custom: any }> = {
  putItem: requireFromDynalite('./validations/putItem.js'),
  updateItem: requireFromDynalite('./validations/updateItem.js'),
  deleteItem: requireFromDynalite('./validations/deleteItem.js'),
  getItem: requireFromDynalite('./validations/getItem.js'),
}

type AttributeValue = Record<string, any>
type Item = Record<string, AttributeValue>
type Table = any
type Store = any
type LevelOp = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string }

/** dynalite error shape: an Error with statusCode and a JSON body. */
interface ApiError extends Error {
  statusCode: number
  body: Record<string, unknown>
}

function apiError (type: string, message: string, extra: Record<string, unknown> = {}): ApiError {
  const err = new Error(message) as ApiError
  err.statusCode = 400
  err.body = { __type: type, message, ...extra }
  return err
}

const validationError = (message: string): ApiError =>
  apiError('com.amazon.coral.validate#ValidationException', message)

function isApiError (err: unknown): err is ApiError {
  return err instanceof Error && typeof (err as ApiError).statusCode === 'number' && (err as ApiError).body != null
}

function isConditionalFailure (err: unknown): boolean {
  return isApiError(err) && /#ConditionalCheckFailedException$/.test(String(err.body.__type))
}

/* ------------------------------------------------------------------------------------------------
 * Request shapes (for dynalite's checkTypes / checkValidations)
 * ---------------------------------------------------------------------------------------------- */

const pick = (types: Record<string, unknown>, names: string[]): Record<string, unknown> =>
  Object.fromEntries(names.map((n) => [n, types[n]]))

const returnValuesOnConditionCheckFailure = { type: 'String', enum: ['ALL_OLD', 'NONE'] }
const exprAttrs = ['ExpressionAttributeNames', 'ExpressionAttributeValues']

const writeItemChildren = {
  ConditionCheck: {
    type: 'FieldStruct<ConditionCheck>',
    children: {
      ...pick(validators.deleteItem.types, ['TableName', 'Key', ...exprAttrs]),
      ConditionExpression: { type: 'String', notNull: true },
      ReturnValuesOnConditionCheckFailure: returnValuesOnConditionCheckFailure,
    },
  },
  Put: {
    type: 'FieldStruct<Put>',
    children: {
      ...pick(validators.putItem.types, ['TableName', 'Item', 'ConditionExpression', ...exprAttrs]),
      ReturnValuesOnConditionCheckFailure: returnValuesOnConditionCheckFailure,
    },
  },
  Delete: {
    type: 'FieldStruct<Delete>',
    children: {
      ...pick(validators.deleteItem.types, ['TableName', 'Key', 'ConditionExpression', ...exprAttrs]),
      ReturnValuesOnConditionCheckFailure: returnValuesOnConditionCheckFailure,
    },
  },
  Update: {
    type: 'FieldStruct<Update>',
    children: {
      ...pick(validators.updateItem.types, ['TableName', 'Key', 'ConditionExpression', ...exprAttrs]),
      UpdateExpression: { type: 'String', notNull: true },
      ReturnValuesOnConditionCheckFailure: returnValuesOnConditionCheckFailure,
    },
  },
}

const transactItemsLimits = { lengthGreaterThanOrEqual: 1, lengthLessThanOrEqual: 100 }

const transactWriteTypes = {
  TransactItems: {
    type: 'List',
    notNull: true,
    ...transactItemsLimits,
    children: { type: 'ValueStruct<TransactWriteItem>', children: writeItemChildren },
  },
  ReturnConsumedCapacity: { type: 'String', enum: ['INDEXES', 'TOTAL', 'NONE'] },
  ReturnItemCollectionMetrics: { type: 'String', enum: ['SIZE', 'NONE'] },
  ClientRequestToken: { type: 'String', lengthGreaterThanOrEqual: 1, lengthLessThanOrEqual: 36 },
}

const transactGetTypes = {
  TransactItems: {
    type: 'List',
    notNull: true,
    ...transactItemsLimits,
    children: {
      type: 'ValueStruct<TransactGetItem>',
      children: {
        Get: {
          type: 'FieldStruct<Get>',
          notNull: true,
          children: pick(validators.getItem.types, ['TableName', 'Key', 'ProjectionExpression', 'ExpressionAttributeNames']),
        },
      },
    },
  },
  ReturnConsumedCapacity: { type: 'String', enum: ['INDEXES', 'TOTAL', 'NONE'] },
}

/**
 * dynalite's checkValidations prints the whole offending value in its messages; a 101-item list
 * would make a huge message, so the list-length errors are produced here in DynamoDB's wording.
 */
function checkListLength (list: unknown): void {
  if (!Array.isArray(list)) return
  if (list.length < 1) {
    throw validationError("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: " +
      'Member must have length greater than or equal to 1')
  }
  if (list.length > 100) {
    throw validationError(`1 validation error detected: Value '[${list.length} items]' at 'transactItems' failed to ` +
      'satisfy constraint: Member must have length less than or equal to 100')
  }
}

function validateRequest (raw: any, types: Record<string, any>, store: Store): any {
  const data = dynaliteValidations.checkTypes(raw, types)
  checkListLength(data.TransactItems)
  dynaliteValidations.checkValidations(data, types, null, store)
  return data
}

/* ------------------------------------------------------------------------------------------------
 * Locking
 * ---------------------------------------------------------------------------------------------- */

type Release = () => void

/**
 * Locks every (table, key) with dynalite's per-table item lock. All enqueues happen synchronously
 * here, in one tick, so lock acquisition order is globally consistent and cannot deadlock.
 */
function lockAll (store: Store, keysByTable: Map<string, string[]>): Promise<Release> {
  const waits: Promise<Release>[] = []
  for (const [tableName, keys] of keysByTable) {
    if (keys.length === 0) continue
    const itemDb = store.getItemDb(tableName)
    waits.push(new Promise<Release>((resolve) => {
      itemDb.lock(keys, (releaser: (done: () => void) => () => void) => resolve(releaser(() => {})))
    }))
  }
  return Promise.all(waits).then((releases) => () => releases.forEach((release) => release()))
}

/* ------------------------------------------------------------------------------------------------
 * Store helpers
 * ---------------------------------------------------------------------------------------------- */

// Key layout of dynalite's prefixed sub-databases (db/index.js getItemDb / getIndexDb / getSubDb).
const itemKeyPrefix = (tableName: string) => `item-${tableName}~`
const indexKeyPrefix = (indexType: string, tableName: string, indexName: string) =>
  `index-${indexType.toLowerCase()}~${tableName}~${indexName}~`

function getTable (store: Store, name: string): Promise<Table> {
  return new Promise((resolve, reject) => {
    // checkStatus=true: like dynalite's item actions, a CREATING/DELETING table is "not found".
    store.getTable(name, true, (err: unknown, table: Table) => (err ? reject(err) : resolve(table)))
  })
}

function readItem (store: Store, tableName: string, key: string): Promise<Item | undefined> {
  return new Promise((resolve, reject) => {
    store.getItemDb(tableName).get(key, (err: any, item: Item | undefined) => {
      if (err && err.name !== 'NotFoundError' && err.code !== 'LEVEL_NOT_FOUND') return reject(err)
      resolve(err ? undefined : (item ?? undefined))
    })
  })
}

/**
 * Commits the recorded operations in one LevelDB batch, synced to disk. dynalite replaces
 * `db.batch` with a callback wrapper that drops options, so the prototype's (abstract-level's)
 * batch is called directly; the operation is still registered with dynalite's lifecycle manager
 * so a graceful close waits for it.
 */
function commitBatch (store: Store, ops: LevelOp[]): Promise<void> {
  if (ops.length === 0) return Promise.resolve()
  const db = store.db
  if (store.lifecycleManager && store.lifecycleManager.getState() !== 'open') {
    return Promise.reject(new Error('Database is closed'))
  }
  const batch = Object.getPrototypeOf(db).batch as (ops: LevelOp[], options: object) => Promise<void>
  const operation = batch.call(db, ops, { sync: true })
  return store.lifecycleManager ? store.lifecycleManager.trackOperation(operation) : operation
}

/**
 * A store that looks like dynalite's to its putItem/updateItem/deleteItem actions, but reads the
 * item from the locked snapshot and records writes (item and secondary indexes) into `ops`.
 */
function stagingStore (store: Store, table: Table, snapshot: Item | undefined, ops: LevelOp[]): Store {
  const recorder = (prefix: string) => ({
    // The real locks are already held by the transaction.
    lock: (_key: string, exec: (release: (cb: unknown) => unknown) => void) => exec((cb) => cb),
    get: (_key: string, cb: (err: unknown, item?: Item) => void) => cb(null, snapshot),
    put: (key: string, value: unknown, cb: (err?: unknown) => void) => {
      ops.push({ type: 'put', key: prefix + key, value })
      cb()
    },
    del: (key: string, cb: (err?: unknown) => void) => {
      ops.push({ type: 'del', key: prefix + key })
      cb()
    },
  })
  return {
    options: store.options,
    getTable: (_name: string, checkStatus: unknown, cb?: (err: unknown, table?: Table) => void) =>
      (typeof checkStatus === 'function' ? checkStatus : cb!)(null, table),
    getItemDb: (name: string) => recorder(itemKeyPrefix(name)),
    getIndexDb: (indexType: string, tableName: string, indexName: string) =>
      recorder(indexKeyPrefix(indexType, tableName, indexName)),
  }
}

function runAction (action: any, store: Store, data: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    action(store, data, (err: unknown) => (err ? reject(err) : resolve()))
  })
}

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

async function transactWriteItems (store: Store, raw: any): Promise<Record<string, unknown>> {
  const data = validateRequest(raw, transactWriteTypes, store)
  const token: unknown = data.ClientRequestToken
  if (typeof token !== 'string') return executeTransactWrite(store, data)

  let tokens = clientTokensByStore.get(store)
  if (tokens === undefined) clientTokensByStore.set(store, tokens = new Map())
  const now = Date.now()
  // Completed tokens are (nearly) in insertion order; drop the expired ones at the front.
  for (const [key, entry] of tokens) {
    if (entry.expires === undefined || entry.expires > now) break
    tokens.delete(key)
  }
  const fingerprint = requestFingerprint(raw)
  for (;;) {
    const seen = tokens.get(token)
    if (seen === undefined || (seen.expires !== undefined && seen.expires <= now)) break
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
    entry.expires = Date.now() + CLIENT_TOKEN_WINDOW_MS
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

async function transactGetItems (store: Store, raw: any): Promise<Record<string, unknown>> {
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

/* ------------------------------------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------------------------------------- */

const TRANSACT_TARGETS: Record<string, (store: Store, data: any) => Promise<Record<string, unknown>>> = {
  'DynamoDB_20120810.TransactWriteItems': transactWriteItems,
  'DynamoDB_20120810.TransactGetItems': transactGetItems,
}

function send (res: ServerResponse, contentType: string, data: unknown, statusCode = 200): void {
  const body = JSON.stringify(data)
  res.statusCode = statusCode
  res.setHeader('x-amzn-RequestId', randomBytes(39).toString('base64').toUpperCase().replace(/\+|\//g, '0'))
  res.setHeader('x-amz-crc32', crc32.unsigned(body))
  res.setHeader('Content-Type', contentType)
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'))
  res.end(body)
}

function handleTransact (store: Store, req: IncomingMessage, res: ServerResponse,
  handler: (store: Store, data: any) => Promise<Record<string, unknown>>): void {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('error', () => res.destroy())
  req.on('end', () => {
    const contentType = (req.headers['content-type'] || '').split(';')[0].trim() === 'application/x-amz-json-1.0'
      ? 'application/x-amz-json-1.0'
      : 'application/json'
    let data: unknown
    try {
      data = JSON.parse(Buffer.concat(chunks).toString() || 'null')
    } catch {
      return send(res, contentType, { __type: 'com.amazon.coral.service#SerializationException' }, 400)
    }
    if (data == null || typeof data !== 'object' || Array.isArray(data)) {
      return send(res, contentType, { __type: 'com.amazon.coral.service#SerializationException' }, 400)
    }
    handler(store, data).then(
      (result) => send(res, contentType, result),
      (err: unknown) => {
        if (isApiError(err)) return send(res, contentType, err.body, err.statusCode)
        console.error('[local-dynamo] transaction failed', err)
        send(res, contentType, {
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: 'Internal server error',
        }, 500)
      }
    )
  })
}

/**
 * Starts dynalite with TransactWriteItems / TransactGetItems on `host:port` (a free port by
 * default). `close()` stops the HTTP server, waits for in-flight operations and closes LevelDB, so
 * the same `path` can be reopened afterwards (by this or another process).
 */
export async function startLocalDynamo (opts: LocalDynamoOptions = {}): Promise<LocalDynamo> {
  const host = opts.host ?? '127.0.0.1'

  // Capture the store dynalite creates privately inside dynalite().
  let store: Store
  const originalCreate = dynaliteDb.create
  dynaliteDb.create = (options: unknown) => (store = originalCreate(options))
  let server: Server
  try {
    server = dynalite({
      path: opts.path,
      createTableMs: opts.createTableMs,
      deleteTableMs: opts.deleteTableMs,
      updateTableMs: opts.updateTableMs,
    })
  } finally {
    dynaliteDb.create = originalCreate
  }
  if (!store) throw new Error('could not capture the dynalite store')

  const dynaliteListeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[]
  server.removeAllListeners('request')
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const target = req.headers['x-amz-target']
    const handler = req.method === 'POST' && typeof target === 'string' ? TRANSACT_TARGETS[target] : undefined
    if (handler) return handleTransact(store, req, res, handler)
    for (const listener of dynaliteListeners) listener.call(server, req, res)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host

  let closing: Promise<void> | undefined
  return {
    endpoint: `http://${urlHost}:${port}`,
    port,
    close () {
      // dynalite's server.close stops accepting connections, waits for pending LevelDB operations
      // and closes the store.
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err?: Error) => (err ? reject(err) : resolve()))
        server.closeIdleConnections?.()
      })
      return closing
    },
  }
}
