// BatchLoader: which keys are read together, when, and what each caller gets back.
import t from 'tap'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { BatchLoader } from '../../src/evaluation/batch-loader.js'

function loader (opts: { maxBatch?: number; deferMs?: number; fail?: (keys: string[]) => boolean } = {}) {
  const reads: Array<{ group: string; keys: string[] }> = []
  const l = new BatchLoader<string>({
    maxBatch: opts.maxBatch ?? 100,
    deferMs: opts.deferMs ?? 20,
    read: async (group, keys) => {
      reads.push({ group, keys })
      if (opts.fail?.(keys) === true) throw new Error('store unavailable')
      // Every key has a value except those starting with "none".
      return new Map(keys.filter((k) => !k.startsWith('none')).map((k) => [k, `${group}:${k}`]))
    }
  })
  return { l, reads }
}

t.test('urgent keys of one turn are one read per group; a duplicate shares it', async (t) => {
  const { l, reads } = loader()
  const got = await Promise.all([l.load('prod', 'a', true), l.load('prod', 'b', true), l.load('dev', 'a', true), l.load('prod', 'a', true), l.load('prod', 'none1', true)])
  t.same(got, ['prod:a', 'prod:b', 'dev:a', 'prod:a', undefined], 'each caller gets its key; an absent key is undefined')
  t.same(reads, [{ group: 'prod', keys: ['a', 'b', 'none1'] }, { group: 'dev', keys: ['a'] }])
  t.same(l.stats(), { batches: 2, keys: 4 })
})

t.test('a deferred key waits for company; an urgent one takes it along', async (t) => {
  const { l, reads } = loader({ deferMs: 60_000 })
  const deferred = l.load('prod', 'a', false)
  await nextTurn()
  t.same(reads, [], 'not read on the next turn')
  const urgent = l.load('prod', 'b', true)
  t.same(await Promise.all([deferred, urgent]), ['prod:a', 'prod:b'])
  t.same(reads, [{ group: 'prod', keys: ['a', 'b'] }], 'read together when the urgent key flushed the group')
})

t.test('deferred keys are read after deferMs, together', async (t) => {
  const { l, reads } = loader({ deferMs: 20 })
  const a = l.load('prod', 'a', false)
  await nextTurn()
  const b = l.load('prod', 'b', false)
  t.same(await Promise.all([a, b]), ['prod:a', 'prod:b'])
  t.same(reads, [{ group: 'prod', keys: ['a', 'b'] }])
})

t.test('a group reaching maxBatch is read at once; later keys start a new batch', async (t) => {
  const { l, reads } = loader({ maxBatch: 3, deferMs: 60_000 })
  const first = ['a', 'b', 'c'].map((k) => l.load('prod', k, false))
  t.same(reads, [{ group: 'prod', keys: ['a', 'b', 'c'] }], 'read synchronously on the third key')
  const next = l.load('prod', 'd', true)
  t.same(await Promise.all([...first, next]), ['prod:a', 'prod:b', 'prod:c', 'prod:d'])
  t.same(reads.map((r) => r.keys), [['a', 'b', 'c'], ['d']])
})

t.test('a failed read fails every caller of that batch, and only those', async (t) => {
  const { l, reads } = loader({ fail: (keys) => keys.includes('bad') })
  const failed = await Promise.allSettled([l.load('prod', 'a', true), l.load('prod', 'bad', true)])
  t.same(failed.map((r) => r.status), ['rejected', 'rejected'])
  t.match((failed[0] as PromiseRejectedResult).reason, /store unavailable/)
  t.equal(await l.load('prod', 'a', true), 'prod:a', 'the next batch is read afresh')
  t.equal(reads.length, 2)
})

t.test('expedite: a deferred key someone now waits for is read on the next turn', async (t) => {
  const { l, reads } = loader({ deferMs: 60_000 })
  const a = l.load('prod', 'a', false)
  l.expedite('prod', 'not-queued')
  l.expedite('dev', 'a')
  await nextTurn()
  t.same(reads, [], 'expediting a key that is not queued reads nothing')
  l.expedite('prod', 'a')
  t.equal(await a, 'prod:a', 'read without waiting out deferMs (60 s: the test would time out)')
  t.same(reads, [{ group: 'prod', keys: ['a'] }])
})
