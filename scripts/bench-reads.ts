// npm run bench:reads — what one definition read costs the service's own process, by call shape:
// a GetItem per flag (what the evaluator did before it batched), all at once and one by one, against BatchGetItem of 10, 25
// and 100 keys (src/evaluation/batch-loader.ts). The store is a dev server in its own process
// (dynalite), as in `npm run bench`, so the CPU measured here is the AWS SDK's and the
// repository's (request building, signing, middleware, parsing, toDefinition), not the engine's.
// Reads are strongly consistent, as the evaluation cache makes them. Prints CPU µs per key, wall
// time, and each shape's ratio to the first; writes bench-results/bench-reads.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createDocumentClient } from '../src/aws.js'
import { createDefinitionReader } from '../src/repositories/definition-reader.js'
import { ROOT, batchLoad, devDynamoEndpoint, machine, realisticFlag, round1, startServer, waitForQuiet, type ChildServer } from './bench-support.js'

const { values: args } = parseArgs({
  options: {
    flags: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '5' },
    'quiet-below': { type: 'string', default: '1.5' },
    'max-wait': { type: 'string', default: '120' }
  }
})
const FLAGS = Number(args.flags)
const ROUNDS = Number(args.rounds)
const TABLE = 'switchyard'
const ENV = 'prod'
const log = (s: string) => process.stderr.write(s + '\n')

const work = await mkdtemp(join(tmpdir(), 'switchyard-reads-'))
for (const k of ['DYNAMODB_ENDPOINT', 'SQS_ENDPOINT', 'AUDIT_QUEUE_URL', 'JWT_SECRET']) delete process.env[k]
let store: ChildServer | undefined
let client: ReturnType<typeof createDocumentClient> | undefined
try {
  store = await startServer('store', 'src/server.ts', {
    HOST: '127.0.0.1',
    PORT: '0',
    TABLE_NAME: TABLE,
    LOG_LEVEL: 'warn',
    DATA_DIR: join(work, 'store'),
    ADMIN_EMAIL: 'reads-admin@example.com',
    ADMIN_PASSWORD: 'reads admin passphrase',
    BCRYPT_ROUNDS: '10'
  }, work)
  const endpoint = await devDynamoEndpoint(join(work, 'store'))
  const flags = Array.from({ length: FLAGS }, (_, i) => realisticFlag(i, [ENV]))
  await batchLoad({ endpoint, tableName: TABLE, flags })
  const names = flags.map((f) => f.name)

  client = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: endpoint })
  const features = createDefinitionReader({ doc: client, tableName: TABLE })

  const shapes: Array<{ name: string; read: () => Promise<number> }> = [
    // All at once, as concurrent misses used to be read.
    { name: 'GetItem, all at once', read: async () => (await Promise.all(names.map(async (n) => await features.getDefinition(n, ENV, { consistent: true })))).filter((d) => d !== undefined).length },
    // One after the other, as refreshes spread over time used to be read.
    {
      name: 'GetItem, one by one',
      read: async () => {
        let n = 0
        for (const name of names) if (await features.getDefinition(name, ENV, { consistent: true }) !== undefined) n++
        return n
      }
    },
    ...[10, 25, 100].map((size) => ({
      name: `BatchGetItem of ${size}`,
      read: async () => {
        let n = 0
        for (let i = 0; i < names.length; i += size) n += (await features.getDefinitions(names.slice(i, i + size), ENV, { consistent: true })).size
        return n
      }
    }))
  ]
  for (const shape of shapes) await shape.read() // warm up: connections, JIT
  const box = await machine()
  const quiet = await waitForQuiet({ below: Number(args['quiet-below']), maxWaitMs: Number(args['max-wait']) * 1000, log })
  log(`${box.nproc} CPUs, ${box.cpuModel}, Node ${box.node}; load average before measuring ${quiet.loadavg.map((x) => x.toFixed(2)).join(' ')}`)

  // Rounds interleave the shapes, so a drift of the VM's speed hits each of them alike.
  const totals = shapes.map(() => ({ cpuUs: 0, wallMs: 0, keys: 0 }))
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, shape] of shapes.entries()) {
      const cpu0 = process.cpuUsage()
      const t0 = performance.now()
      const read = await shape.read()
      const cpu = process.cpuUsage(cpu0)
      if (read !== FLAGS) throw new Error(`${shape.name}: read ${read} of ${FLAGS} flags`)
      totals[i].cpuUs += cpu.user + cpu.system
      totals[i].wallMs += performance.now() - t0
      totals[i].keys += read
    }
  }
  const base = totals[0].cpuUs / totals[0].keys
  const results = shapes.map((shape, i) => {
    const perKey = totals[i].cpuUs / totals[i].keys
    return { shape: shape.name, cpuUsPerKey: round1(perKey), wallMsPerRound: round1(totals[i].wallMs / ROUNDS), vsFirst: round1(perKey / base * 100) }
  })
  process.stdout.write(`\n${FLAGS} realistic flags, strongly consistent reads, ${ROUNDS} rounds; CPU of this process only\n`)
  process.stdout.write(`${'shape'.padEnd(22)} ${'CPU µs/key'.padStart(11)} ${'ms/round'.padStart(9)} ${'vs 1st row'.padStart(11)}\n`)
  for (const r of results) process.stdout.write(`${r.shape.padEnd(22)} ${String(r.cpuUsPerKey).padStart(11)} ${String(r.wallMsPerRound).padStart(9)} ${(r.vsFirst + ' %').padStart(11)}\n`)
  const out = { command: `npm run bench:reads -- ${process.argv.slice(2).join(' ')}`.trim(), date: new Date().toISOString(), machine: box, quiet, settings: { flags: FLAGS, rounds: ROUNDS }, results }
  await mkdir(join(ROOT, 'bench-results'), { recursive: true })
  await writeFile(join(ROOT, 'bench-results', 'bench-reads.json'), JSON.stringify(out, null, 2) + '\n')
  process.stdout.write('\nwritten: bench-results/bench-reads.json\n')
} finally {
  client?.destroy()
  await store?.stop().catch(() => {})
  await rm(work, { recursive: true, force: true })
}
