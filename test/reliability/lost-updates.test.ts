// Promise 1 (docs/RELIABILITY.md): no lost updates. 50 writers change one flag environment at
// once, each sending the If-Match it read and retrying on 412. Every accepted write must be one
// step of a single version chain: the final state is the last accepted write, there is one
// ENVIRONMENT_UPDATED audit record per accepted write, each record's `before` is the previous
// accepted write, and a write that never saw the current state cannot replace it (428 without
// If-Match, 412 with a stale one).
import t from 'tap'
import { build, eventually, expectProblem, type TestContext } from '../helper.js'
import type { AuditRecord } from '../../src/repositories/audit-repository.js'
import { canonical } from './support.js'

const WRITERS = Number(process.env.LOST_UPDATE_WRITERS ?? 50)
const FLAG = 'contended'
const ENV = 'prod'

interface Accepted { writer: number; sawVersion: number; version: number; body: { enabled: boolean; targets: Array<{ variant: string; values: string[] }> } }
interface EnvAfter { enabled: boolean; targets: Array<{ variant: string; values: string[] }>; version: number }

async function auditTrail (ctx: TestContext, subject: string): Promise<AuditRecord[]> {
  const out: AuditRecord[] = []
  let cursor: string | undefined
  do {
    const page = await ctx.app.audit.list(subject, { order: 'asc', limit: 100, cursor })
    out.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined)
  return out
}

t.test(`${WRITERS} concurrent writers with If-Match on one flag environment lose no update`, async (t) => {
  const ctx = await build(t)
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const inject = ctx.app.inject.bind(ctx.app)
  const created = await inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: FLAG, environments: { [ENV]: false } } })
  t.equal(created.statusCode, 201, created.body)
  const baseVersion = 1

  const accepted: Accepted[] = []
  let preconditionFailures = 0
  let attempts = 0
  async function writer (i: number): Promise<void> {
    const body = { enabled: i % 2 === 0, targets: [{ variant: 'on', values: [`writer-${i}`] }] }
    for (let attempt = 1; attempt <= WRITERS * 4; attempt++) {
      attempts++
      const read = await inject({ method: 'GET', url: `/features/${FLAG}`, headers: { authorization: admin } })
      if (read.statusCode !== 200) throw new Error(`read failed: ${read.statusCode} ${read.body}`)
      const etag = String(read.headers.etag)
      const res = await inject({ method: 'PUT', url: `/features/${FLAG}/env/${ENV}`, headers: { authorization: admin, 'if-match': etag }, payload: body })
      if (res.statusCode === 200) {
        accepted.push({ writer: i, sawVersion: Number(JSON.parse(etag)), version: res.json().version as number, body })
        return
      }
      if (res.statusCode !== 412) throw new Error(`writer ${i}: unexpected ${res.statusCode} ${res.body}`)
      preconditionFailures++
      // What a well-behaved client does on 412: re-read after a jittered, growing pause.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2_000, 20 * 2 ** attempt)))
    }
    throw new Error(`writer ${i} never got a write in`)
  }
  await Promise.all(Array.from({ length: WRITERS }, (_, i) => writer(i)))
  t.comment(`${WRITERS} writers: ${accepted.length} accepted writes, ${preconditionFailures} answered 412 and retried, ${attempts} attempts`)

  t.equal(accepted.length, WRITERS, 'every writer eventually got its write in')
  const versions = accepted.map((a) => a.version).sort((a, b) => a - b)
  t.same(versions, Array.from({ length: WRITERS }, (_, i) => baseVersion + 1 + i), 'accepted writes form one version chain: no version given twice, none skipped')
  t.ok(accepted.every((a) => a.version === a.sawVersion + 1), 'each accepted write replaced exactly the version its writer had read')

  const last = accepted.reduce((a, b) => (b.version > a.version ? b : a))
  const final = await inject({ method: 'GET', url: `/features/${FLAG}`, headers: { authorization: admin } })
  t.equal(final.headers.etag, `"${baseVersion + WRITERS}"`, 'the flag is at the last accepted version')
  t.match(final.json().environments[ENV], { ...last.body, version: last.version }, 'final state = the last accepted write')

  const trail = await eventually(async () => {
    const records = await auditTrail(ctx, FLAG)
    return records.filter((r) => r.action === 'ENVIRONMENT_UPDATED').length >= WRITERS && await ctx.app.audit.countOutbox() === 0 ? records : undefined
  }, { timeoutMs: 30_000, what: `${WRITERS} ENVIRONMENT_UPDATED records` })
  const updates = trail.filter((r) => r.action === 'ENVIRONMENT_UPDATED')
  t.equal(updates.length, accepted.length, 'one ENVIRONMENT_UPDATED audit record per accepted write')
  t.equal(new Set(updates.map((r) => r.eventId)).size, updates.length, 'no record doubled')
  const byVersion = [...updates].sort((a, b) => (a.after as EnvAfter).version - (b.after as EnvAfter).version)
  let chainBroken = 0
  let previous: EnvAfter = { enabled: false, targets: [], version: baseVersion }
  for (const r of byVersion) {
    const before = r.before as EnvAfter
    const after = r.after as EnvAfter
    const writer = accepted.find((a) => a.version === after.version)
    if (before.version !== previous.version || before.enabled !== previous.enabled || canonical(before.targets) !== canonical(previous.targets)) chainBroken++
    if (writer === undefined || after.enabled !== writer.body.enabled || canonical(after.targets) !== canonical(writer.body.targets)) chainBroken++
    previous = after
  }
  t.equal(chainBroken, 0, "each record's before is the previous accepted write and its after is the write accepted at that version")

  t.test('a write that did not see the current state cannot replace it', async (t) => {
    const current = String((await inject({ method: 'GET', url: `/features/${FLAG}`, headers: { authorization: admin } })).headers.etag)
    const outboxBefore = await ctx.app.audit.countOutbox()
    const blind = { enabled: true, targets: [{ variant: 'on', values: ['blind-writer'] }] }
    expectProblem(t, await inject({ method: 'PUT', url: `/features/${FLAG}/env/${ENV}`, headers: { authorization: admin }, payload: blind }), 428, 'PUT env without If-Match over an existing config')
    expectProblem(t, await inject({ method: 'PUT', url: `/features/${FLAG}/env/${ENV}`, headers: { authorization: admin, 'if-match': `"${baseVersion}"` }, payload: blind }), 412, 'PUT env with the first version read')
    expectProblem(t, await inject({ method: 'PATCH', url: `/features/${FLAG}`, headers: { authorization: admin }, payload: { description: 'blind' } }), 428, 'PATCH without If-Match')
    expectProblem(t, await inject({ method: 'DELETE', url: `/features/${FLAG}/env/${ENV}`, headers: { authorization: admin } }), 428, 'DELETE env without If-Match')
    expectProblem(t, await inject({ method: 'DELETE', url: `/features/${FLAG}`, headers: { authorization: admin } }), 428, 'DELETE flag without If-Match')
    const after = await inject({ method: 'GET', url: `/features/${FLAG}`, headers: { authorization: admin } })
    t.equal(after.headers.etag, current, 'the version did not move')
    t.match(after.json().environments[ENV], { ...last.body }, 'the last accepted write is still there')
    t.equal(await ctx.app.audit.countOutbox() <= outboxBefore, true, 'no audit event from a refused write')
  })

  t.test('concurrent blind writes without If-Match: exactly one creates, the rest are 428', async (t) => {
    const name = 'created-blind'
    t.equal((await inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name, environments: { dev: true } } })).statusCode, 201)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => inject({
      method: 'PUT', url: `/features/${name}/env/${ENV}`, headers: { authorization: admin }, payload: { enabled: true, targets: [{ variant: 'on', values: [`w${i}`] }] }
    })))
    const codes = results.map((r) => r.statusCode)
    t.equal(codes.filter((c) => c === 200).length, 1, `one create wins: ${codes.join(',')}`)
    t.equal(codes.filter((c) => c === 428).length, 19, 'every other blind write is refused, not applied over the winner')
    const records = await eventually(async () => {
      const rs = (await auditTrail(ctx, name)).filter((r) => r.action === 'ENVIRONMENT_UPDATED')
      return rs.length >= 1 && await ctx.app.audit.countOutbox() === 0 ? rs : undefined
    }, { what: 'the winner\'s audit record' })
    t.equal(records.length, 1, 'one audit record')
    t.equal(records[0].before, null, 'it created the config')
  })

  t.test('If-Match: * overwrites whatever is there and is still audited with the exact before', async (t) => {
    const n = 20
    const start = Number(JSON.parse(String((await inject({ method: 'GET', url: `/features/${FLAG}`, headers: { authorization: admin } })).headers.etag)))
    const results = await Promise.all(Array.from({ length: n }, (_, i) => inject({
      method: 'PUT', url: `/features/${FLAG}/env/${ENV}`, headers: { authorization: admin, 'if-match': '*' }, payload: { enabled: true, targets: [{ variant: 'on', values: [`star-${i}`] }] }
    })))
    t.same(results.map((r) => r.statusCode), Array(n).fill(200), 'every explicit overwrite is accepted')
    t.same(results.map((r) => r.json().version as number).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => start + 1 + i), 'and serialized into the version chain')
    const star = await eventually(async () => {
      const rs = (await auditTrail(ctx, FLAG)).filter((r) => r.action === 'ENVIRONMENT_UPDATED' && (r.after as EnvAfter).version > start)
      return rs.length >= n && await ctx.app.audit.countOutbox() === 0 ? rs : undefined
    }, { timeoutMs: 30_000, what: `${n} records of the * writes` })
    t.equal(star.length, n, 'one record per overwrite')
    const sorted = [...star].sort((a, b) => (a.after as EnvAfter).version - (b.after as EnvAfter).version)
    let mismatches = 0
    for (let i = 1; i < sorted.length; i++) {
      if (canonical(sorted[i].before) !== canonical(sorted[i - 1].after)) mismatches++
    }
    t.equal(mismatches, 0, "each overwrite's audit before is exactly what it replaced")
  })
})
