import t from 'tap'
import fc from 'fast-check'
import { createRequire } from 'node:module'
import type { Clause, EvaluationContext, SegmentDefinition } from '../../src/domain/model.js'
import { clauseValueError, compileClause, matchClause } from '../../src/domain/operators.js'
import { explainClause } from '../../src/domain/explain-clause.js'
import { compileRegex, validateRegex } from '../../src/domain/regex-safety.js'
import { attributeGetter, getAttribute, parseInstant, parseIsoDateTime, parseNumber } from '../../src/domain/values.js'
import { compareSemverStrings, parseSemver } from '../../src/domain/semver.js'

const m = (clause: Partial<Clause> & Pick<Clause, 'operator'>, ctx: EvaluationContext, segments?: Record<string, SegmentDefinition>): boolean =>
  matchClause({ attribute: 'x', values: [], ...clause } as Clause, ctx, segments)

t.test('in', async (t) => {
  t.ok(m({ operator: 'in', values: ['a', 'b'] }, { x: 'b' }))
  t.notOk(m({ operator: 'in', values: ['a', 'b'] }, { x: 'c' }))
  t.notOk(m({ operator: 'in', values: ['a'] }, { x: 'A' }), 'case-sensitive by default')
  t.ok(m({ operator: 'in', values: ['a'], caseInsensitive: true }, { x: 'A' }), 'case folding: context side')
  t.ok(m({ operator: 'in', values: ['ÉTÉ', 'x'], caseInsensitive: true }, { x: 'été' }), 'case folding: value side, non-ASCII')
  t.ok(m({ operator: 'in', values: ['30'] }, { x: 30 }), 'number attribute vs string value: string forms')
  t.ok(m({ operator: 'in', values: [30] }, { x: '30' }))
  t.notOk(m({ operator: 'in', values: ['30.0'] }, { x: 30 }), 'string forms, not numeric equality')
  t.ok(m({ operator: 'in', values: [true] }, { x: 'true' }))
  t.ok(m({ operator: 'in', values: [false] }, { x: false }))
  t.notOk(m({ operator: 'in', values: ['[object Object]'] }, { x: {} }), 'objects never match')
  t.ok(m({ operator: 'in', values: ['b', 'z'] }, { x: ['a', 'b'] }), 'array attribute: any element')
  t.notOk(m({ operator: 'in', values: ['z'] }, { x: ['a', 'b'] }))
  t.notOk(m({ operator: 'in', values: [] }, { x: 'a' }), 'an empty list never matches')
  t.ok(m({ operator: 'in', values: [], negate: true }, { x: 'a' }))
})

t.test('contains / startsWith / endsWith', async (t) => {
  t.ok(m({ operator: 'contains', values: ['oo'] }, { x: 'foobar' }))
  t.notOk(m({ operator: 'contains', values: ['OO'] }, { x: 'foobar' }))
  t.ok(m({ operator: 'contains', values: ['OO'], caseInsensitive: true }, { x: 'fOobar' }))
  t.ok(m({ operator: 'startsWith', values: ['x', 'fo'] }, { x: 'foobar' }))
  t.notOk(m({ operator: 'startsWith', values: ['bar'] }, { x: 'foobar' }))
  t.ok(m({ operator: 'startsWith', values: ['FOO'], caseInsensitive: true }, { x: 'foobar' }))
  t.ok(m({ operator: 'endsWith', values: ['@example.com'] }, { x: 'a@example.com' }))
  t.notOk(m({ operator: 'endsWith', values: ['@example.com'] }, { x: 'a@EXAMPLE.com' }))
  t.ok(m({ operator: 'endsWith', values: ['@example.com'], caseInsensitive: true }, { x: 'a@EXAMPLE.com' }))
  t.ok(m({ operator: 'contains', values: ['23'] }, { x: 1234 }), 'numbers use their string form')
  t.ok(m({ operator: 'endsWith', values: ['.org'] }, { x: ['a.com', 'b.org'] }))
  t.notOk(m({ operator: 'contains', values: ['a'] }, { x: { a: 1 } }))
})

t.test('matches', async (t) => {
  t.ok(m({ operator: 'matches', values: ['^[a-z]+@example\\.com$'] }, { x: 'jane@example.com' }))
  t.notOk(m({ operator: 'matches', values: ['^[a-z]+@example\\.com$'] }, { x: 'Jane@example.com' }))
  t.ok(m({ operator: 'matches', values: ['^[a-z]+@example\\.com$'], caseInsensitive: true }, { x: 'Jane@Example.com' }), 'caseInsensitive → i flag')
  t.ok(m({ operator: 'matches', values: ['\\D+'], caseInsensitive: true }, { x: 'abc' }), 'the pattern itself is not lower-cased (\\D stays \\D)')
  t.ok(m({ operator: 'matches', values: ['bar'] }, { x: 'foobar' }), 'unanchored')
  t.ok(m({ operator: 'matches', values: ['^\\p{Lu}'] }, { x: 'Émile' }), 'u flag: Unicode property escapes')
  t.notOk(m({ operator: 'matches', values: ['(a+)+$'] }, { x: 'a'.repeat(40) + '!' }), 'an unsafe pattern never matches (and never runs)')
  t.notOk(m({ operator: 'matches', values: ['('] }, { x: '(' }), 'an invalid pattern never matches')
  t.ok(m({ operator: 'matches', values: ['(', 'b'] }, { x: 'b' }), 'the valid values still apply')
  t.equal(compileRegex('ab+c'), compileRegex('ab+c'), 'compiled once and cached')
  t.not(compileRegex('ab+c'), compileRegex('ab+c', true), 'separately per flag set')
  t.equal(compileRegex('(a+)+'), null)
})

t.test('validateRegex', async (t) => {
  const accepted = [
    '^[a-z]+@example\\.com$', '(foo|bar)+', '^(https?|ftp)://', 'a+b+c*', '(ab)+', '(?:x|y)*', '\\p{L}+',
    '^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$', '(www\\.)?example\\.com', '[(+*]+', '(?<year>\\d{4})-(?<m>\\d\\d)',
    '(\\.|-)+', '^.*foo.*$', 'a'.repeat(256)
  ]
  for (const p of accepted) t.equal(validateRegex(p), null, `accepts ${p.length > 40 ? p.slice(0, 20) + '…' : p}`)
  const rejected: Array<[string, RegExp]> = [
    ['a'.repeat(257), /longer than 256/],
    ['(', /invalid regular expression/],
    ['a{', /invalid regular expression/], // invalid with the u flag
    ['(a+)+', /nested quantifiers/],
    ['(a*)*', /nested quantifiers/],
    ['(a+)*b', /nested quantifiers/],
    ['((ab)*c)+', /nested quantifiers/],
    ['(\\d{1,3}\\.){3}', /nested quantifiers/],
    ['(?:x+y?)+', /nested quantifiers/],
    ['(a|a)*', /alternatives/],
    ['(a|ab)+', /alternatives/],
    ['(\\w|-)+', /alternatives/],
    ['(.|x)*', /alternatives/],
    ['(a|)+', /alternatives/],
    ['(a?b|b)+', /alternatives/],
    ['(?:[]|(a+)+)$', /nested quantifiers/], // `[]` is an empty class in JavaScript, not the start of `[]…]`
    ['[^](a*)*', /nested quantifiers/],
    ['(x)\\1', /backreferences/],
    ['(?<n>x)\\k<n>', /backreferences/]
  ]
  for (const [p, why] of rejected) t.match(validateRegex(p), why, `rejects ${p.length > 40 ? p.slice(0, 20) + '…' : p}`)
  t.match(validateRegex(42), /string/)
})

t.test('numeric operators', async (t) => {
  t.ok(m({ operator: 'gt', values: [9] }, { x: '10' }), '"10" > 9 numerically (a string compare would say no)')
  t.ok(m({ operator: 'lt', values: ['10'] }, { x: 9 }))
  t.ok(m({ operator: 'lt', values: ['10'] }, { x: '9' }), 'both strings still compare as numbers')
  t.notOk(m({ operator: 'gt', values: [9] }, { x: 'abc' }), 'non-numeric never matches')
  t.notOk(m({ operator: 'lt', values: [9] }, { x: 'abc' }))
  t.notOk(m({ operator: 'eq', values: [0] }, { x: '' }), 'empty string is not 0')
  t.notOk(m({ operator: 'eq', values: [10] }, { x: ' 10' }), 'no whitespace')
  t.notOk(m({ operator: 'eq', values: [16] }, { x: '0x10' }), 'no hex')
  t.notOk(m({ operator: 'gt', values: [0] }, { x: 'Infinity' }))
  t.notOk(m({ operator: 'gt', values: [0] }, { x: true }), 'booleans are not numbers')
  t.ok(m({ operator: 'eq', values: [1] }, { x: '1.0' }))
  t.ok(m({ operator: 'eq', values: ['2e3'] }, { x: 2000 }))
  t.ok(m({ operator: 'eq', values: [1, 2, 3] }, { x: 2 }))
  t.notOk(m({ operator: 'eq', values: [1, 3] }, { x: 2 }))
  t.ok(m({ operator: 'lte', values: [5] }, { x: 5 }))
  t.notOk(m({ operator: 'lt', values: [5] }, { x: 5 }))
  t.ok(m({ operator: 'gte', values: [5] }, { x: '5' }))
  t.notOk(m({ operator: 'gt', values: [5] }, { x: 5 }))
  t.ok(m({ operator: 'lt', values: [1, 100] }, { x: 50 }), 'any value: 50 < 100')
  t.ok(m({ operator: 'gt', values: [1, 100] }, { x: 50 }), 'any value: 50 > 1')
  t.ok(m({ operator: 'gt', values: [18] }, { x: [3, 'abc', 20] }), 'array: any element')
  t.equal(parseNumber('-1.5e2'), -150)
  t.ok(Number.isNaN(parseNumber('1e400')), 'overflow is not a finite number')
  t.ok(Number.isNaN(parseNumber(NaN)))
})

t.test('before / after: instants, time zones, epoch ms', async (t) => {
  // 2024-01-01T00:00:00+02:00 is 2023-12-31T22:00:00Z: half an hour and more BEFORE 23:30Z.
  t.ok(m({ operator: 'before', values: ['2023-12-31T23:30:00Z'] }, { x: '2024-01-01T00:00:00+02:00' }))
  t.notOk(m({ operator: 'after', values: ['2023-12-31T23:30:00Z'] }, { x: '2024-01-01T00:00:00+02:00' }))
  t.ok(m({ operator: 'after', values: ['2023-12-31T21:59:59Z'] }, { x: '2024-01-01T00:00:00+02:00' }))
  t.notOk(m({ operator: 'before', values: ['2023-12-31T22:00:00Z'] }, { x: '2024-01-01T00:00:00+02:00' }), 'same instant: strict')
  t.notOk(m({ operator: 'after', values: ['2023-12-31T22:00:00Z'] }, { x: '2024-01-01T00:00:00+02:00' }))
  t.ok(m({ operator: 'before', values: ['2024-01-01T00:00:00-05:00'] }, { x: '2024-01-01T04:59:59Z' }), 'negative offsets')
  t.ok(m({ operator: 'after', values: ['2024-01-01T00:00:00+0530'] }, { x: '2023-12-31T18:30:00.001Z' }), 'offset without colon, milliseconds')
  const ms = Date.parse('2024-06-01T12:00:00Z')
  t.ok(m({ operator: 'before', values: [ms] }, { x: '2024-06-01T11:59:59.999Z' }), 'epoch ms as number value')
  t.ok(m({ operator: 'after', values: ['2024-06-01T11:00:00Z'] }, { x: ms }), 'epoch ms as number attribute')
  t.ok(m({ operator: 'after', values: ['2024-06-01T11:00:00Z'] }, { x: String(ms) }), 'epoch ms as digit string')
  t.notOk(m({ operator: 'before', values: ['2030-01-01T00:00:00Z'] }, { x: '2024-01-01' }), 'a date without time/offset is ambiguous: never matches')
  t.notOk(m({ operator: 'before', values: ['2030-01-01T00:00:00Z'] }, { x: '2024-01-01T00:00:00' }), 'no offset: never matches')
  t.notOk(m({ operator: 'before', values: ['2030-01-01T00:00:00Z'] }, { x: 'yesterday' }))
  t.notOk(m({ operator: 'before', values: ['2030-01-01T00:00:00Z'] }, { x: '2024-02-30T00:00:00Z' }), 'no 30 February')
  t.ok(m({ operator: 'before', values: ['2030-01-01T00:00:00Z'] }, { x: '2024-02-29T00:00:00Z' }), 'leap day')
  t.ok(Number.isNaN(parseIsoDateTime('2023-02-29T00:00:00Z')))
  t.ok(Number.isNaN(parseIsoDateTime('2024-01-01T24:00:00Z')))
  t.ok(Number.isNaN(parseIsoDateTime('2024-01-01T00:00:00+24:00')))
  t.equal(parseInstant('2024-01-01T00:00:00.123456789Z'), Date.parse('2024-01-01T00:00:00.123Z'), 'extra fraction digits truncated')
  t.equal(parseInstant('1970-01-01T00:00:00Z'), 0)
  t.equal(parseInstant('-1000'), -1000)
})

t.test('parseIsoDateTime agrees with Date for every instant', async () => {
  fc.assert(fc.property(
    fc.integer({ min: Date.parse('0001-01-02T00:00:00Z'), max: Date.parse('9999-12-30T23:59:59Z') }), // ±1 day stays in 4-digit years
    fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
    (ms, offsetMin) => {
      const iso = new Date(ms).toISOString()
      if (parseIsoDateTime(iso) !== ms) return false
      // The same instant written in another zone.
      const local = new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23)
      const sign = offsetMin < 0 ? '-' : '+'
      const a = Math.abs(offsetMin)
      const withOffset = `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`
      return parseIsoDateTime(withOffset) === ms
    }
  ), { numRuns: 2000 })
})

t.test('semver operators and precedence', async (t) => {
  const chain = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0']
  for (let i = 0; i + 1 < chain.length; i++) {
    const [lo, hi] = [chain[i], chain[i + 1]]
    t.ok(m({ operator: 'semverLt', values: [hi] }, { x: lo }), `${lo} < ${hi}`)
    t.ok(m({ operator: 'semverGt', values: [lo] }, { x: hi }), `${hi} > ${lo}`)
    t.notOk(m({ operator: 'semverLt', values: [lo] }, { x: hi }), `not ${hi} < ${lo}`)
    t.notOk(m({ operator: 'semverEq', values: [hi] }, { x: lo }))
  }
  t.ok(m({ operator: 'semverEq', values: ['1.0.0'] }, { x: '1.0.0+build.5' }), 'build metadata ignored')
  t.ok(m({ operator: 'semverLte', values: ['1.0.0'] }, { x: '1.0.0' }))
  t.ok(m({ operator: 'semverGte', values: ['1.0.0'] }, { x: '1.0.0' }))
  t.notOk(m({ operator: 'semverGte', values: ['1.0.0'] }, { x: '1.0.0-rc.1' }), 'pre-release is lower')
  t.ok(m({ operator: 'semverGt', values: ['1.9.0'] }, { x: '1.10.0' }), 'numeric, not lexical')
  t.notOk(m({ operator: 'semverEq', values: ['1.2.3'] }, { x: 'v1.2.3' }), 'a leading v is not a version')
  t.notOk(m({ operator: 'semverLt', values: ['2.0.0'] }, { x: '1.2' }), 'partial versions never match')
  t.notOk(m({ operator: 'semverLt', values: ['2.0.0'] }, { x: '01.2.3' }), 'leading zeros never match')
  t.notOk(m({ operator: 'semverLt', values: ['2.0.0'] }, { x: 1 }), 'numbers are not versions')
  t.notOk(m({ operator: 'semverLt', values: ['v2.0.0'] }, { x: '1.0.0' }), 'an invalid clause value never matches')
  t.equal(parseSemver('1.0.0-01'), null, 'numeric pre-release identifiers have no leading zeros')
  t.equal(parseSemver('99999999999999999.0.0'), null, 'above MAX_SAFE_INTEGER')
  t.equal(compareSemverStrings('1.0.0-alpha.99999999999999999999', '1.0.0-alpha.100000000000000000000'), -1, 'big numeric identifiers')
  t.equal(compareSemverStrings('1.0.0-beta', 'nope'), null)
  t.same(parseSemver('1.2.3-rc.1+b.7')?.build, ['b', '7'])
})

t.test('compareSemver agrees with node-semver on random versions', async (t) => {
  // node-semver is a devDependency: a missing one fails here rather than skipping the comparison.
  const semver = createRequire(import.meta.url)('semver') as { compare: (a: string, b: string) => number }
  const id = fc.oneof(fc.nat({ max: 20 }).map(String), fc.constantFrom('alpha', 'beta', 'rc', 'x-1', 'a1', 'A', 'b'))
  const version = fc.record({
    core: fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 3 }), fc.nat({ max: 3 })),
    pre: fc.array(id, { maxLength: 3 }),
    build: fc.option(fc.constantFrom('build.1', 'sha.abc'), { nil: undefined })
  }).map((v) => `${v.core.join('.')}${v.pre.length > 0 ? '-' + v.pre.join('.') : ''}${v.build !== undefined ? '+' + v.build : ''}`)
  fc.assert(fc.property(version, version, (a, b) => {
    const ours = compareSemverStrings(a, b)
    return ours !== null && Math.sign(ours) === Math.sign(semver.compare(a, b))
  }), { numRuns: 3000 })
  t.pass()
})

t.test('exists, missing attributes and negate', async (t) => {
  t.ok(m({ operator: 'exists' }, { x: 0 }))
  t.ok(m({ operator: 'exists' }, { x: '' }))
  t.ok(m({ operator: 'exists' }, { x: [] }))
  t.notOk(m({ operator: 'exists' }, { x: null }), 'null counts as missing')
  t.notOk(m({ operator: 'exists' }, {}))
  t.ok(m({ operator: 'exists', negate: true }, {}))
  t.notOk(m({ operator: 'exists', negate: true }, { x: 1 }))
  // A missing attribute never matches; negate then makes the clause match.
  for (const operator of ['in', 'contains', 'matches', 'gt', 'before', 'semverEq'] as const) {
    const values = operator === 'before' ? ['2024-01-01T00:00:00Z'] : operator === 'semverEq' ? ['1.0.0'] : operator === 'gt' ? [1] : ['a']
    t.notOk(m({ operator, values }, {}), `${operator}: missing → no match`)
    t.ok(m({ operator, values, negate: true }, {}), `${operator}: missing + negate → match`)
    t.ok(m({ operator, values, negate: true }, { x: null }), `${operator}: null + negate → match`)
  }
  t.notOk(m({ operator: 'in', values: ['fr'], negate: true }, { x: 'fr' }))
  t.ok(m({ operator: 'in', values: ['fr'], negate: true }, { x: 'de' }))
  t.ok(m({ operator: 'gt', values: [5], negate: true }, { x: 'abc' }), 'negate also inverts "not numeric"')
})

t.test('attribute lookup: top-level, dotted paths, no inherited properties', async (t) => {
  const ctx = { targetingKey: 'u1', user: { plan: 'pro', org: { id: 7 } }, 'a.b': 'literal', a: { b: 'nested' }, list: [{ k: 1 }] }
  t.equal(getAttribute(ctx, 'targetingKey'), 'u1')
  t.equal(getAttribute(ctx, 'user.plan'), 'pro')
  t.equal(getAttribute(ctx, 'user.org.id'), 7)
  t.equal(getAttribute(ctx, 'a.b'), 'literal', 'a top-level key with a dot wins over the path')
  t.equal(getAttribute(ctx, 'user.nope'), undefined)
  t.equal(getAttribute(ctx, 'list.0.k'), undefined, 'paths do not index arrays')
  t.equal(getAttribute(ctx, 'constructor'), undefined)
  t.equal(getAttribute(ctx, 'user.constructor'), undefined)
  t.equal(attributeGetter('toString')({}), undefined)
  t.equal(attributeGetter('__proto__')({}), undefined)
  t.equal(attributeGetter('user.plan')(ctx), 'pro')
  t.equal(attributeGetter('a.b')(ctx), 'literal')
  t.equal(attributeGetter('hasOwnProperty')({ hasOwnProperty: 'mine' } as EvaluationContext), 'mine')
  t.notOk(m({ attribute: 'constructor', operator: 'exists' }, {}), 'exists does not see inherited properties')
  t.ok(m({ attribute: 'user.org.id', operator: 'eq', values: [7] }, ctx))
})

t.test('segmentMatch', async (t) => {
  const segments: Record<string, SegmentDefinition> = {
    beta: {
      key: 'beta',
      included: ['vip'],
      excluded: ['banned'],
      rules: [{ clauses: [{ attribute: 'plan', operator: 'in', values: ['pro'] }, { attribute: 'country', operator: 'in', values: ['fr'] }] }]
    },
    staff: { key: 'staff', included: [], excluded: [], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@corp.io'] }] }] },
    nested: { key: 'nested', included: [], excluded: [], rules: [{ clauses: [{ attribute: 'x', operator: 'segmentMatch', values: ['staff'] }] }] },
    everyone: { key: 'everyone', included: [], excluded: [], rules: [{ clauses: [] }] }
  }
  const seg = (values: string[], ctx: EvaluationContext, negate = false): boolean =>
    m({ attribute: 'ignored', operator: 'segmentMatch', values, negate }, ctx, segments)
  t.ok(seg(['beta'], { targetingKey: 'vip' }), 'included')
  t.notOk(seg(['beta'], { targetingKey: 'banned', plan: 'pro', country: 'fr' }), 'excluded beats the rules')
  t.ok(seg(['beta'], { targetingKey: 'u', plan: 'pro', country: 'fr' }), 'a rule with all clauses matching')
  t.notOk(seg(['beta'], { targetingKey: 'u', plan: 'pro', country: 'de' }), 'rule clauses are ANDed')
  t.ok(seg(['beta'], { plan: 'pro', country: 'fr' }), 'rules apply without a targetingKey')
  t.ok(seg(['beta', 'staff'], { email: 'a@corp.io' }), 'any of the segments')
  t.ok(seg(['staff', 'beta'], { targetingKey: 'banned', email: 'a@corp.io' }), 'excluded from one, in another')
  t.notOk(seg(['missing'], { targetingKey: 'vip' }), 'a missing segment matches nobody')
  t.ok(seg(['missing'], { targetingKey: 'vip' }, true), 'negate')
  t.notOk(seg(['nested'], { email: 'a@corp.io' }), 'segments cannot reference segments')
  t.ok(seg(['everyone'], {}), 'a rule without clauses matches everyone')
  t.notOk(seg(['constructor'], {}), 'segment keys are own properties only')
  t.notOk(m({ operator: 'segmentMatch', values: ['beta'] }, { targetingKey: 'vip' }), 'without a segment snapshot: nobody')
})

t.test('compileClause tolerates junk', async (t) => {
  const junk = compileClause({ attribute: 'x', operator: 'nope' as never, values: ['a'] }, undefined)
  t.notOk(junk({ x: 'a' }), 'unknown operator never matches')
  const negJunk = compileClause({ attribute: 'x', operator: 'nope' as never, values: ['a'], negate: true }, undefined)
  t.ok(negJunk({ x: 'a' }))
  t.notOk(compileClause({ attribute: 'x', operator: 'in', values: undefined as never }, undefined)({ x: 'a' }))
})

t.test('clauseValueError (write-time checks)', async (t) => {
  t.equal(clauseValueError('in', 'anything'), null)
  t.match(clauseValueError('gt', 'abc'), /not a number/)
  t.equal(clauseValueError('gt', '10'), null)
  t.match(clauseValueError('before', '2024-01-01'), /ISO 8601/)
  t.equal(clauseValueError('before', '2024-01-01T00:00:00Z'), null)
  t.equal(clauseValueError('after', 1700000000000), null)
  t.match(clauseValueError('semverGt', 'v1.0.0'), /SemVer/)
  t.equal(clauseValueError('semverGt', '1.0.0-rc.1'), null)
  t.match(clauseValueError('matches', '(a+)+'), /nested/)
  t.match(clauseValueError('segmentMatch', 3), /strings/)
})

t.test('explainClause says why', async (t) => {
  const e = (clause: Clause, ctx: EvaluationContext) => explainClause(clause, ctx, {})
  const hit = e({ attribute: 'country', operator: 'in', values: ['de', 'fr'] }, { country: 'fr' })
  t.equal(hit.matched, true)
  t.equal(hit.attributeValue, 'fr')
  t.match(hit.why, /"fr" in "fr"/)
  t.match(e({ attribute: 'country', operator: 'in', values: ['de'] }, {}).why, /missing/)
  const neg = e({ attribute: 'country', operator: 'in', values: ['de'], negate: true }, {})
  t.equal(neg.matched, true)
  t.match(neg.why, /negated → matches/)
  t.match(e({ attribute: 'age', operator: 'gt', values: [3] }, { age: 'old' }).why, /not numeric/)
  t.match(e({ attribute: 'v', operator: 'semverGt', values: ['1.0.0'] }, { v: 'v2' }).why, /not a valid SemVer/)
  t.match(e({ attribute: 'x', operator: 'exists', values: [] }, { x: 1 }).why, /present/)
})

t.test('specialised matchers agree with the general path', async (t) => {
  // A top-level attribute takes the specialised matchers; the same value behind a dotted path
  // takes the general path. Both must agree for every operator, value list and attribute value.
  const value = fc.oneof(
    fc.constantFrom('fr', 'FR', 'de', '10', '9', 'abc', '', '1.0.0', '2.0.0-rc.1', '2024-01-01T00:00:00Z', 'x@corp.io'),
    fc.integer({ min: -5, max: 20 }),
    fc.constantFrom(Infinity, -Infinity, NaN, 0.5, true, false, null, 1704067200000)
  )
  const attribute = fc.oneof(value, fc.array(value, { maxLength: 3 }), fc.constant(undefined), fc.constant({ a: 1 }))
  const operator = fc.constantFrom('in', 'contains', 'startsWith', 'endsWith', 'matches', 'lt', 'lte', 'gt', 'gte', 'eq', 'before', 'after', 'semverEq', 'semverLt', 'semverGte', 'exists') as fc.Arbitrary<Clause['operator']>
  const clauseValues = fc.array(fc.oneof(fc.constantFrom('fr', 'de', 'FR', '10', 9, 10, 0, true, 'co', '@corp.io', '^d', '1.0.0', '2024-01-01T00:00:00Z', 1704067200000)), { maxLength: 3 })
  fc.assert(fc.property(operator, clauseValues, fc.boolean(), fc.boolean(), attribute, (op, values, negate, caseInsensitive, v) => {
    const top = compileClause({ attribute: 'x', operator: op, values, negate, caseInsensitive }, undefined)
    const nested = compileClause({ attribute: 'p.x', operator: op, values, negate, caseInsensitive }, undefined)
    return top(v === undefined ? {} : { x: v }) === nested({ p: v === undefined ? {} : { x: v } })
  }), { numRuns: 5000 })
  t.pass()
})
