// Shared pieces of the reliability suites (docs/RELIABILITY.md): a seeded random source whose seed
// is printed, fault-injecting AWS clients (seams passed through build(t, { app: { … } })), a
// canonical JSON for comparisons, a table Scan for tests and a child-process runner.
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SQSClient } from '@aws-sdk/client-sqs'
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { Teardown } from '../helper.js'
import { eventually } from '../eventually.js'

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** mulberry32: small, fast, good enough to pick faults; the seed makes a run reproducible. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return function next () {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed from `env` (to reproduce a run) or a fresh one; printed either way. */
export function seedFrom (t: { comment(...args: unknown[]): void }, variable: string): number {
  const given = process.env[variable]
  const seed = given !== undefined && given !== '' ? Number(given) : Math.floor(Math.random() * 2 ** 31)
  t.comment(`seed ${seed} (reproduce with ${variable}=${seed})`)
  return seed
}

/** JSON with object keys sorted: DynamoDB maps do not keep key order. */
export function canonical (value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v))
}

export interface SqsFaults {
  sqs: SQSClient
  /** SendMessageBatch calls rejected so far. */
  rejected: () => number
  sent: () => number
}

/**
 * A real SQS client on `endpoint` whose SendMessageBatch calls are rejected with probability
 * `share` (as a throttled or unreachable queue would), before anything reaches the queue.
 */
export function faultySqs (t: Teardown, endpoint: string, share: number, random: () => number): SqsFaults {
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
  let rejected = 0
  let sent = 0
  sqs.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'SendMessageBatchCommand') {
      if (random() < share) {
        rejected++
        throw Object.assign(new Error('injected fault: the queue refused the send'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } })
      }
      sent++
    }
    return await next(args)
  }, { step: 'initialize', name: 'injectSendFailures' })
  t.teardown(() => sqs.destroy())
  return { sqs, rejected: () => rejected, sent: () => sent }
}

/** Every item of the table (tests only: the service itself never scans). */
export async function scanAll (doc: DynamoDBDocumentClient, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = []
  let ExclusiveStartKey: Record<string, unknown> | undefined
  do {
    const res = await doc.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey }))
    items.push(...(res.Items ?? []))
    ExclusiveStartKey = res.LastEvaluatedKey
  } while (ExclusiveStartKey !== undefined)
  return items
}

/**
 * The environment of a local server (`src/server.ts` or `npm run dev`) under test: only what the
 * service needs, so no endpoint variable leaks in from the test runner's environment. Port 0, the
 * caller's temporary DATA_DIR, a first admin, cheap bcrypt. PATH and HOME are the spawner's business.
 */
export function serverEnv (dataDir: string, admin: { email: string, password: string }, extra: Record<string, string> = {}): Record<string, string> {
  return { PORT: '0', DATA_DIR: dataDir, ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password, BCRYPT_ROUNDS: '4', LOG_LEVEL: 'warn', ...extra }
}

export interface Child { child: ChildProcess; output: () => string; exited: Promise<number | null>; alive: () => boolean }

/** Start `node --import tsx <script>` from the repository root; killed (SIGKILL) on teardown. */
export function startChild (t: Teardown, script: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d })
  let done = false
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { done = true; resolve(code) }))
  t.teardown(async () => {
    if (!done) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, output: () => out, exited, alive: () => !done }
}

/** Wait for a line matching `pattern` on the child's output; returns the first capture group. */
export async function waitForOutput (c: Child, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  return await eventually(async () => {
    const m = pattern.exec(c.output())
    if (m !== null) return m[1] ?? m[0]
    if (!c.alive()) throw new Error(`child exited early:\n${c.output()}`)
    return undefined
  }, { timeoutMs, intervalMs: 100, what: String(pattern) }).catch((err: Error) => { throw new Error(`${err.message}\n${c.output()}`) })
}

/** SIGKILL: no shutdown hook runs, nothing is flushed by the process itself. */
export async function kill9 (c: Child): Promise<void> {
  c.child.kill('SIGKILL')
  await c.exited
}
