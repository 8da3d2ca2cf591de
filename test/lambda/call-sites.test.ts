// src/lambda/call-sites.ts: util.getCallSites defaults to unmapped call sites (pino's use), and a
// caller that asks for source mapping still gets it. (That the bundles install it before pino
// loads is shown by test/lambda/bundles.test.ts.)
import t from 'tap'
import { unmappedCallSites } from '../../src/lambda/call-sites.js'

function recorder () {
  const calls: unknown[][] = []
  const target: { getCallSites?: (...args: unknown[]) => unknown[] } = { getCallSites: (...args) => { calls.push(args); return [{ scriptName: 'file:///var/task/evaluate.mjs' }] } }
  return { calls, target }
}

t.test('defaults to sourceMap: false in both call forms, keeps what the caller asks', async (t) => {
  const { calls, target } = recorder()
  unmappedCallSites(target as never)
  t.same(target.getCallSites!(), [{ scriptName: 'file:///var/task/evaluate.mjs' }], 'the call sites come back unchanged')
  target.getCallSites!(5)
  target.getCallSites!({ sourceMap: true })
  target.getCallSites!(3, { sourceMap: true })
  t.same(calls, [
    [undefined, { sourceMap: false }],
    [5, { sourceMap: false }],
    [{ sourceMap: true }],
    [3, { sourceMap: true }]
  ])
})

t.test('wraps once, and leaves a Node without getCallSites alone', async (t) => {
  const { calls, target } = recorder()
  unmappedCallSites(target as never)
  const once = target.getCallSites
  unmappedCallSites(target as never)
  t.equal(target.getCallSites, once, 'a second call does not wrap the wrapper')
  target.getCallSites!()
  t.equal(calls.length, 1)
  const bare: { getCallSites?: unknown } = {}
  unmappedCallSites(bare as never)
  t.notOk('getCallSites' in bare, 'Node 20 has no util.getCallSites: nothing is added')
})
