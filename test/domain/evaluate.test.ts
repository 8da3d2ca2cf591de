import t from 'tap'
import { applySchedule, bucketOf, dueScheduledChanges, evaluate, explain, MAX_PREREQUISITE_DEPTH, type TraceEntry } from '../../src/domain/evaluate.js'
import type { Clause, EvaluationContext, FlagDefinition, Rule } from '../../src/domain/model.js'
import { murmur3_x86_32 } from '../../src/domain/murmur3.js'

const NOW = Date.parse('2025-06-01T12:00:00Z')
const opts = { now: NOW }

function flag (partial: Partial<FlagDefinition> = {}): FlagDefinition {
  return {
    flag: 'new-checkout',
    environment: 'prod',
    type: 'string',
    version: 1,
    segments: {},
    variants: [{ key: 'off', value: 'legacy' }, { key: 'a', value: 'variant-a' }, { key: 'b', value: 'variant-b' }],
    enabled: true,
    offVariant: 'off',
    defaultServe: { variant: 'a' },
    targets: [],
    rules: [],
    prerequisites: [],
    schedule: [],
    ...partial
  }
}
const clause = (attribute: string, operator: Clause['operator'], values: Clause['values'], extra: Partial<Clause> = {}): Clause =>
  ({ attribute, operator, values, ...extra })
const fr: Rule = { id: 'france', clauses: [clause('country', 'in', ['fr'])], serve: { variant: 'b' } }

t.test('STATIC: no targets, rules or prerequisites', async (t) => {
  t.same(evaluate(flag(), { targetingKey: 'u1' }, opts), { value: 'variant-a', variant: 'a', reason: 'STATIC' })
  t.same(evaluate(flag(), {}, opts), { value: 'variant-a', variant: 'a', reason: 'STATIC' }, 'no targetingKey needed')
})

t.test('DEFAULT: targeting exists but nothing matched', async (t) => {
  t.same(evaluate(flag({ rules: [fr] }), { country: 'de' }, opts), { value: 'variant-a', variant: 'a', reason: 'DEFAULT' })
  t.equal(evaluate(flag({ targets: [{ variant: 'b', values: ['vip'] }] }), { targetingKey: 'u1' }, opts).reason, 'DEFAULT')
  const withPrereq = flag({ prerequisites: [{ flag: 'base', variant: 'on' }] })
  const base = flag({ flag: 'base', variants: [{ key: 'on', value: true }, { key: 'off', value: false }], defaultServe: { variant: 'on' } })
  t.equal(evaluate(withPrereq, {}, { now: NOW, prerequisite: () => base }).reason, 'DEFAULT')
})

t.test('DISABLED wins over everything', async (t) => {
  const f = flag({ enabled: false, targets: [{ variant: 'b', values: ['u1'] }], rules: [fr] })
  t.same(evaluate(f, { targetingKey: 'u1', country: 'fr' }, opts), { value: 'legacy', variant: 'off', reason: 'DISABLED' })
})

t.test('individual targets come before rules', async (t) => {
  const f = flag({ targets: [{ variant: 'off', values: ['u1', 'u2'] }, { variant: 'b', values: ['u3', 'u1'] }], rules: [fr] })
  t.same(evaluate(f, { targetingKey: 'u1', country: 'fr' }, opts), { value: 'legacy', variant: 'off', reason: 'TARGETING_MATCH', ruleId: 'target:off' }, 'first target listing the key wins')
  t.same(evaluate(f, { targetingKey: 'u3' }, opts), { value: 'variant-b', variant: 'b', reason: 'TARGETING_MATCH', ruleId: 'target:b' })
  t.same(evaluate(f, { targetingKey: 'u9', country: 'fr' }, opts), { value: 'variant-b', variant: 'b', reason: 'TARGETING_MATCH', ruleId: 'france' })
  t.equal(evaluate(f, { targetingKey: 42 as unknown as string, country: 'de' }, opts).reason, 'DEFAULT', 'a non-string targetingKey is never targeted')
})

t.test('rules: in order, clauses ANDed, first match wins', async (t) => {
  const f = flag({
    rules: [
      { id: 'pro-fr', clauses: [clause('country', 'in', ['fr']), clause('plan', 'in', ['pro'])], serve: { variant: 'off' } },
      fr,
      { id: 'all', clauses: [], serve: { variant: 'a' } }
    ]
  })
  t.same(evaluate(f, { country: 'fr', plan: 'pro' }, opts), { value: 'legacy', variant: 'off', reason: 'TARGETING_MATCH', ruleId: 'pro-fr' })
  t.same(evaluate(f, { country: 'fr', plan: 'free' }, opts), { value: 'variant-b', variant: 'b', reason: 'TARGETING_MATCH', ruleId: 'france' })
  t.same(evaluate(f, { country: 'de' }, opts), { value: 'variant-a', variant: 'a', reason: 'TARGETING_MATCH', ruleId: 'all' }, 'a rule without clauses matches everyone')
})

t.test('segmentMatch uses the snapshot carried by the definition', async (t) => {
  const f = flag({
    segments: { staff: { key: 'staff', included: ['boss'], excluded: [], rules: [{ clauses: [clause('email', 'endsWith', ['@corp.io'])] }] } },
    rules: [{ id: 'staff', clauses: [clause('', 'segmentMatch', ['staff'])], serve: { variant: 'b' } }]
  })
  t.equal(evaluate(f, { targetingKey: 'boss' }, opts).ruleId, 'staff')
  t.equal(evaluate(f, { email: 'x@corp.io' }, opts).ruleId, 'staff')
  t.equal(evaluate(f, { email: 'x@else.io' }, opts).reason, 'DEFAULT')
})

t.test('rollouts: the documented bucketing formula', async (t) => {
  const rollout = { variants: [{ variant: 'off', weight: 20_000 }, { variant: 'a', weight: 30_000 }, { variant: 'b', weight: 50_000 }] }
  const f = flag({ defaultServe: { rollout } })
  const expectedVariant = (bucket: number): string => bucket < 20_000 ? 'off' : bucket < 50_000 ? 'a' : 'b'
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const key = `user-${i}`
    const bucket = murmur3_x86_32(`new-checkout:${key}`, 0) % 100_000
    t.equal(bucketOf('new-checkout', key), bucket)
    const r = evaluate(f, { targetingKey: key }, opts)
    t.equal(r.reason, 'SPLIT')
    t.equal(r.ruleId, undefined)
    t.equal(r.variant, expectedVariant(bucket), key)
    seen.add(r.variant as string)
  }
  t.equal(seen.size, 3)
  // Pinned examples (a change here moves real users).
  t.equal(bucketOf('new-checkout', 'user-42'), murmur3_x86_32('new-checkout:user-42') % 100_000)
  t.equal(murmur3_x86_32('new-checkout:user-42') % 100_000, 60_774)
  t.equal(evaluate(f, { targetingKey: 'user-42' }, opts).variant, 'b')

  const salted = flag({ defaultServe: { rollout: { ...rollout, salt: 'exp-2025' } } })
  const salty = evaluate(salted, { targetingKey: 'user-42' }, opts)
  t.equal(salty.variant, expectedVariant(murmur3_x86_32('exp-2025:user-42') % 100_000), 'salt replaces the flag name')

  const byOrg = flag({ defaultServe: { rollout: { ...rollout, bucketBy: 'org.id' } } })
  t.equal(evaluate(byOrg, { org: { id: 7 } }, opts).variant, expectedVariant(murmur3_x86_32('new-checkout:7') % 100_000), 'bucketBy a nested number, by its string form')
  t.same(evaluate(byOrg, { org: { id: 7 }, targetingKey: 'x' }, opts), evaluate(byOrg, { org: { id: 7 }, targetingKey: 'y' }, opts), 'sticky by org, not by user')
})

t.test('rollout in a rule: SPLIT with the rule id', async (t) => {
  const f = flag({ rules: [{ id: 'fr-split', clauses: [clause('country', 'in', ['fr'])], serve: { rollout: { variants: [{ variant: 'a', weight: 0 }, { variant: 'b', weight: 100_000 }] } } }] })
  t.same(evaluate(f, { targetingKey: 'u', country: 'fr' }, opts), { value: 'variant-b', variant: 'b', reason: 'SPLIT', ruleId: 'fr-split' })
})

t.test('missing bucketing value: ERROR / TARGETING_KEY_MISSING with the off value', async (t) => {
  const f = flag({ defaultServe: { rollout: { variants: [{ variant: 'a', weight: 50_000 }, { variant: 'b', weight: 50_000 }] } } })
  for (const ctx of [{}, { targetingKey: '' }, { targetingKey: null }] as EvaluationContext[]) {
    const r = evaluate(f, ctx, opts)
    t.equal(r.reason, 'ERROR')
    t.equal(r.errorCode, 'TARGETING_KEY_MISSING')
    t.equal(r.value, 'legacy')
    t.equal(r.variant, 'off')
    t.match(r.errorMessage, /targetingKey/)
  }
  const objectKey = evaluate(flag({ defaultServe: { rollout: { variants: [{ variant: 'a', weight: 100_000 }], bucketBy: 'org' } } }), { org: { id: 1 } }, opts)
  t.equal(objectKey.errorCode, 'INVALID_CONTEXT', 'objects have no stable string form')
  t.equal(evaluate(flag({ defaultServe: { rollout: { variants: [{ variant: 'a', weight: 100_000 }], bucketBy: 'n' } } }), { n: 0 }, opts).variant, 'a', '0 is a value')
})

t.test('definition errors at evaluation time: ERROR / GENERAL', async (t) => {
  const unknownServe = evaluate(flag({ defaultServe: { variant: 'zzz' } }), {}, opts)
  t.same(unknownServe, { value: 'legacy', variant: 'off', reason: 'ERROR', errorCode: 'GENERAL', errorMessage: 'variant "zzz" does not exist' })
  const badWeights = evaluate(flag({ defaultServe: { rollout: { variants: [{ variant: 'a', weight: 10 }] } } }), { targetingKey: 'u' }, opts)
  t.equal(badWeights.errorCode, 'GENERAL')
  t.match(badWeights.errorMessage, /sum to 10/)
  const unknownInRollout = evaluate(flag({ defaultServe: { rollout: { variants: [{ variant: 'a', weight: 50_000 }, { variant: 'zzz', weight: 50_000 }] } } }), { targetingKey: 'u' }, opts)
  t.equal(unknownInRollout.errorCode, 'GENERAL')
  const noOff = evaluate(flag({ enabled: false, offVariant: 'gone' }), {}, opts)
  t.same(noOff, { value: null, reason: 'ERROR', errorCode: 'GENERAL', errorMessage: 'off variant "gone" does not exist' })
  const unknownTarget = evaluate(flag({ targets: [{ variant: 'zzz', values: ['u'] }] }), { targetingKey: 'u' }, opts)
  t.equal(unknownTarget.errorCode, 'GENERAL')
  t.equal(evaluate(flag(), null as unknown as EvaluationContext, opts).errorCode, 'INVALID_CONTEXT')
  t.equal(evaluate(flag(), [] as unknown as EvaluationContext, opts).errorCode, 'INVALID_CONTEXT')
})

t.test('schedules apply as a function of now', async (t) => {
  const f = flag({
    enabled: false,
    schedule: [
      // Declared out of order on purpose: they apply in `at` order.
      { id: 'widen', at: '2025-03-01T00:00:00+01:00', change: { defaultServe: { variant: 'b' } } },
      { id: 'launch', at: '2025-02-01T09:00:00Z', change: { enabled: true, rules: [fr] } },
      { id: 'kill', at: '2025-04-01T00:00:00Z', change: { enabled: false } },
      { id: 'broken', at: 'not a date', change: { enabled: true } }
    ]
  })
  const at = (iso: string) => ({ now: Date.parse(iso) })
  t.equal(evaluate(f, {}, at('2025-02-01T08:59:59.999Z')).reason, 'DISABLED')
  t.same(evaluate(f, { country: 'de' }, at('2025-02-01T09:00:00Z')), { value: 'variant-a', variant: 'a', reason: 'DEFAULT' }, 'due exactly at `at`')
  t.equal(evaluate(f, { country: 'fr' }, at('2025-02-01T09:00:00Z')).ruleId, 'france', 'rules replaced by the change')
  t.equal(evaluate(f, { country: 'de' }, at('2025-02-28T22:59:59Z')).variant, 'a', '+01:00 offset respected')
  t.equal(evaluate(f, { country: 'de' }, at('2025-02-28T23:00:00Z')).variant, 'b')
  t.equal(evaluate(f, {}, at('2025-04-01T00:00:00Z')).reason, 'DISABLED')
  t.equal(evaluate(f, {}, at('2025-02-01T09:00:00Z')).reason, 'DEFAULT', 'evaluating at other times afterwards is unaffected (stage cache)')

  t.equal(applySchedule(f, Date.parse('2025-01-01T00:00:00Z')), f, 'nothing due → the same object')
  const applied = applySchedule(f, Date.parse('2025-03-15T00:00:00Z'))
  t.not(applied, f)
  t.equal(f.enabled, false, 'pure: the input is untouched')
  t.equal(f.schedule.length, 4)
  t.equal(applied.enabled, true)
  t.same(applied.defaultServe, { variant: 'b' })
  t.same(applied.rules, [fr])
  t.same(applied.schedule.map((s) => s.id), ['kill', 'broken'], 'applied entries are removed; others kept in order')
  t.same(dueScheduledChanges(f, Date.parse('2025-12-31T00:00:00Z')).map((s) => s.id), ['launch', 'widen', 'kill'])
  const tie = flag({ schedule: [{ id: 'x', at: '2025-01-01T00:00:00Z', change: { defaultServe: { variant: 'b' } } }, { id: 'y', at: '2025-01-01T01:00:00+01:00', change: { defaultServe: { variant: 'off' } } }] })
  t.same(applySchedule(tie, NOW).defaultServe, { variant: 'off' }, 'same instant: declared order')
})

t.test('prerequisites', async (t) => {
  const bool = (name: string, partial: Partial<FlagDefinition> = {}) => flag({
    flag: name,
    type: 'boolean',
    variants: [{ key: 'on', value: true }, { key: 'off', value: false }],
    offVariant: 'off',
    defaultServe: { variant: 'on' },
    ...partial
  })
  const flags = new Map<string, FlagDefinition>()
  const lookup = { now: NOW, prerequisite: (k: string) => flags.get(k) }
  flags.set('base', bool('base', { rules: [{ id: 'no-de', clauses: [clause('country', 'in', ['de'])], serve: { variant: 'off' } }] }))
  flags.set('disabled', bool('disabled', { enabled: false }))
  const child = flag({ prerequisites: [{ flag: 'base', variant: 'on' }], rules: [fr] })

  t.same(evaluate(child, { country: 'fr' }, lookup), { value: 'variant-b', variant: 'b', reason: 'TARGETING_MATCH', ruleId: 'france' }, 'met → evaluation continues')
  t.same(evaluate(child, { country: 'de' }, lookup), { value: 'legacy', variant: 'off', reason: 'TARGETING_MATCH', ruleId: 'prerequisite:base' }, 'not met → off variant')
  t.same(evaluate(child, { country: 'fr' }, opts), { value: 'legacy', variant: 'off', reason: 'TARGETING_MATCH', ruleId: 'prerequisite:base' }, 'no lookup → missing → not met')
  t.equal(evaluate(flag({ prerequisites: [{ flag: 'nope', variant: 'on' }] }), {}, lookup).ruleId, 'prerequisite:nope', 'missing flag → not met')
  t.equal(evaluate(flag({ prerequisites: [{ flag: 'disabled', variant: 'off' }] }), {}, lookup).reason, 'DEFAULT', 'a disabled prerequisite serving the required off variant is met')
  t.equal(evaluate(flag({ prerequisites: [{ flag: 'disabled', variant: 'on' }] }), {}, lookup).ruleId, 'prerequisite:disabled')
  t.equal(evaluate(flag({ enabled: false, prerequisites: [{ flag: 'nope', variant: 'on' }] }), {}, lookup).reason, 'DISABLED', 'disabled is decided before prerequisites')

  // An ERROR result never meets a prerequisite, even when it carries the required variant.
  flags.set('split', bool('split', { defaultServe: { rollout: { variants: [{ variant: 'on', weight: 100_000 }] } } }))
  t.equal(evaluate(flag({ prerequisites: [{ flag: 'split', variant: 'off' }] }), {}, lookup).ruleId, 'prerequisite:split')
  t.equal(evaluate(flag({ prerequisites: [{ flag: 'split', variant: 'on' }] }), { targetingKey: 'u' }, lookup).reason, 'DEFAULT')

  // Cycles and self references terminate and count as not met.
  flags.set('x', bool('x', { prerequisites: [{ flag: 'y', variant: 'on' }] }))
  flags.set('y', bool('y', { prerequisites: [{ flag: 'x', variant: 'on' }] }))
  t.equal(evaluate(flags.get('x')!, {}, lookup).ruleId, 'prerequisite:y')
  const self = bool('self', { prerequisites: [{ flag: 'self', variant: 'on' }] })
  flags.set('self', self)
  t.equal(evaluate(self, {}, lookup).ruleId, 'prerequisite:self')

  // A chain longer than the depth limit is not met; a chain within it is.
  const chain = (n: number) => {
    for (let i = 0; i < n; i++) flags.set(`c${i}`, bool(`c${i}`, { prerequisites: i + 1 < n ? [{ flag: `c${i + 1}`, variant: 'on' }] : [] }))
    return flags.get('c0')!
  }
  t.equal(evaluate(chain(MAX_PREREQUISITE_DEPTH), {}, lookup).variant, 'on')
  t.equal(evaluate(chain(MAX_PREREQUISITE_DEPTH + 2), {}, lookup).variant, 'off')

  // Prerequisites see `now` too.
  flags.set('later', bool('later', { enabled: false, schedule: [{ id: 's', at: '2025-06-01T12:00:00Z', change: { enabled: true } }] }))
  const needsLater = flag({ prerequisites: [{ flag: 'later', variant: 'on' }] })
  t.equal(evaluate(needsLater, {}, { ...lookup, now: NOW - 1 }).ruleId, 'prerequisite:later')
  t.equal(evaluate(needsLater, {}, lookup).reason, 'DEFAULT')
})

t.test('explain: result identical to evaluate, trace in order', async (t) => {
  const base = flag({ flag: 'base', defaultServe: { variant: 'a' } })
  const f = flag({
    schedule: [
      { id: 'past', at: '2025-01-01T00:00:00Z', change: { rules: [fr, { id: 'pro', clauses: [clause('plan', 'in', ['pro']), clause('age', 'gte', [18])], serve: { variant: 'b' } }] } },
      { id: 'future', at: '2026-01-01T00:00:00Z', change: { enabled: false } }
    ],
    prerequisites: [{ flag: 'base', variant: 'a' }],
    targets: [{ variant: 'b', values: ['vip'] }],
    defaultServe: { rollout: { variants: [{ variant: 'a', weight: 50_000 }, { variant: 'b', weight: 50_000 }] } }
  })
  const ctx = { targetingKey: 'user-42', country: 'de', plan: 'pro', age: 17 }
  const o = { now: NOW, prerequisite: (k: string) => (k === 'base' ? base : undefined) }
  const { result, trace } = explain(f, ctx, o)
  t.same(result, evaluate(f, ctx, o))
  t.same(trace.map((e) => e.step), ['schedule', 'schedule', 'enabled', 'prerequisite', 'targets', 'rule', 'rule', 'default', 'rollout'])
  const [past, future] = trace as Array<Extract<TraceEntry, { step: 'schedule' }>>
  t.match(past, { id: 'past', applied: true })
  t.match(future, { id: 'future', applied: false })
  t.match(trace[3], { step: 'prerequisite', flag: 'base', variant: 'a', met: true, result: { variant: 'a', reason: 'STATIC' } })
  t.match(trace[4], { step: 'targets', targetingKey: 'user-42', matched: false })
  const pro = trace[6] as Extract<TraceEntry, { step: 'rule' }>
  t.equal(pro.ruleId, 'pro')
  t.equal(pro.matched, false)
  t.same(pro.clauses.map((c) => c.matched), [true, false], 'every clause is explained, not only up to the first failure')
  t.match(pro.clauses[1].why, /17 matches none of the values/)
  const rollout = trace[8] as Extract<TraceEntry, { step: 'rollout' }>
  t.equal(rollout.bucketValue, 'user-42')
  t.equal(rollout.hashInput, 'new-checkout:user-42')
  t.equal(rollout.bucket, murmur3_x86_32('new-checkout:user-42') % 100_000)
  t.same(rollout.ranges, [{ variant: 'a', from: 0, to: 50_000 }, { variant: 'b', from: 50_000, to: 100_000 }])
  t.equal(rollout.variant, result.variant)

  const disabled = explain(flag({ enabled: false }), {}, opts)
  t.same(disabled.trace.map((e) => e.step), ['enabled'])
  t.match(disabled.trace[0].message, /disabled/)
  const failed = explain(flag({ prerequisites: [{ flag: 'gone', variant: 'on' }] }), {}, opts)
  t.match(failed.trace[1], { step: 'prerequisite', met: false, message: /flag not found/ })
  t.equal(failed.result.ruleId, 'prerequisite:gone')
  const missingKey = explain(flag({ defaultServe: { rollout: { variants: [{ variant: 'a', weight: 100_000 }] } } }), {}, opts)
  t.match(missingKey.trace.at(-1), { step: 'rollout', message: /missing/ })
  t.equal(missingKey.result.errorCode, 'TARGETING_KEY_MISSING')
})

t.test('the compiled cache follows the definition object', async (t) => {
  const f1 = flag({ rules: [fr] })
  t.equal(evaluate(f1, { country: 'fr' }, opts).variant, 'b')
  const f2 = { ...f1, rules: [{ ...fr, serve: { variant: 'off' } }] }
  t.equal(evaluate(f2, { country: 'fr' }, opts).variant, 'off', 'a new definition object is compiled afresh')
  t.equal(evaluate(f1, { country: 'fr' }, opts).variant, 'b')
})

t.test('reassigning a top-level field of a definition is noticed', async (t) => {
  const f = flag({ rules: [fr] })
  t.equal(evaluate(f, { country: 'fr' }, opts).variant, 'b')
  f.enabled = false
  t.equal(evaluate(f, { country: 'fr' }, opts).reason, 'DISABLED')
  f.enabled = true
  f.rules = []
  t.equal(evaluate(f, { country: 'fr' }, opts).reason, 'STATIC')
})
