// src/lib/tick-maps.ts keeps the hidden classes of process.nextTick's objects alive by keeping one
// such object reachable. That holds only while the object it keeps is a nextTick object of the
// same shape as the ones Node makes for every tick: checked here on the Node that runs the tests.
import t from 'tap'
import { executionAsyncResource } from 'node:async_hooks'
import { keptTickObject } from '../../src/lib/tick-maps.js'

t.test('the kept object is a process.nextTick object, with the shape of every other', async (t) => {
  const other = await new Promise<object>((resolve) => { process.nextTick(() => { resolve(executionAsyncResource()) }) })
  const kept = keptTickObject() as { callback?: { name: string } } | undefined
  if (kept === undefined) return t.fail('nothing kept after a tick has run')
  t.equal(kept.callback?.name, 'keepTickObjectMaps', 'the tick object of the module\'s own nextTick')
  t.same(Reflect.ownKeys(kept).map(String), Reflect.ownKeys(other).map(String), `the same keys in the same order (${Reflect.ownKeys(other).map(String).join(', ')})`)
})
