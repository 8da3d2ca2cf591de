// dynalite's private modules, reached into by the local engine (dynamo-engine.ts): request
// validation, item locks, the store's sub-databases and its LevelDB batch. dynalite is pinned
// exactly in package.json because these paths are not its public API.
import { createRequire } from 'node:module'
import type { Server } from 'node:http'

/* ------------------------------------------------------------------------------------------------
 * dynalite internals (CommonJS, untyped)
 * ---------------------------------------------------------------------------------------------- */

const nodeRequire = createRequire(import.meta.url)
const dynaliteMain = nodeRequire.resolve('dynalite')
const requireFromDynalite = createRequire(dynaliteMain)

/* eslint-disable @typescript-eslint/no-explicit-any */
export const dynalite: (options: Record<string, unknown>) => Server = nodeRequire('dynalite')
export const dynaliteDb: any = requireFromDynalite('./db/index.js')
const dynaliteValidations: any = requireFromDynalite('./validations/index.js')
export const crc32: { unsigned(body: string | Buffer): number } = requireFromDynalite('buffer-crc32')
export const actions: Record<'putItem' | 'updateItem' | 'deleteItem', any> = {
  putItem: requireFromDynalite('./actions/putItem.js'),
  updateItem: requireFromDynalite('./actions/updateItem.js'),
  deleteItem: requireFromDynalite('./actions/deleteItem.js'),
}
export const validators: Record<'putItem' | 'updateItem' | 'deleteItem' | 'getItem', { types: any; custom: any }> = {
  putItem: requireFromDynalite('./validations/putItem.js'),
  updateItem: requireFromDynalite('./validations/updateItem.js'),
  deleteItem: requireFromDynalite('./validations/deleteItem.js'),
  getItem: requireFromDynalite('./validations/getItem.js'),
}

type AttributeValue = Record<string, any>
export type Item = Record<string, AttributeValue>
export type Table = any
export type Store = any
export type LevelOp = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string }

/** dynalite error shape: an Error with statusCode and a JSON body. */
export interface ApiError extends Error {
  statusCode: number
  body: Record<string, unknown>
}

export function apiError (type: string, message: string, extra: Record<string, unknown> = {}): ApiError {
  const err = new Error(message) as ApiError
  err.statusCode = 400
  err.body = { __type: type, message, ...extra }
  return err
}

export const validationError = (message: string): ApiError =>
  apiError('com.amazon.coral.validate#ValidationException', message)

export function isApiError (err: unknown): err is ApiError {
  return err instanceof Error && typeof (err as ApiError).statusCode === 'number' && (err as ApiError).body != null
}

export function isConditionalFailure (err: unknown): boolean {
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

export const transactWriteTypes = {
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

export const transactGetTypes = {
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

export function validateRequest (raw: any, types: Record<string, any>, store: Store): any {
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
export function lockAll (store: Store, keysByTable: Map<string, string[]>): Promise<Release> {
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

export function getTable (store: Store, name: string): Promise<Table> {
  return new Promise((resolve, reject) => {
    // checkStatus=true: like dynalite's item actions, a CREATING/DELETING table is "not found".
    store.getTable(name, true, (err: unknown, table: Table) => (err ? reject(err) : resolve(table)))
  })
}

export function readItem (store: Store, tableName: string, key: string): Promise<Item | undefined> {
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
export function commitBatch (store: Store, ops: LevelOp[]): Promise<void> {
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
export function stagingStore (store: Store, table: Table, snapshot: Item | undefined, ops: LevelOp[]): Store {
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

export function runAction (action: any, store: Store, data: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    action(store, data, (err: unknown) => (err ? reject(err) : resolve()))
  })
}
