// The provider's snapshot (src/sdk/snapshot.ts): a sync document held as text, each flag parsed
// when first evaluated. What a user would notice: every flag evaluates as the document says
// (whatever the JSON's spacing or the characters in its strings), a document that is not
// readable is refused whole, and CONFIGURATION_CHANGED names exactly the flags whose rules or
// shared segments changed.
import t from 'tap'
import { evaluate } from '../../src/domain/evaluate.js'
import type { FlagDefinition, SegmentDefinition } from '../../src/domain/model.js'
import { definitionsOf, toSyncDocument } from '../../src/sdk/format.js'
import { arrayItems, topLevelMembers } from '../../src/sdk/json-spans.js'
import { Snapshot } from '../../src/sdk/snapshot.js'

const NOW = new Date('2026-12-07T00:00:00Z')

const betaTesters: SegmentDefinition = { key: 'beta', description: 'Beta "testers" {all} ]', included: ['u-1'], excluded: [], rules: [] }

function flag (key: string, over: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    flag: key,
    environment: 'prod',
    type: 'string',
    version: 1,
    enabled: true,
    offVariant: 'off',
    variants: [{ key: 'off', value: 'off' }, { key: 'on', value: 'on ] } " \\ ✓' }],
    defaultServe: { variant: 'off' },
    targets: [{ variant: 'on', values: ['vip'] }],
    rules: [],
    prerequisites: [],
    schedule: [],
    segments: {},
    ...over
  }
}

const withSegment = (key: string, seg: SegmentDefinition): FlagDefinition => flag(key, {
  rules: [{ id: 'r1', clauses: [{ attribute: 'key', operator: 'segmentMatch', values: [seg.key] }], serve: { variant: 'on' } }],
  segments: { [seg.key]: seg }
} as Partial<FlagDefinition>)

const text = (defs: FlagDefinition[], revision = 1, space?: number) => JSON.stringify(toSyncDocument('prod', revision, defs, NOW), null, space)

t.test('every flag reads as the whole document parsed at once would, however the JSON is spaced', async (t) => {
  const defs = [flag('a'), flag('b', { enabled: false }), withSegment('c', betaTesters)]
  for (const space of [undefined, 2]) {
    const doc = text(defs, 1, space)
    const snap = Snapshot.read(doc, '"e1"')
    const whole = definitionsOf(JSON.parse(doc))
    t.equal(snap.size, 3)
    t.equal(snap.environment, 'prod')
    for (const key of ['a', 'b', 'c']) t.same(snap.flag(key), whole.get(key), `${key} (${space === undefined ? 'compact' : 'indented'})`)
    t.equal(snap.flag('nope'), undefined)
    t.match(evaluate(snap.flag('a')!, { targetingKey: 'vip' }, { now: NOW.getTime(), prerequisite: (k) => snap.flag(k) }), { value: 'on ] } " \\ ✓', reason: 'TARGETING_MATCH' })
    t.match(evaluate(snap.flag('c')!, { targetingKey: 'u-1' }, { now: NOW.getTime(), prerequisite: (k) => snap.flag(k) }), { variant: 'on', reason: 'TARGETING_MATCH', ruleId: 'r1' })
  }
})

t.test('a document that is not readable is refused whole', async (t) => {
  const good = text([flag('a'), flag('b')])
  t.throws(() => Snapshot.read(good.slice(0, -20), ''), /sync document is not JSON: unterminated/, 'truncated')
  t.throws(() => Snapshot.read(good + 'x', ''), /sync document is not JSON: unexpected text after/, 'text after it')
  t.throws(() => Snapshot.read(good.replace('"formatVersion":1', '"formatVersion":2'), ''), /unsupported sync formatVersion 2/)
  t.throws(() => Snapshot.read(good.replace('"variants":[', '"variants":"none","x":['), ''), /malformed flag/)
  t.throws(() => Snapshot.read(good.replace('"key":"b"', '"key":b'), ''), /not JSON/, 'one flag that is not JSON')
  t.throws(() => Snapshot.read('{"formatVersion":1,"environment":"prod","flags":[]}', ''), /lacks flags or segments/)
  t.throws(() => topLevelMembers('[1,2]'), /'\{' was expected at 0/)
  t.same(arrayItems(' [ 1 , "a,]" , {"b":[2]} ]', 1), [[3, 4], [7, 12], [15, 24]])
})

t.test('a flag nothing changed in keeps its parsed definition; the changed ones are named', async (t) => {
  const v1 = Snapshot.read(text([flag('a'), flag('b'), withSegment('c', betaTesters), flag('gone')]), '"e1"')
  const [a1, b1, c1] = [v1.flag('a'), v1.flag('b'), v1.flag('c')]

  const v2 = Snapshot.read(text([flag('a'), flag('b', { enabled: false }), withSegment('c', betaTesters), flag('new')], 2), '"e2"', v1)
  t.same(v2.changedSince(v1), ['b', 'gone', 'new'])
  t.equal(v2.flag('a'), a1, 'unchanged: the same definition (and the engine\'s compiled form with it)')
  t.equal(v2.flag('c'), c1, 'its segment unchanged too')
  t.not(v2.flag('b'), b1)
  t.equal(v2.flag('b')?.enabled, false)

  const moved: SegmentDefinition = { ...betaTesters, included: ['u-2'] }
  const v3 = Snapshot.read(text([flag('a'), flag('b', { enabled: false }), withSegment('c', moved), flag('new')], 3), '"e3"', v2)
  t.same(v3.changedSince(v2), ['c'], 'a shared segment changed: the flag that uses it')
  t.not(v3.flag('c'), c1)
  t.match(evaluate(v3.flag('c')!, { targetingKey: 'u-2' }, { now: NOW.getTime() }), { variant: 'on', ruleId: 'r1' }, 'evaluated with the new segment')
  t.same(v3.changedSince(v3), [])
})
