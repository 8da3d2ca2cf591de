// Promise 3 (docs/RELIABILITY.md): durability of the local engine. `npm run dev` (src/server.ts) runs
// as a real child process on a temporary DATA_DIR while writers send changes over HTTP; it is
// SIGKILLed in the middle of the load, restarted on the same DATA_DIR, loaded and killed again,
// and restarted. Then every write that was acknowledged (2xx) is there, and every transaction is
// whole: a flag and its environment items are all present or all absent, and each flag's
// committed versions 1..n each have their outbox/audit event (the event is in the same transaction).
import t, { type Test } from 'tap'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDocumentClient } from '../../src/aws.js'
import { kill9, scanAll, seededRandom, seedFrom, serverEnv, startChild, waitForOutput, type Child } from './support.js'
import { eventually } from '../eventually.js'

const ADMIN = { email: 'owner@example.com', password: 'a long and unguessable passphrase' }
const ENVS = ['dev', 'qa', 'staging', 'prod']
const WRITERS = 8
const ACKS_BEFORE_KILL = Number(process.env.DURABILITY_ACKS ?? 150)

interface FlagAck { version: number; envs: Map<string, { version: number; stamp: string }>; deleted: boolean; inDoubt: boolean }

// three dev-server starts and two write loads.
t.setTimeout(300_000)

t.test('acknowledged writes survive SIGKILL; transactions are whole', async (t) => {
  const seed = seedFrom(t, 'DURABILITY_SEED')
  const random = seededRandom(seed)
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-durability-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const acked = new Map<string, FlagAck>()
  const counts = { acknowledged: 0, failed: 0, kills: 0, inFlightAtKill: 0 }

  async function start (t: Test): Promise<{ child: Child; url: string; token: string }> {
    const child = startChild(t, 'src/server.ts', serverEnv(dataDir, ADMIN))
    const url = await waitForOutput(child, /Switchyard is listening on (http:\/\/\S+)/)
    const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) })
    if (login.status !== 200) throw new Error(`login: ${login.status}`)
    return { child, url, token: (await login.json() as { access_token: string }).access_token }
  }

  async function loadThenKill (t: Test, round: number): Promise<void> {
    const { child, url, token } = await start(t)
    let killed = false
    let acksThisRound = 0
    let inFlight = 0
    let inFlightAtKill = 0
    async function call (method: string, path: string, body?: unknown, ifMatch?: string): Promise<{ status: number; etag?: string; json?: Record<string, unknown> } | undefined> {
      if (killed) return undefined
      inFlight++
      try {
        const res = await fetch(url + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(ifMatch !== undefined ? { 'if-match': ifMatch } : {}) },
          body: body !== undefined ? JSON.stringify(body) : undefined
        })
        const text = await res.text()
        return { status: res.status, etag: res.headers.get('etag') ?? undefined, json: text.length > 0 ? JSON.parse(text) as Record<string, unknown> : undefined }
      } catch {
        return undefined // the server died with this request in flight: its outcome is unknown
      } finally {
        inFlight--
      }
    }
    function ack () {
      counts.acknowledged++
      acksThisRound++
      if (acksThisRound >= ACKS_BEFORE_KILL && !killed) {
        killed = true
        inFlightAtKill = inFlight
        counts.inFlightAtKill += inFlight
        counts.kills++
        void kill9(child)
      }
    }
    async function writer (w: number) {
      const rnd = seededRandom(Math.floor(random() * 2 ** 31))
      for (let i = 0; !killed; i++) {
        const name = `r${round}-w${w}-${i}`
        const stamp = `${name}-v1`
        const entry: FlagAck = { version: 0, envs: new Map(), deleted: false, inDoubt: true }
        acked.set(name, entry)
        // One transaction: the feature, four environment items, their index items, the outbox event.
        const created = await call('POST', '/features', { name, environments: Object.fromEntries(ENVS.map((e) => [e, { enabled: true, targets: [{ variant: 'on', values: [stamp] }] }])) })
        if (created === undefined) return
        if (created.status !== 201) { counts.failed++; acked.delete(name); continue }
        entry.inDoubt = false
        entry.version = 1
        for (const e of ENVS) entry.envs.set(e, { version: 1, stamp })
        ack()
        const steps = 1 + Math.floor(rnd() * 4)
        for (let s = 0; s < steps; s++) {
          const env = ENVS[Math.floor(rnd() * ENVS.length)]
          const next = `${name}-v${entry.version + 1}`
          entry.inDoubt = true
          const put = await call('PUT', `/features/${name}/env/${env}`, { enabled: rnd() < 0.5, targets: [{ variant: 'on', values: [next] }] }, `"${entry.version}"`)
          if (put === undefined) return
          if (put.status !== 200) { counts.failed++; entry.inDoubt = false; continue }
          entry.inDoubt = false
          entry.version = Number(JSON.parse(String(put.etag)))
          entry.envs.set(env, { version: entry.version, stamp: next })
          ack()
        }
        if (rnd() < 0.3) {
          entry.inDoubt = true
          const del = await call('DELETE', `/features/${name}`, undefined, `"${entry.version}"`)
          if (del === undefined) return
          entry.inDoubt = false
          if (del.status === 204) { entry.deleted = true; ack() } else counts.failed++
        }
      }
    }
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)))
    await child.exited
    t.ok(killed, `round ${round}: SIGKILLed after ${acksThisRound} acknowledged writes, with ${inFlightAtKill} requests in flight`)
  }

  await t.test('round 1: load, SIGKILL', async (t) => { await loadThenKill(t, 1) })
  await t.test('round 2: restart, load, SIGKILL', async (t) => { await loadThenKill(t, 2) })

  await t.test('restart: everything acknowledged is there, every transaction whole', async (t) => {
    const { url, token } = await start(t)
    const running = JSON.parse(await readFile(join(dataDir, 'running.json'), 'utf8')) as { dynamoEndpoint: string }
    const doc = createDocumentClient({ AWS_REGION: 'us-east-1', DYNAMODB_ENDPOINT: running.dynamoEndpoint })
    t.teardown(() => doc.destroy())
    // The restarted workers move events from the outbox to the audit log while we scan; a scan can
    // miss one in transit, never invent a torn transaction, so a non-empty finding is re-checked.
    const check = async () => {
      const items = await scanAll(doc, 'switchyard')
      const features = new Map(items.filter((i) => i.entity === 'Feature').map((i) => [i.name as string, i]))
      const envItems = items.filter((i) => i.entity === 'FeatureEnv')
      const events = new Map<string, { feature?: string; action: string; after: { version?: number } | null }>()
      for (const i of items) {
        const e = (i.entity === 'OutboxEvent' ? i.event : i.entity === 'AuditLog' ? i : undefined) as { eventId: string; feature?: string; action: string; after: { version?: number } | null } | undefined
        if (e !== undefined) events.set(e.eventId, e)
      }

      const lost: string[] = []
      const torn: string[] = []
      let checkedWrites = 0
      for (const [name, a] of acked) {
        const f = features.get(name)
        const envs = envItems.filter((e) => e.flag === name)
        if (a.deleted) {
          if (f !== undefined || envs.length > 0) lost.push(`${name}: acknowledged delete not applied`)
          continue
        }
        if (a.version === 0) continue // the create was never acknowledged: present or absent, both fine (checked whole below)
        if (f === undefined) { if (!a.inDoubt) lost.push(`${name}: acknowledged flag missing`); continue }
        if ((f.version as number) < a.version) lost.push(`${name}: at version ${String(f.version)}, acknowledged ${a.version}`)
        for (const [env, want] of a.envs) {
          checkedWrites++
          const item = envs.find((e) => e.environment === env)
          if (item === undefined) { lost.push(`${name}/${env}: missing`); continue }
          const stamp = (item.targets as Array<{ values: string[] }>)[0]?.values[0]
          if ((item.version as number) < want.version) lost.push(`${name}/${env}: version ${String(item.version)} < acknowledged ${want.version}`)
          else if (item.version === want.version && stamp !== want.stamp) lost.push(`${name}/${env}: content differs from the acknowledged write`)
        }
      }
      // Whole transactions, for every flag in the table (acknowledged or not).
      for (const e of envItems) if (!features.has(e.flag as string)) torn.push(`orphan environment item ${String(e.flag)}/${String(e.environment)}`)
      for (const [name, f] of features) {
        const envs = envItems.filter((e) => e.flag === name)
        if (envs.length !== ENVS.length) torn.push(`${name}: ${envs.length} of ${ENVS.length} environment items`)
        const v1 = envs.filter((e) => e.version === 1).map((e) => (e.targets as Array<{ values: string[] }>)[0]?.values[0])
        if (v1.some((s) => s !== `${name}-v1`)) torn.push(`${name}: a version-1 item with another transaction's content`)
        if (envs.some((e) => (e.version as number) > (f.version as number))) torn.push(`${name}: an environment item newer than its feature`)
        const versions = [...events.values()].filter((e) => e.feature === name).map((e) => e.after?.version).filter((v): v is number => v !== undefined).sort((x, y) => x - y)
        const want = Array.from({ length: f.version as number }, (_, i) => i + 1)
        if (JSON.stringify(versions) !== JSON.stringify(want)) torn.push(`${name}: events for versions [${versions.join(',')}], expected 1..${String(f.version)}`)
      }
      return { lost, torn, checkedWrites, features, events }
    }
    // The last audit events may still be on their way: poll a little, then assert on the last look.
    let result = await check()
    await eventually(async () => {
      result = await check()
      return result.lost.length === 0 && result.torn.length === 0
    }, { timeoutMs: 2_500, intervalMs: 500, what: 'a whole, complete table' }).catch(() => {})
    const { lost, torn, checkedWrites, features, events } = result
    t.same(lost, [], 'every acknowledged write is present')
    t.same(torn, [], 'every transaction is whole: all its items and its audit event, or none')
    const probe = [...acked].find(([, a]) => !a.deleted && !a.inDoubt && a.version > 0)
    if (probe !== undefined) {
      const res = await fetch(`${url}/features/${probe[0]}`, { headers: { authorization: `Bearer ${token}` } })
      t.equal(res.status, 200, 'the restarted server serves the data')
    }
    t.ok(counts.acknowledged >= ACKS_BEFORE_KILL * 2, `${counts.acknowledged} acknowledged writes (${checkedWrites} environment states checked), ${counts.failed} refused, ${counts.kills} SIGKILLs with ${counts.inFlightAtKill} requests in flight; ${features.size} flags in the table`)
    t.comment(`durability: ${JSON.stringify({ seed, ...counts, checkedWrites, flags: features.size, events: events.size })}`)
  })
})
