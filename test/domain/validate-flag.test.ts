import t from 'tap'
import type { EnvTargeting, FlagType, SegmentDefinition, Variant } from '../../src/domain/model.js'
import { pointerToken, validateFlag, validateSegment, type ValidationContext } from '../../src/domain/validate-flag.js'

const variants: Variant[] = [{ key: 'on', value: true }, { key: 'off', value: false }]

function targeting (partial: Partial<EnvTargeting> = {}): EnvTargeting {
  return { enabled: true, offVariant: 'off', defaultServe: { variant: 'on' }, targets: [], rules: [], prerequisites: [], schedule: [], ...partial }
}

// Other flags: base (on/off) depends on nothing; mid depends on base; top depends on mid.
const edges: Record<string, string[]> = { base: [], mid: ['base'], top: ['mid'], loop: ['checkout'] }
const ctx: ValidationContext = {
  segmentExists: (key) => key === 'staff',
  flagVariants: (flag) => (flag in edges ? ['on', 'off'] : undefined),
  prerequisiteEdges: (flag) => edges[flag] ?? []
}

function errors (env: Partial<EnvTargeting>, opts: { type?: FlagType; variants?: Variant[]; name?: string; context?: ValidationContext } = {}) {
  return validateFlag({
    name: opts.name ?? 'checkout',
    type: opts.type ?? 'boolean',
    variants: opts.variants ?? variants,
    environments: { prod: targeting(env) }
  }, opts.context ?? ctx)
}

t.test('a valid flag has no errors', async (t) => {
  t.same(errors({
    targets: [{ variant: 'on', values: ['u1'] }],
    rules: [
      { id: 'r1', clauses: [{ attribute: 'country', operator: 'in', values: ['fr'] }, { attribute: '', operator: 'segmentMatch', values: ['staff'] }], serve: { variant: 'on' } },
      { id: 'r2', clauses: [{ attribute: 'age', operator: 'gte', values: ['18'] }, { attribute: 'v', operator: 'semverGte', values: ['1.2.3-rc.1'] }, { attribute: 'd', operator: 'before', values: ['2025-01-01T00:00:00+02:00', 1700000000000] }, { attribute: 'e', operator: 'matches', values: ['^[a-z]+@corp\\.io$'] }, { attribute: 'x', operator: 'exists', values: [] }], serve: { rollout: { variants: [{ variant: 'on', weight: 25_000 }, { variant: 'off', weight: 75_000 }] } } }
    ],
    prerequisites: [{ flag: 'top', variant: 'on' }],
    schedule: [{ id: 's1', at: '2025-01-01T00:00:00Z', change: { enabled: false } }]
  }), [])
})

t.test('variants: unique keys, values of the flag type', async (t) => {
  t.same(errors({}, { variants: [{ key: 'on', value: true }, { key: 'off', value: false }, { key: 'on', value: true }] }), [
    { path: '/variants/2/key', message: 'duplicate variant key "on"' }
  ])
  t.same(errors({}, { variants: [{ key: 'on', value: 'true' }, { key: 'off', value: false }] }).map((e) => e.path), ['/variants/0/value'])
  t.same(errors({}, { type: 'string', variants: [{ key: 'on', value: 1 }, { key: 'off', value: 'x' }] }).map((e) => e.path), ['/variants/0/value'])
  const numbers = errors({}, { type: 'number', variants: [{ key: 'on', value: Infinity }, { key: 'off', value: '3' }] })
  t.same(numbers.map((e) => e.path), ['/variants/0/value', '/variants/1/value'])
  t.match(numbers[0].message, /finite number/)
  t.same(errors({}, { type: 'json', variants: [{ key: 'on', value: { a: [1, null, 'x'] } }, { key: 'off', value: null }] }), [], 'any JSON value, null included')
  t.same(errors({}, { type: 'json', variants: [{ key: 'on', value: { when: new Date() } }, { key: 'off', value: [NaN] }] }).map((e) => e.path), ['/variants/0/value', '/variants/1/value'])
  t.same(errors({}, { type: 'json', variants: [{ key: 'on', value: undefined }, { key: 'off', value: 1 }] }).map((e) => e.path), ['/variants/0/value'])
  t.same(errors({}, { type: 'list' as FlagType }).map((e) => e.path), ['/variants/0/value', '/variants/1/value', '/type'])
})

t.test('serves naming missing variants', async (t) => {
  t.same(errors({ offVariant: 'nope' }), [{ path: '/environments/prod/offVariant', message: 'variant "nope" does not exist' }])
  t.same(errors({ defaultServe: { variant: 'nope' } }).map((e) => e.path), ['/environments/prod/defaultServe/variant'])
  t.same(errors({ targets: [{ variant: 'on', values: ['a'] }, { variant: 'nope', values: ['b'] }] }).map((e) => e.path), ['/environments/prod/targets/1/variant'])
  t.same(errors({ rules: [{ id: 'r', clauses: [], serve: { variant: 'nope' } }] }).map((e) => e.path), ['/environments/prod/rules/0/serve/variant'])
  t.same(errors({ schedule: [{ id: 's', at: '2025-01-01T00:00:00Z', change: { defaultServe: { variant: 'nope' } } }] }).map((e) => e.path), ['/environments/prod/schedule/0/change/defaultServe/variant'])
  t.same(errors({ schedule: [{ id: 's', at: '2025-01-01T00:00:00Z', change: { rules: [{ id: 'r', clauses: [], serve: { variant: 'nope' } }] } }] }).map((e) => e.path), ['/environments/prod/schedule/0/change/rules/0/serve/variant'])
})

t.test('targets: a key targeted twice', async (t) => {
  t.same(errors({ targets: [{ variant: 'on', values: ['a', 'b'] }, { variant: 'off', values: ['c', 'a'] }] }), [
    { path: '/environments/prod/targets/1/values/1', message: 'targetingKey "a" is already targeted by target 0' }
  ])
})

t.test('rollouts: weights sum to exactly 100000, distinct existing variants', async (t) => {
  const rollout = (vs: Array<[string, number]>) => ({ defaultServe: { rollout: { variants: vs.map(([variant, weight]) => ({ variant, weight })) } } })
  t.same(errors(rollout([['on', 50_000], ['off', 49_999]])), [
    { path: '/environments/prod/defaultServe/rollout/variants', message: 'weights sum to 99999; they must sum to exactly 100000 (100%)' }
  ])
  t.same(errors(rollout([['on', 60_000], ['off', 50_000]])).map((e) => e.path), ['/environments/prod/defaultServe/rollout/variants'])
  t.same(errors(rollout([['on', 50_000], ['on', 50_000]])), [
    { path: '/environments/prod/defaultServe/rollout/variants/1/variant', message: 'variant "on" appears twice in the rollout' }
  ])
  t.same(errors(rollout([['on', 50_000], ['nope', 50_000]])).map((e) => e.path), ['/environments/prod/defaultServe/rollout/variants/1/variant'])
  t.same(errors(rollout([['on', 100_000], ['off', 0]])), [], 'zero weights are fine')
  t.same(errors(rollout([['on', 100_000.5], ['off', -0.5]])).map((e) => e.path), [
    '/environments/prod/defaultServe/rollout/variants/0/weight', '/environments/prod/defaultServe/rollout/variants/1/weight', '/environments/prod/defaultServe/rollout/variants'
  ])
  t.same(errors(rollout([])).map((e) => e.message), ['a rollout needs at least one variant'])
})

t.test('rules: unique ids; clause operators and values', async (t) => {
  const rule = (id: string, clauses: unknown[]) => ({ id, clauses, serve: { variant: 'on' } }) as EnvTargeting['rules'][number]
  t.same(errors({ rules: [rule('a', []), rule('b', []), rule('a', [])] }), [
    { path: '/environments/prod/rules/2/id', message: 'rule id "a" is already used by rule 0' }
  ])
  const one = (clause: unknown) => errors({ rules: [rule('r', [{ attribute: 'x', values: [], ...clause as object }])] })
  t.same(one({ operator: 'like', values: ['a'] }), [{ path: '/environments/prod/rules/0/clauses/0/operator', message: 'unknown operator "like"' }])
  t.same(one({ operator: 'matches', values: ['ok', '(a+)+'] }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/values/1'])
  t.match(one({ operator: 'matches', values: ['(a+)+'] })[0].message, /nested quantifiers/)
  t.match(one({ operator: 'matches', values: ['x'.repeat(300)] })[0].message, /longer than 256/)
  t.match(one({ operator: 'matches', values: ['(x)\\1'] })[0].message, /backreferences/)
  t.match(one({ operator: 'matches', values: ['[a-'] })[0].message, /invalid regular expression/)
  t.same(one({ operator: 'gt', values: [1, 'ten', '10'] }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/values/1'])
  t.same(one({ operator: 'eq', values: [true] }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/values/0'])
  t.same(one({ operator: 'after', values: ['2025-01-01'] }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/values/0'])
  t.same(one({ operator: 'before', values: ['2025-13-01T00:00:00Z'] }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/values/0'])
  t.same(one({ operator: 'semverLt', values: ['1.0.0', 'v2.0.0', '1.2'] }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/values/1', '/environments/prod/rules/0/clauses/0/values/2'])
  t.same(one({ operator: 'segmentMatch', values: ['staff', 'ghosts'] }), [{ path: '/environments/prod/rules/0/clauses/0/values/1', message: 'segment "ghosts" does not exist' }])
  t.same(one({ operator: 'in', values: [] }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/values'], 'an empty value list is a mistake')
  t.same(one({ operator: 'exists', values: [] }), [], 'exists needs no values')
  t.same(one({ operator: 'in', values: ['a'], attribute: '' }).map((e) => e.path), ['/environments/prod/rules/0/clauses/0/attribute'])
})

t.test('prerequisites: missing flag, missing variant, self, cycles', async (t) => {
  t.same(errors({ prerequisites: [{ flag: 'ghost', variant: 'on' }] }), [{ path: '/environments/prod/prerequisites/0/flag', message: 'flag "ghost" does not exist' }])
  t.same(errors({ prerequisites: [{ flag: 'base', variant: 'maybe' }] }), [{ path: '/environments/prod/prerequisites/0/variant', message: 'flag "base" has no variant "maybe"' }])
  t.same(errors({ prerequisites: [{ flag: 'checkout', variant: 'on' }] }), [{ path: '/environments/prod/prerequisites/0/flag', message: 'a flag cannot be its own prerequisite' }])
  t.same(errors({ prerequisites: [{ flag: 'loop', variant: 'on' }] }), [{ path: '/environments/prod/prerequisites/0/flag', message: 'prerequisite cycle: checkout → loop → checkout' }])
  // base gains a dependency on checkout: checkout → top → mid → base → checkout.
  const longLoop: ValidationContext = { ...ctx, prerequisiteEdges: (f) => (f === 'base' ? ['checkout'] : edges[f] ?? []) }
  t.same(errors({ prerequisites: [{ flag: 'top', variant: 'on' }] }, { context: longLoop }), [
    { path: '/environments/prod/prerequisites/0/flag', message: 'prerequisite cycle: checkout → top → mid → base → checkout' }
  ])
  const noEdges: ValidationContext = { segmentExists: ctx.segmentExists, flagVariants: ctx.flagVariants }
  t.same(errors({ prerequisites: [{ flag: 'loop', variant: 'on' }] }, { context: noEdges }), [], 'no edge source: no cycle check')
  t.same(errors({ prerequisites: [{ flag: 'base', variant: 'on' }, { flag: 'base', variant: 'off' }] }).map((e) => e.path), ['/environments/prod/prerequisites/1/flag'])
  // A pre-existing cycle elsewhere that does not involve this flag does not hang validation.
  const elsewhere: ValidationContext = { ...ctx, prerequisiteEdges: (f) => (f === 'mid' ? ['top'] : edges[f] ?? []) }
  t.same(errors({ prerequisites: [{ flag: 'top', variant: 'on' }] }, { context: elsewhere }), [])
})

t.test('schedule: at, unique ids, non-empty change', async (t) => {
  t.same(errors({ schedule: [{ id: 's', at: '2025-01-01 10:00', change: { enabled: true } }] }).map((e) => e.path), ['/environments/prod/schedule/0/at'])
  t.same(errors({ schedule: [{ id: 's', at: '2025-01-01T00:00:00Z', change: { enabled: true } }, { id: 's', at: '2025-02-01T00:00:00Z', change: { enabled: false } }] }).map((e) => e.path), ['/environments/prod/schedule/1/id'])
  t.same(errors({ schedule: [{ id: 's', at: '2025-01-01T00:00:00Z', change: {} }] }).map((e) => e.path), ['/environments/prod/schedule/0/change'])
  t.same(errors({ schedule: [{ id: 's', at: '2025-01-01T00:00:00Z', change: { rules: [{ id: 'r', clauses: [{ attribute: 'a', operator: 'lt', values: ['x'] }], serve: { variant: 'on' } }] } }] }).map((e) => e.path), ['/environments/prod/schedule/0/change/rules/0/clauses/0/values/0'])
})

t.test('several environments; paths are JSON pointers', async (t) => {
  const errs = validateFlag({
    name: 'checkout',
    type: 'boolean',
    variants,
    environments: { dev: targeting(), prod: targeting({ offVariant: 'x' }), 'a/b~c': targeting({ offVariant: 'y' }) }
  }, ctx)
  t.same(errs.map((e) => e.path), ['/environments/prod/offVariant', '/environments/a~1b~0c/offVariant'])
  t.equal(pointerToken('a/b~c'), 'a~1b~0c')
})

t.test('validateSegment', async (t) => {
  const seg = (partial: Partial<SegmentDefinition>): SegmentDefinition => ({ key: 'staff', included: [], excluded: [], rules: [], ...partial })
  t.same(validateSegment(seg({ included: ['a'], excluded: ['b'], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@corp.io'] }] }] })), [])
  t.same(validateSegment(seg({ included: ['a', 'b'], excluded: ['c', 'b'] })), [{ path: '/excluded/1', message: 'targetingKey "b" is both included and excluded' }])
  t.same(validateSegment(seg({ rules: [{ clauses: [] }, { clauses: [{ attribute: 'n', operator: 'gte', values: ['x'] }, { attribute: 'r', operator: 'matches', values: ['(a*)*'] }] }] })).map((e) => e.path), [
    '/rules/1/clauses/0/values/0', '/rules/1/clauses/1/values/0'
  ])
  t.same(validateSegment(seg({ rules: [{ clauses: [{ attribute: '', operator: 'segmentMatch', values: ['other'] }] }] })), [
    { path: '/rules/0/clauses/0/operator', message: 'segments cannot reference other segments' }
  ])
  t.same(validateSegment(seg({ rules: [{ clauses: [{ attribute: 'x', operator: 'bogus' as never, values: ['a'] }] }] })).map((e) => e.path), ['/rules/0/clauses/0/operator'])
})
