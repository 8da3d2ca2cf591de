// Issue 24: a scheduled change applies only to the state it was scheduled on. The scheduler's
// commit is held (a store wrapper) while an admin's If-Match PUT lands; the admin's acknowledged
// change must survive, the schedule must not be applied to the admin's state, and the audit log
// must say so. A change to another environment does not stop a due change, and a tick delivered
// twice applies it once.
import t from 'tap'
import { build, eventually, type TestContext } from '../helper.js'
import { createStore, type Store } from '../../src/repositories/store.js'
import { createRepositories } from '../../src/repositories/create-repositories.js'
import { createAuditPublisher, publishCommitted } from '../../src/audit/publisher.js'
import { createScheduler } from '../../src/workers/scheduler.js'
import { SCHEDULER_ACTOR } from '../../src/domain/audit.js'
import { uuidV7Ids } from '../../plugins/store.js'
import type { AuditRecord } from '../../src/repositories/audit-repository.js'

const HOUR = 3_600_000

/** A scheduler on its own clock (two hours ahead) whose next commit can be held until released. */
function heldScheduler (ctx: TestContext) {
  const inner = createStore({ doc: ctx.app.store.doc, tableName: ctx.app.store.tableName, now: () => Date.now() + 2 * HOUR, ids: uuidV7Ids, log: ctx.app.log })
  inner.onCommitted(publishCommitted(createAuditPublisher({ sqs: ctx.workers.sqs, queueUrl: ctx.stack.queueUrl, log: ctx.app.log })))
  let hold: { reached: () => void; released: Promise<void> } | undefined
  let commits = 0
  const store: Store = {
    ...inner,
    async commit (ops, events) {
      const h = hold
      hold = undefined
      if (h !== undefined) { h.reached(); await h.released }
      await inner.commit(ops, events)
      commits++
    }
  }
  const { features } = createRepositories(store)
  return {
    tick: createScheduler({ store, features, log: { info () {}, warn () {} } }),
    commits: () => commits,
    /** Hold the next commit: resolves `reached` when the scheduler gets there; `release()` lets it go. */
    holdNext () {
      let reached!: () => void
      let release!: () => void
      const atCommit = new Promise<void>((resolve) => { reached = resolve })
      hold = { reached, released: new Promise<void>((resolve) => { release = resolve }) }
      return { atCommit, release }
    }
  }
}

async function trail (ctx: TestContext, flag: string, count: number): Promise<AuditRecord[]> {
  return await eventually(async () => {
    const page = await ctx.app.audit.list(flag, { order: 'asc', limit: 100 })
    return page.items.length >= count ? page.items : undefined
  }, { what: `${count} audit records of ${flag}` })
}

t.test('an admin change made while the scheduler commits survives; the cancelled schedule is not applied', async (t) => {
  const ctx = await build(t)
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const enableAt = new Date(Date.now() + HOUR).toISOString()
  const created = await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'launch', environments: { dev: { enabled: false, enableAt } } } })
  t.equal(created.statusCode, 201, created.body)

  const scheduler = heldScheduler(ctx)
  const held = scheduler.holdNext()
  const tick = scheduler.tick()
  await held.atCommit // the scheduler read dev (enabled:false, enable-at due) and is about to commit enabled:true

  const cancel = { enabled: false, enableAt: null, targets: [{ variant: 'on', values: ['qa-team'] }] }
  const put = await ctx.app.inject({ method: 'PUT', url: '/features/launch/env/dev', headers: { authorization: admin, 'if-match': '"1"' }, payload: cancel })
  t.equal(put.statusCode, 200, `the admin's change is acknowledged: ${put.body}`)

  held.release()
  t.same(await tick, { applied: 0, failed: 0 }, 'the scheduler re-read, found the schedule cancelled and applied nothing')
  t.equal(scheduler.commits(), 0, 'its held commit never went through')

  const now = (await ctx.app.inject({ method: 'GET', url: '/features/launch', headers: { authorization: admin } })).json()
  t.equal(now.version, 2, 'the admin\'s write is the last one')
  t.match(now.environments.dev, { enabled: false, enableAt: null, schedule: [], targets: [{ variant: 'on', values: ['qa-team'] }], updatedBy: 'admin@example.com' })
  const evaluated = await ctx.app.inject({ method: 'POST', url: '/features/evaluate', headers: { authorization: admin }, payload: { feature: 'launch', environment: 'dev', context: { targetingKey: 'someone' } } })
  t.match(evaluated.json(), { value: false }, 'the flag is not on for everyone')

  const records = await trail(ctx, 'launch', 2)
  t.same(records.map((r) => [r.action, r.actor]), [['FEATURE_CREATED', 'admin@example.com'], ['ENVIRONMENT_UPDATED', 'admin@example.com']], 'the audit log holds the admin\'s change and no scheduler change')
  t.match(records[1], { before: { enabled: false, schedule: [{ id: 'enable-at' }] }, after: { enabled: false, schedule: [] } })
  t.same(await scheduler.tick(), { applied: 0, failed: 0 }, 'a later tick finds nothing due either')
})

t.test('a change to another environment does not stop a due change: re-read, decided again, applied', async (t) => {
  const ctx = await build(t)
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const enableAt = new Date(Date.now() + HOUR).toISOString()
  const created = await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'rollout', environments: { dev: { enabled: false, enableAt }, qa: false } } })
  t.equal(created.statusCode, 201, created.body)

  const scheduler = heldScheduler(ctx)
  const held = scheduler.holdNext()
  const tick = scheduler.tick()
  await held.atCommit
  const put = await ctx.app.inject({ method: 'PUT', url: '/features/rollout/env/qa', headers: { authorization: admin, 'if-match': '"1"' }, payload: { enabled: true } })
  t.equal(put.statusCode, 200, put.body)
  held.release()
  t.same(await tick, { applied: 1, failed: 0 })

  const now = (await ctx.app.inject({ method: 'GET', url: '/features/rollout', headers: { authorization: admin } })).json()
  t.equal(now.version, 3)
  t.match(now.environments.dev, { enabled: true, schedule: [], updatedBy: SCHEDULER_ACTOR, version: 3 })
  t.match(now.environments.qa, { enabled: true, updatedBy: 'admin@example.com', version: 2 }, 'the admin\'s qa change stands')
  const records = await trail(ctx, 'rollout', 3)
  t.same(records.map((r) => [r.action, r.environment ?? null, r.actor]), [
    ['FEATURE_CREATED', null, 'admin@example.com'],
    ['ENVIRONMENT_UPDATED', 'qa', 'admin@example.com'],
    ['ENVIRONMENT_UPDATED', 'dev', SCHEDULER_ACTOR]
  ])
  t.match(records[2], { before: { enabled: false, schedule: [{ id: 'enable-at' }] }, after: { enabled: true, schedule: [] } }, 'before is the state the change replaced')
})

t.test('a tick delivered twice applies a due change once', async (t) => {
  const ctx = await build(t)
  ctx.startConsumer()
  const admin = await ctx.loginAs('ADMIN')
  const enableAt = new Date(Date.now() + HOUR).toISOString()
  const created = await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: admin }, payload: { name: 'twice', environments: { dev: { enabled: false, enableAt } } } })
  t.equal(created.statusCode, 201, created.body)

  const scheduler = heldScheduler(ctx)
  const [a, b] = await Promise.all([scheduler.tick(), scheduler.tick()])
  t.equal(a.applied + b.applied, 1, 'applied by one tick only')
  t.equal(a.failed + b.failed, 0)
  t.same(await scheduler.tick(), { applied: 0, failed: 0 }, 'and not again later')
  const now = (await ctx.app.inject({ method: 'GET', url: '/features/twice', headers: { authorization: admin } })).json()
  t.equal(now.version, 2)
  const records = await trail(ctx, 'twice', 2)
  t.equal(records.filter((r) => r.actor === SCHEDULER_ACTOR).length, 1, 'one scheduler audit record')
})
