// Differential: the provider's in-process answer equals POST /features/evaluate's on the running
// server, field for field, on 10 000 generated (flag definition, context) cases — every operator,
// segments, prerequisites, rollouts (bucketed by the key and by other attributes), schedules
// (due and pending, at one fixed clock on both sides), missing attributes and type errors.
// Flags are created through the admin API (so they are what validation lets in) and reach the
// provider through GET /sdk/v1/flags; the server evaluates them from the store.
import t from 'tap'
import fc from 'fast-check'
import { build } from '../helper.js'
import { SwitchyardProvider } from '../../src/sdk/provider.js'
import type { EvaluationContext } from '@openfeature/server-sdk'
import { OPERATORS } from '../../src/domain/model.js'
import type { Clause, Rule, Serve } from '../../src/domain/model.js'

const NOW = Date.parse('2026-06-01T00:00:00Z')
const FLAGS = 100
const CONTEXTS_PER_FLAG = 100
const VARIANTS = ['v0', 'v1', 'v2', 'v3']
const VALUES: Record<string, unknown[]> = {
  boolean: [true, false, true, false],
  string: ['value-v0', 'value-v1', '', 'ünïcödé'],
  number: [0, 1.5, -2, 1e6],
  json: [{ a: 1 }, [1, 'two'], { nested: { x: 'y' } }, {}]
}

const weightsArb = (n: number) => fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: n - 1, maxLength: n - 1 })
  .map((cuts) => {
    const sorted = [0, ...cuts.sort((a, b) => a - b), 100_000]
    return sorted.slice(1).map((c, i) => c - sorted[i])
  })
const rolloutArb: fc.Arbitrary<Serve> = fc.integer({ min: 1, max: 4 })
  .chain((n) => fc.tuple(weightsArb(n), fc.option(fc.constantFrom('salt-1', 'other'), { nil: undefined }), fc.option(fc.constantFrom('email', 'org', 'absent'), { nil: undefined })))
  .map(([weights, salt, bucketBy]) => ({ rollout: { variants: weights.map((weight, i) => ({ variant: VARIANTS[i], weight })), ...(salt !== undefined ? { salt } : {}), ...(bucketBy !== undefined ? { bucketBy } : {}) } }))
const serveArb: fc.Arbitrary<Serve> = fc.oneof(fc.constantFrom(...VARIANTS).map((variant) => ({ variant })), rolloutArb)

const opt = { negate: fc.option(fc.boolean(), { nil: undefined }), caseInsensitive: fc.option(fc.boolean(), { nil: undefined }) }
const clause = (attribute: fc.Arbitrary<string>, operator: fc.Arbitrary<Clause['operator']>, values: fc.Arbitrary<Clause['values']>): fc.Arbitrary<Clause> =>
  fc.record({ attribute, operator, values, ...opt }, { requiredKeys: ['attribute', 'operator', 'values'] })
const clauseArb: fc.Arbitrary<Clause> = fc.oneof(
  clause(fc.constantFrom('country', 'plan', 'targetingKey', 'absent'), fc.constant('in'), fc.subarray(['fr', 'de', 'us', 'FR', 'pro', 'k1'], { minLength: 1 })),
  clause(fc.constantFrom('email', 'country'), fc.constantFrom('contains', 'startsWith', 'endsWith'), fc.subarray(['@corp.io', 'gmail', 'ann', 'F', 'z'], { minLength: 1 })),
  clause(fc.constantFrom('email', 'plan'), fc.constant('matches'), fc.constantFrom(['^[a-m]'], ['corp\\.io$'], ['^(pro|free)$'])),
  clause(fc.constantFrom('age', 'score', 'absent'), fc.constantFrom('lt', 'lte', 'gt', 'gte', 'eq'), fc.array(fc.oneof(fc.integer({ min: 0, max: 99 }), fc.constantFrom(0.5, -0.25, 1.75)), { minLength: 1, maxLength: 2 })),
  clause(fc.constantFrom('plan', 'beta'), fc.constant('in'), fc.constantFrom(['pro'], [true], ['free', false])),
  clause(fc.constantFrom('signup', 'absent'), fc.constantFrom('before', 'after'), fc.constantFrom(['2024-01-01T00:00:00+02:00'], ['2026-05-31T00:00:00Z'])),
  clause(fc.constantFrom('version', 'absent'), fc.constantFrom('semverEq', 'semverLt', 'semverLte', 'semverGt', 'semverGte'), fc.constantFrom(['1.0.0'], ['2.0.0-rc.1'], ['1.2.3', '0.9.0'])),
  clause(fc.constantFrom('beta', 'plan', 'absent'), fc.constant('exists'), fc.constant([])),
  clause(fc.constant('targetingKey'), fc.constant('segmentMatch'), fc.subarray(['staff', 'france'], { minLength: 1 }))
)
const ruleArb = (i: number): fc.Arbitrary<Rule> => fc.record({ id: fc.constant(`r${i}`), clauses: fc.array(clauseArb, { maxLength: 3 }), serve: serveArb })
const rulesArb = fc.integer({ min: 0, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => ruleArb(i))))

function flagArb (index: number) {
  const earlier = Array.from({ length: index }, (_, i) => `flag-${i}`)
  return fc.record({
    type: fc.constantFrom('boolean', 'string', 'number', 'json'),
    enabled: fc.boolean(),
    offVariant: fc.constantFrom(...VARIANTS),
    defaultServe: serveArb,
    targets: fc.array(fc.record({ variant: fc.constantFrom(...VARIANTS), values: fc.subarray(['k1', 'k2', 'k3', 'k4'], { minLength: 1 }) }), { maxLength: 2 }),
    rules: rulesArb,
    prerequisites: earlier.length === 0 ? fc.constant([]) : fc.uniqueArray(fc.record({ flag: fc.constantFrom(...earlier), variant: fc.constantFrom(...VARIANTS) }), { maxLength: 2, selector: (p) => p.flag }),
    schedule: fc.uniqueArray(fc.record({
      id: fc.constantFrom('a', 'b', 'c'),
      at: fc.integer({ min: NOW - 1e9, max: NOW + 1e9 }).map((ms) => new Date(ms).toISOString()),
      change: fc.oneof(fc.record({ enabled: fc.boolean() }), fc.record({ defaultServe: serveArb }), fc.record({ rules: rulesArb, enabled: fc.boolean() }))
    }), { maxLength: 3, selector: (s) => s.id })
  }).map(({ type, ...targeting }) => ({
    name: `flag-${index}`,
    type,
    variants: VARIANTS.map((key, i) => ({ key, value: VALUES[type][i] })),
    // Targets may not list one key twice: keep the first target's claim.
    environments: { dev: { ...targeting, targets: dedupeTargets(targeting.targets) } }
  }))
}

function dedupeTargets (targets: Array<{ variant: string; values: string[] }>) {
  const seen = new Set<string>()
  return targets.map((tg) => ({ variant: tg.variant, values: tg.values.filter((v) => !seen.has(v) && seen.add(v) !== undefined) })).filter((tg) => tg.values.length > 0)
}

const contextArb = fc.record({
  targetingKey: fc.oneof(fc.constantFrom('k1', 'k2', 'k3', 'k4', ''), fc.string({ maxLength: 12 })),
  country: fc.constantFrom('fr', 'de', 'FR', 'us', 'jp'),
  age: fc.oneof(fc.integer({ min: 0, max: 99 }), fc.constantFrom('42', 'abc', null, true)),
  score: fc.double({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }),
  email: fc.constantFrom('ann@corp.io', 'zed@gmail.com', 'admin@x.org', 'BOB@CORP.IO'),
  version: fc.constantFrom('0.9.0', '1.0.0', '2.0.0-rc.2', 'v3', '1.2.3'),
  signup: fc.constantFrom('2023-12-31T21:00:00Z', '2026-05-31T23:00:00Z', 1704060000000, 'not a date'),
  beta: fc.constantFrom(true, false, null),
  plan: fc.constantFrom('pro', 'free', 'PRO'),
  org: fc.oneof(fc.constantFrom('acme', ''), fc.constant({ id: 1 }), fc.constant([1, 2]))
}, { requiredKeys: [] })

const CHECKED = ['value', 'variant', 'reason', 'ruleId', 'errorCode', 'errorMessage'] as const

// 10 000 HTTP evaluations: about 2–3 minutes on a busy 2-core machine, over tap's default 120 s.
t.setTimeout(600_000)

t.test('provider vs POST /features/evaluate: 10 000 generated cases', async (t) => {
  // The evaluation cache on (the helper turns it off): every flag is written before the first
  // evaluation, so the server still evaluates what the store holds, and each of the 10 000 requests
  // costs the engine, not a DynamoDB read (about half of this file's CPU with the cache off).
  const ctx = await build(t, { app: { now: () => NOW }, env: { RATE_LIMIT_PER_MINUTE: '10000000', SHED_EVENT_LOOP_DELAY_MS: '0', EVAL_CACHE_TTL_MS: '600000' } })
  const admin = await ctx.loginAs('ADMIN')
  const baseUrl = await ctx.app.listen({ host: '127.0.0.1', port: 0 })
  const api = async (method: string, path: string, body: unknown, headers: Record<string, string> = { authorization: admin }) => {
    const res = await fetch(baseUrl + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }
  for (const seg of [
    { key: 'staff', included: ['k2'], excluded: ['k3'], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@corp.io'], caseInsensitive: true }] }] },
    { key: 'france', included: [], excluded: ['k1'], rules: [{ clauses: [{ attribute: 'country', operator: 'in', values: ['fr'] }] }, { clauses: [{ attribute: 'plan', operator: 'exists', values: [] }, { attribute: 'age', operator: 'gte', values: [18] }] }] }
  ]) t.equal((await api('POST', '/segments', seg)).status, 201)

  const flags = Array.from({ length: FLAGS }, (_, i) => fc.sample(flagArb(i), { numRuns: 1, seed: 1_000 + i })[0])
  for (const f of flags) {
    const res = await api('POST', '/features', f)
    if (res.status !== 201) {
      t.fail(`creating ${f.name}: ${JSON.stringify(res.body).slice(0, 400)}`)
      return
    }
  }
  const { key } = (await api('POST', '/api-keys', { name: 'differential', environment: 'dev', kind: 'server' })).body as { key: string }

  const provider = new SwitchyardProvider({ baseUrl, apiKey: key, mode: 'frozen', refreshIntervalMs: Number.MAX_SAFE_INTEGER, now: () => NOW })
  await provider.initialize()
  t.equal(provider.state?.flags, FLAGS, 'the provider holds every flag')

  const cases = flags.flatMap((f, i) => fc.sample(contextArb, { numRuns: CONTEXTS_PER_FLAG, seed: 7_000 + i }).map((context) => ({ flag: f.name, context })))
  cases.push({ flag: 'no-such-flag', context: { targetingKey: 'k1' } })
  t.ok(cases.length > 10_000, `${cases.length} cases`)

  let mismatches = 0
  const reasons = new Map<string, number>()
  let next = 0
  async function worker (): Promise<void> {
    while (next < cases.length) {
      const c = cases[next++]
      const res = await api('POST', '/features/evaluate', { feature: c.flag, environment: 'dev', context: c.context }, { 'x-api-key': key })
      const mine = provider.evaluate(c.flag, c.context as EvaluationContext)
      if (res.status === 404) {
        if (mine.errorCode !== 'FLAG_NOT_FOUND') { mismatches++; t.fail(`${c.flag}: server 404, provider ${JSON.stringify(mine)}`) }
        continue
      }
      if (res.status !== 200) { mismatches++; t.fail(`${c.flag} ${JSON.stringify(c.context)}: server ${res.status} ${JSON.stringify(res.body)}`); continue }
      const label = `${mine.reason}${mine.errorCode !== undefined ? `/${mine.errorCode}` : ''}`
      reasons.set(label, (reasons.get(label) ?? 0) + 1)
      for (const field of CHECKED) {
        if (JSON.stringify(res.body[field]) !== JSON.stringify(mine[field])) {
          if (++mismatches <= 20) t.fail(`${c.flag} ${JSON.stringify(c.context)}: ${field} server ${JSON.stringify(res.body[field])} provider ${JSON.stringify(mine[field])}`)
          break
        }
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  t.equal(mismatches, 0, 'every answer equal, field for field')
  // The generators reach every decision the engine can make (else the comparison proves less).
  const seen = [...reasons.keys()].sort()
  t.comment(`outcomes: ${seen.map((r) => `${r}=${reasons.get(r)}`).join(', ')}`)
  for (const r of ['STATIC', 'TARGETING_MATCH', 'SPLIT', 'DISABLED', 'DEFAULT', 'ERROR/TARGETING_KEY_MISSING', 'ERROR/INVALID_CONTEXT']) t.ok(reasons.has(r), `some case ends ${r}`)
  const operators = new Set(JSON.stringify(flags).match(/"operator":"(\w+)"/g)?.map((m) => m.slice(12, -1)))
  t.same([...OPERATORS].filter((o) => !operators.has(o)), [], 'every operator is used')
  await provider.onClose()
})
