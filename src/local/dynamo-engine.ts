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
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { type Store, crc32, dynalite, dynaliteDb, isApiError } from './dynalite-internals.js'
import { transactGetItems, transactWriteItems } from './dynamo-transactions.js'

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
  /** The clock for the ClientRequestToken window (default Date.now). */
  now?: () => number
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed JSON request body
type TransactHandler = (store: Store, data: any) => Promise<Record<string, unknown>>

/* ------------------------------------------------------------------------------------------------
 * HTTP
 * ---------------------------------------------------------------------------------------------- */

function send (res: ServerResponse, contentType: string, data: unknown, statusCode = 200): void {
  const body = JSON.stringify(data)
  res.statusCode = statusCode
  res.setHeader('x-amzn-RequestId', randomBytes(39).toString('base64').toUpperCase().replace(/\+|\//g, '0'))
  res.setHeader('x-amz-crc32', crc32.unsigned(body))
  res.setHeader('Content-Type', contentType)
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'))
  res.end(body)
}

function handleTransact (store: Store, req: IncomingMessage, res: ServerResponse, handler: TransactHandler): void {
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
  const now = opts.now ?? Date.now
  const transactTargets: Record<string, TransactHandler> = {
    'DynamoDB_20120810.TransactWriteItems': (store, data) => transactWriteItems(store, data, now),
    'DynamoDB_20120810.TransactGetItems': transactGetItems
  }

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
    const handler = req.method === 'POST' && typeof target === 'string' ? transactTargets[target] : undefined
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
