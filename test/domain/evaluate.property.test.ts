// Laws of the engine, checked with fast-check (a failure prints the seed and the shrunk
// counterexample; replay with fc.assert(..., { seed, path })).
import t from 'tap'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { applySchedule, evaluate, explain } from '../../src/domain/evaluate.js'
import type { Clause, EvaluationContext, FlagDefinition, Rule, Serve } from '../../src/domain/model.js'
import { ROLLOUT_TOTAL } from '../../src/domain/model.js'

const VARIANTS = ['v0', 'v1', 'v2', 'v3']
const NOW = Date.parse('2025-06-01T00:00:00Z')

// --- generators ---------------------------------------------------------------------------

/** Weights for n variants summing to 100000 (cut points on [0, 100000]). */
const weightsArb = (n: number) => fc.array(fc.integer({ min: 0, max: ROLLOUT_TOTAL }), { minLength: n - 1, maxLength: n - 1 })
  .map((cuts) => {
    const sorted = [0, ...cuts.sort((a, b) => a - b), ROLLOUT_TOTAL]
    return sorted.slice(1).map((c, i) => c - sorted[i])
  })

const rolloutArb: fc.Arbitrary<Serve> = fc.integer({ min: 1, max: VARIANTS.length })
  .chain((n) => fc.tuple(weightsArb(n), fc.option(fc.constantFrom('salt-1', 'other'), { nil: undefined })))
  .map(([weights, salt]) => ({ rollout: { variants: weights.map((weight, i) => ({ variant: VARIANTS[i], weight })), ...(salt === undefined ? {} : { salt }) } }))

const serveArb: fc.Arbitrary<Serve> = fc.oneof(fc.constantFrom(...VARIANTS).map((variant) => ({ variant })), rolloutArb)

const clauseArb: fc.Arbitrary<Clause> = fc.oneof(
  fc.record({ attribute: fc.constant('country'), operator: fc.constant('in' as const), values: fc.subarray(['fr', 'de', 'us', 'FR'], { minLength: 1 }), negate: fc.boolean(), caseInsensitive: fc.boolean() }),
  fc.record({ attribute: fc.constant('age'), operator: fc.constantFrom('lt' as const, 'gte' as const, 'eq' as const), values: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 2 }), negate: fc.boolean() }),
  fc.record({ attribute: fc.constant('email'), operator: fc.constantFrom('endsWith' as const, 'contains' as const), values: fc.subarray(['@corp.io', '@gmail.com', 'admin'], { minLength: 1 }) }),
  fc.record({ attribute: fc.constant('email'), operator: fc.constant('matches' as const), values: fc.constant(['^[a-m]'] as string[]) }),
  fc.record({ attribute: fc.constant('version'), operator: fc.constantFrom('semverLt' as const, 'semverGte' as const), values: fc.constantFrom<string[]>(['1.0.0'], ['2.0.0-rc.1']) }),
  fc.record({ attribute: fc.constant('signup'), operator: fc.constantFrom('before' as const, 'after' as const), values: fc.constant(['2024-01-01T00:00:00+02:00'] as string[]) }),
  fc.record({ attribute: fc.constantFrom('beta', 'plan'), operator: fc.constant('exists' as const), values: fc.constant([] as string[]), negate: fc.boolean() }),
  fc.record({ attribute: fc.constant(''), operator: fc.constant('segmentMatch' as const), values: fc.constant(['staff'] as string[]) })
)

const ruleArb = (i: number): fc.Arbitrary<Rule> => fc.record({
  id: fc.constant(`r${i}`),
  clauses: fc.array(clauseArb, { maxLength: 3 }),
  serve: serveArb
})

const flagArb: fc.Arbitrary<FlagDefinition> = fc.record({
  enabled: fc.boolean(),
  offVariant: fc.constantFrom(...VARIANTS),
  defaultServe: serveArb,
  targets: fc.array(fc.record({ variant: fc.constantFrom(...VARIANTS), values: fc.subarray(['k1', 'k2', 'k3', 'k4']) }), { maxLength: 2 }),
  rules: fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(i)))),
  prerequisites: fc.array(fc.record({ flag: fc.constantFrom('p1', 'p2', 'missing'), variant: fc.constantFrom(...VARIANTS) }), { maxLength: 2 }),
  schedule: fc.array(fc.record({
    id: fc.string({ unit: fc.constantFrom('a', 'b', 'c'), minLength: 1, maxLength: 3 }),
    at: fc.integer({ min: NOW - 1e9, max: NOW + 1e9 }).map((ms) => new Date(ms).toISOString()),
    change: fc.record({ enabled: fc.boolean(), defaultServe: serveArb }, { requiredKeys: [] })
  }), { maxLength: 3 })
}).map((p) => ({
  flag: 'prop-flag',
  environment: 'test',
  type: 'string' as const,
  version: 1,
  variants: VARIANTS.map((key) => ({ key, value: `value-${key}` })),
  segments: { staff: { key: 'staff', included: ['k2'], excluded: ['k3'], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith' as const, values: ['@corp.io'] }] }] } },
  ...p
}))

const contextArb: fc.Arbitrary<EvaluationContext> = fc.record({
  targetingKey: fc.oneof(fc.constantFrom('k1', 'k2', 'k3', 'k4'), fc.string({ minLength: 1, maxLength: 12 })),
  country: fc.constantFrom('fr', 'de', 'FR', 'us', 'jp'),
  age: fc.oneof(fc.integer({ min: 0, max: 99 }), fc.constantFrom('42', 'abc')),
  email: fc.constantFrom('ann@corp.io', 'zed@gmail.com', 'admin@x.org'),
  version: fc.constantFrom('0.9.0', '1.0.0', '2.0.0-rc.2', 'v3'),
  signup: fc.constantFrom('2023-12-31T21:00:00Z', '2023-12-31T23:00:00Z', 1704060000000),
  beta: fc.constantFrom(true, null),
  plan: fc.constantFrom('pro', 'free')
}, { requiredKeys: [] })

const prereqs: Record<string, FlagDefinition> = {
  p1: { flag: 'p1', environment: 'test', type: 'string', version: 1, variants: VARIANTS.map((key) => ({ key, value: key })), segments: {}, enabled: true, offVariant: 'v0', defaultServe: { variant: 'v1' }, targets: [{ variant: 'v2', values: ['k1'] }], rules: [], prerequisites: [], schedule: [] },
  p2: { flag: 'p2', environment: 'test', type: 'string', version: 1, variants: VARIANTS.map((key) => ({ key, value: key })), segments: {}, enabled: true, offVariant: 'v0', defaultServe: { rollout: { variants: [{ variant: 'v0', weight: 50_000 }, { variant: 'v1', weight: 50_000 }] } }, targets: [], rules: [], prerequisites: [{ flag: 'p1', variant: 'v1' }], schedule: [] }
}
const optsAt = (now: number) => ({ now, prerequisite: (k: string) => prereqs[k] })
const nowArb = fc.integer({ min: NOW - 2e9, max: NOW + 2e9 })

/** Deterministic pseudo-random keys (mulberry32) so 100,000 keys need no shrinking machinery. */
function keys (seed: number, n: number): string[] {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return (x ^ (x >>> 14)) >>> 0
  }
  return Array.from({ length: n }, () => `${next().toString(36)}-${next().toString(36)}`)
}

// --- laws ---------------------------------------------------------------------------------

t.test('deterministic: same inputs, same result — also for a structurally equal copy', async (t) => {
  fc.assert(fc.property(flagArb, contextArb, nowArb, (flag, ctx, now) => {
    const a = evaluate(flag, ctx, optsAt(now))
    const b = evaluate(flag, ctx, optsAt(now))
    const c = evaluate(structuredClone(flag), structuredClone(ctx), optsAt(now))
    assert.deepEqual(b, a)
    assert.deepEqual(c, a)
  }), { numRuns: 500 })
  t.pass()
})

t.test('explain returns exactly what evaluate returns', async (t) => {
  fc.assert(fc.property(flagArb, contextArb, nowArb, (flag, ctx, now) => {
    const { result, trace } = explain(flag, ctx, optsAt(now))
    assert.deepEqual(result, evaluate(flag, ctx, optsAt(now)))
    return trace.length > 0
  }), { numRuns: 500 })
  t.pass()
})

t.test('a flag\'s result does not depend on other flags', async (t) => {
  fc.assert(fc.property(flagArb, fc.array(flagArb, { maxLength: 4 }), contextArb, nowArb, (flag, others, ctx, now) => {
    const alone = evaluate({ ...flag, prerequisites: [] }, ctx, { now })
    // Unrelated flags: evaluated in between, and present in the lookup under other names.
    const lookup = new Map(others.map((o, i) => [`other-${i}`, { ...o, flag: `other-${i}` }]))
    const f = { ...flag, prerequisites: [] }
    for (const o of lookup.values()) evaluate(o, ctx, { now, prerequisite: (k) => lookup.get(k) })
    const crowded = evaluate(f, ctx, { now, prerequisite: (k) => lookup.get(k) })
    assert.deepEqual(crowded, alone)
  }), { numRuns: 300 })
  t.pass()
})

t.test('schedules: evaluating at now equals evaluating the persisted applySchedule(flag, now)', async (t) => {
  fc.assert(fc.property(flagArb, contextArb, nowArb, nowArb, (flag, ctx, t1, t2) => {
    const [early, late] = t1 <= t2 ? [t1, t2] : [t2, t1]
    const persisted = applySchedule(flag, late)
    assert.deepEqual(evaluate(persisted, ctx, optsAt(late)), evaluate(flag, ctx, optsAt(late)))
    assert.equal(applySchedule(persisted, late), persisted, 'idempotent')
    assert.deepEqual(applySchedule(applySchedule(flag, early), late), persisted, 'applying in two steps = applying once')
    assert.ok(persisted.schedule.every((s) => Date.parse(s.at) > late), 'only future entries remain')
  }), { numRuns: 400 })
  t.pass()
})

t.test('targets come before rules', async (t) => {
  fc.assert(fc.property(flagArb, fc.constantFrom(...VARIANTS), contextArb, (flag, variant, ctx) => {
    const f = { ...flag, enabled: true, prerequisites: [], schedule: [], targets: [{ variant, values: ['targeted'] }], rules: [{ id: 'everyone', clauses: [], serve: { variant: 'v0' } }, ...flag.rules] }
    const r = evaluate(f, { ...ctx, targetingKey: 'targeted' }, { now: NOW })
    assert.deepEqual(r, { value: `value-${variant}`, variant, reason: 'TARGETING_MATCH', ruleId: `target:${variant}` })
  }), { numRuns: 200 })
  t.pass()
})

function rolloutFlag (weights: number[], salt?: string): FlagDefinition {
  return {
    flag: 'split',
    environment: 'test',
    type: 'string',
    version: 1,
    segments: {},
    variants: VARIANTS.map((key) => ({ key, value: key })),
    enabled: true,
    offVariant: 'v0',
    targets: [],
    rules: [],
    prerequisites: [],
    schedule: [],
    defaultServe: { rollout: { variants: weights.map((weight, i) => ({ variant: VARIANTS[i], weight })), ...(salt === undefined ? {} : { salt }) } }
  }
}

t.test('moving weight between adjacent variants only moves users into the raised variant', async (t) => {
  const arb = fc.integer({ min: 2, max: 4 }).chain((n) => fc.record({
    weights: weightsArb(n),
    i: fc.nat({ max: n - 1 }),
    towardsNext: fc.boolean(),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.nat()
  }))
  fc.assert(fc.property(arb, ({ weights, i, towardsNext, fraction, seed }) => {
    const n = weights.length
    const donor = towardsNext ? (i + 1) % n : (i - 1 + n) % n // adjacent (cyclically: n = 2 has one neighbour)
    if (Math.abs(donor - i) !== 1) return true
    const delta = Math.floor(weights[donor] * fraction)
    const raised = weights.slice()
    raised[i] += delta
    raised[donor] -= delta
    const before = rolloutFlag(weights)
    const after = rolloutFlag(raised)
    for (const key of keys(seed, 2000)) {
      const a = evaluate(before, { targetingKey: key }, { now: NOW }).variant
      const b = evaluate(after, { targetingKey: key }, { now: NOW }).variant
      if (a !== b && !(a === VARIANTS[donor] && b === VARIANTS[i])) {
        assert.fail(`${key}: moved ${a} → ${b} while raising ${VARIANTS[i]} from ${VARIANTS[donor]} (${weights} → ${raised})`)
      }
    }
    return true
  }), { numRuns: 200 })
  t.pass()
})

t.test('moving weight between non-adjacent variants: users move only within the ranges in between', async (t) => {
  // Consecutive ranges in declared order (DESIGN.md §5) make the ranges in between shift: raising
  // v0 by taking from v2 moves v1's range up, so some former v2 users land in v1 (and some v1
  // users in v0). Still, users of variants outside [min(i, donor), max(i, donor)] never move and
  // nobody leaves the raised variant.
  const arb = fc.record({ weights: weightsArb(4), pair: fc.constantFrom<[number, number]>([0, 2], [2, 0], [0, 3], [3, 0], [1, 3], [3, 1]), fraction: fc.double({ min: 0, max: 1, noNaN: true }), seed: fc.nat() })
  fc.assert(fc.property(arb, ({ weights, pair: [i, donor], fraction, seed }) => {
    const delta = Math.floor(weights[donor] * fraction)
    const raised = weights.slice()
    raised[i] += delta
    raised[donor] -= delta
    const [lo, hi] = [Math.min(i, donor), Math.max(i, donor)]
    for (const key of keys(seed, 1000)) {
      const a = VARIANTS.indexOf(evaluate(rolloutFlag(weights), { targetingKey: key }, { now: NOW }).variant as string)
      const b = VARIANTS.indexOf(evaluate(rolloutFlag(raised), { targetingKey: key }, { now: NOW }).variant as string)
      if (a === b) continue
      if (a === i || a < lo || a > hi || b < lo || b > hi) return false
    }
    return true
  }), { numRuns: 100 })
  t.pass()
})

t.test('over 100,000 random keys every variant gets its weight ±1 percentage point', async (t) => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }).chain((n) => weightsArb(n)), fc.nat(), fc.option(fc.string({ maxLength: 8 }), { nil: undefined }), (weights, seed, salt) => {
    const f = rolloutFlag(weights, salt)
    const counts = new Map<string, number>()
    const ks = keys(seed, 100_000)
    for (const key of ks) {
      const v = evaluate(f, { targetingKey: key }, { now: NOW }).variant as string
      counts.set(v, (counts.get(v) ?? 0) + 1)
    }
    return weights.every((w, i) => Math.abs((counts.get(VARIANTS[i]) ?? 0) / ks.length - w / ROLLOUT_TOTAL) <= 0.01)
  }), { numRuns: 12 })
  t.pass()
})

t.test('the same key lands in the same bucket across flags only through the salt', async (t) => {
  // Different flag names decorrelate; a shared salt correlates (used for coordinated rollouts).
  const ks = keys(7, 20_000)
  const a = rolloutFlag([50_000, 50_000])
  const b = { ...rolloutFlag([50_000, 50_000]), flag: 'split-2' }
  const sharedA = rolloutFlag([50_000, 50_000], 'shared')
  const sharedB = { ...rolloutFlag([50_000, 50_000], 'shared'), flag: 'split-2' }
  let same = 0
  let sharedSame = 0
  for (const key of ks) {
    if (evaluate(a, { targetingKey: key }, { now: NOW }).variant === evaluate(b, { targetingKey: key }, { now: NOW }).variant) same++
    if (evaluate(sharedA, { targetingKey: key }, { now: NOW }).variant === evaluate(sharedB, { targetingKey: key }, { now: NOW }).variant) sharedSame++
  }
  t.ok(Math.abs(same / ks.length - 0.5) < 0.02, `independent flags agree ~50% (${same / ks.length})`)
  t.equal(sharedSame, ks.length, 'a shared salt gives identical assignments')
})
