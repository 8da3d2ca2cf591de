/**
 * Evaluation-engine benchmark: Switchyard's engine against the in-process evaluators of
 * unleash-client, @growthbook/growthbook (GrowthBookClient) and @openfeature/flagd-core, on the
 * same flag definitions, single thread, in one run.
 *
 *   npx tsx scripts/bench-engine.ts   (BENCH_SECONDS: CPU-seconds per implementation and scenario, default 3)
 *
 * Scenarios:
 *  (a) a boolean flag with no rules;
 *  (b) a string flag with 5 rules of 3 clauses (in, semver, endsWith, numeric, regex) and a
 *      3-way rollout as default; the contexts fail each rule after 1–3 clauses and land in the
 *      rollout, so every evaluation walks the rules and hashes;
 *  (c) 1,000 boolean flags (2 rules of 2 clauses — in, gte, in, endsWith, with values that
 *      differ per flag — + a 50 % rollout each) for one context; throughput counts flag
 *      evaluations.
 * Each library gets the closest equivalent definition in its own format (its operators, its
 * rollout) and its richest single-flag evaluation call (details, not just the value). Contexts
 * are pre-built in each library's shape (1,000 distinct targeting keys), so only evaluation is
 * timed. Results: a table on stdout and bench-results/engine.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { InMemStorageProvider, Unleash } from 'unleash-client'
import { GrowthBookClient } from '@growthbook/growthbook'
import { FlagdCore } from '@openfeature/flagd-core'
import { evaluate } from '../src/domain/evaluate.js'
import type { Clause, FlagDefinition, Rule } from '../src/domain/model.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)
const KEYS = Array.from({ length: 1000 }, (_, i) => `user-${i.toString(36)}-${(i * 7919) % 10007}`)
const ATTRS = { country: 'fr', plan: 'pro', email: 'jane.doe@corp.io', age: 34, beta: false, appVersion: '1.8.3' }
const NOW = Date.parse('2025-01-01T00:00:00Z')

// ---------------------------------------------------------------------------------------------
// Definitions — Switchyard

function flagDef (name: string, partial: Partial<FlagDefinition>): FlagDefinition {
  return {
    flag: name,
    environment: 'prod',
    type: 'boolean',
    version: 1,
    segments: {},
    variants: [{ key: 'on', value: true }, { key: 'off', value: false }],
    enabled: true,
    offVariant: 'off',
    defaultServe: { variant: 'on' },
    targets: [],
    rules: [],
    prerequisites: [],
    schedule: [],
    ...partial
  }
}

const c = (attribute: string, operator: Clause['operator'], values: Clause['values']): Clause => ({ attribute, operator, values })

const RULES_B: Rule[] = [
  { id: 'r1', clauses: [c('plan', 'in', ['pro', 'enterprise']), c('appVersion', 'semverGte', ['2.0.0']), c('country', 'in', ['de', 'at', 'ch'])], serve: { variant: 'b' } },
  { id: 'r2', clauses: [c('email', 'endsWith', ['@example.com', '@test.com']), c('age', 'gte', [18]), c('beta', 'in', [true])], serve: { variant: 'c' } },
  { id: 'r3', clauses: [c('age', 'gte', [18]), c('country', 'in', ['fr', 'be']), c('email', 'matches', ['^[a-z]+\\.(admin|ops)@'])], serve: { variant: 'b' } },
  { id: 'r4', clauses: [c('beta', 'in', [true]), c('country', 'in', ['fr']), c('appVersion', 'semverLt', ['1.5.0'])], serve: { variant: 'c' } },
  { id: 'r5', clauses: [c('country', 'in', ['fr']), c('plan', 'in', ['free']), c('age', 'lt', [13])], serve: { variant: 'b' } }
]

const OURS_A = flagDef('simple', {})
const OURS_B = flagDef('checkout', {
  type: 'string',
  variants: [{ key: 'a', value: 'a' }, { key: 'b', value: 'b' }, { key: 'c', value: 'c' }],
  offVariant: 'a',
  rules: RULES_B,
  defaultServe: { rollout: { variants: [{ variant: 'a', weight: 50_000 }, { variant: 'b', weight: 30_000 }, { variant: 'c', weight: 20_000 }] } }
})
const manyName = (i: number): string => `flag-${String(i).padStart(4, '0')}`
const NAMES = Array.from({ length: 1000 }, (_, i) => manyName(i)) // pre-built: no allocation in timed loops
// Per-flag values differ (as they do in real projects), the shape is the same for every flag.
const COUNTRIES = ['de', 'at', 'ch', 'it', 'es', 'nl', 'be', 'pl']
const manyValues = (i: number) => ({
  countries: [COUNTRIES[i % 8], COUNTRIES[(i + 3) % 8]],
  age: 18 + (i % 10),
  plan: i % 2 === 0 ? 'enterprise' : 'team',
  domain: `@example${i % 5}.com`
})
const OURS_C = Array.from({ length: 1000 }, (_, i) => flagDef(manyName(i), {
  rules: [
    { id: 'r1', clauses: [c('country', 'in', manyValues(i).countries), c('age', 'gte', [manyValues(i).age])], serve: { variant: 'on' } },
    { id: 'r2', clauses: [c('plan', 'in', [manyValues(i).plan]), c('email', 'endsWith', [manyValues(i).domain])], serve: { variant: 'on' } }
  ],
  defaultServe: { rollout: { variants: [{ variant: 'on', weight: 50_000 }, { variant: 'off', weight: 50_000 }] } }
}))

// ---------------------------------------------------------------------------------------------
// Definitions — Unleash (strategies in order; constraints ANDed; strategy variants = serve)

type UConstraint = { contextName: string; operator: string; values?: string[]; value?: string; inverted: boolean; caseInsensitive: boolean }
const uc = (contextName: string, operator: string, values: string[] | string): UConstraint =>
  Array.isArray(values)
    ? { contextName, operator, values, inverted: false, caseInsensitive: false }
    : { contextName, operator, value: values, inverted: false, caseInsensitive: false }
// groupId is the feature name, as the Unleash UI sets it (it salts the rollout hash per flag).
const uStrategy = (groupId: string, constraints: UConstraint[], variants: Array<[string, number]>, rollout = 100) => ({
  name: 'flexibleRollout',
  parameters: { rollout: String(rollout), stickiness: 'default', groupId },
  constraints,
  variants: variants.map(([name, weight]) => ({ name, weight, weightType: 'fix', stickiness: 'default', payload: { type: 'string', value: name } }))
})
const UNLEASH_FEATURES = [
  { name: 'simple', enabled: true, strategies: [{ name: 'default', parameters: {}, constraints: [] }] },
  {
    name: 'checkout',
    enabled: true,
    strategies: [
      uStrategy('checkout', [uc('plan', 'IN', ['pro', 'enterprise']), uc('appVersion', 'SEMVER_GTE', '2.0.0'), uc('country', 'IN', ['de', 'at', 'ch'])], [['b', 1000]]),
      uStrategy('checkout', [uc('email', 'STR_ENDS_WITH', ['@example.com', '@test.com']), uc('age', 'NUM_GTE', '18'), uc('beta', 'IN', ['true'])], [['c', 1000]]),
      uStrategy('checkout', [uc('age', 'NUM_GTE', '18'), uc('country', 'IN', ['fr', 'be']), uc('email', 'REGEX', '^[a-z]+\\.(admin|ops)@')], [['b', 1000]]),
      uStrategy('checkout', [uc('beta', 'IN', ['true']), uc('country', 'IN', ['fr']), uc('appVersion', 'SEMVER_LT', '1.5.0')], [['c', 1000]]),
      uStrategy('checkout', [uc('country', 'IN', ['fr']), uc('plan', 'IN', ['free']), uc('age', 'NUM_LT', '13')], [['b', 1000]]),
      uStrategy('checkout', [], [['a', 500], ['b', 300], ['c', 200]])
    ]
  },
  ...Array.from({ length: 1000 }, (_, i) => ({
    name: manyName(i),
    enabled: true,
    strategies: [
      uStrategy(manyName(i), [uc('country', 'IN', manyValues(i).countries), uc('age', 'NUM_GTE', String(manyValues(i).age))], []),
      uStrategy(manyName(i), [uc('plan', 'IN', [manyValues(i).plan]), uc('email', 'STR_ENDS_WITH', [manyValues(i).domain])], []),
      uStrategy(manyName(i), [], [], 50)
    ]
  }))
]

// ---------------------------------------------------------------------------------------------
// Definitions — GrowthBook (rules in order: force when condition matches; experiment = rollout)

const GB_FEATURES: Record<string, unknown> = {
  simple: { defaultValue: true },
  checkout: {
    defaultValue: 'a',
    rules: [
      { condition: { plan: { $in: ['pro', 'enterprise'] }, appVersion: { $vgte: '2.0.0' }, country: { $in: ['de', 'at', 'ch'] } }, force: 'b' },
      { condition: { email: { $regex: '@(example|test)\\.com$' }, age: { $gte: 18 }, beta: { $in: [true] } }, force: 'c' },
      { condition: { age: { $gte: 18 }, country: { $in: ['fr', 'be'] }, email: { $regex: '^[a-z]+\\.(admin|ops)@' } }, force: 'b' },
      { condition: { beta: { $in: [true] }, country: { $in: ['fr'] }, appVersion: { $vlt: '1.5.0' } }, force: 'c' },
      { condition: { country: { $in: ['fr'] }, plan: { $in: ['free'] }, age: { $lt: 13 } }, force: 'b' },
      { key: 'checkout', variations: ['a', 'b', 'c'], weights: [0.5, 0.3, 0.2], coverage: 1, hashAttribute: 'id' }
    ]
  }
}
for (let i = 0; i < 1000; i++) {
  GB_FEATURES[manyName(i)] = {
    defaultValue: false,
    rules: [
      { condition: { country: { $in: manyValues(i).countries }, age: { $gte: manyValues(i).age } }, force: true },
      { condition: { plan: { $in: [manyValues(i).plan] }, email: { $regex: `${manyValues(i).domain.replace('.', '\\.')}$` } }, force: true },
      { force: true, coverage: 0.5, hashAttribute: 'id' }
    ]
  }
}

// ---------------------------------------------------------------------------------------------
// Definitions — flagd (JsonLogic targeting: if/and chains, then fractional)

const v = (name: string) => ({ var: name })
const FLAGD_FLAGS: Record<string, unknown> = {
  simple: { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' },
  checkout: {
    state: 'ENABLED',
    variants: { a: 'a', b: 'b', c: 'c' },
    defaultVariant: 'a',
    targeting: {
      if: [
        { and: [{ in: [v('plan'), ['pro', 'enterprise']] }, { sem_ver: [v('appVersion'), '>=', '2.0.0'] }, { in: [v('country'), ['de', 'at', 'ch']] }] }, 'b',
        { and: [{ or: [{ ends_with: [v('email'), '@example.com'] }, { ends_with: [v('email'), '@test.com'] }] }, { '>=': [v('age'), 18] }, { '===': [v('beta'), true] }] }, 'c',
        // flagd has no regex operator: the closest is a prefix + substring test.
        { and: [{ '>=': [v('age'), 18] }, { in: [v('country'), ['fr', 'be']] }, { or: [{ in: ['.admin@', v('email')] }, { in: ['.ops@', v('email')] }] }] }, 'b',
        { and: [{ '===': [v('beta'), true] }, { in: [v('country'), ['fr']] }, { sem_ver: [v('appVersion'), '<', '1.5.0'] }] }, 'c',
        { and: [{ in: [v('country'), ['fr']] }, { in: [v('plan'), ['free']] }, { '<': [v('age'), 13] }] }, 'b',
        { fractional: [['a', 50], ['b', 30], ['c', 20]] }
      ]
    }
  }
}
for (let i = 0; i < 1000; i++) {
  FLAGD_FLAGS[manyName(i)] = {
    state: 'ENABLED',
    variants: { on: true, off: false },
    defaultVariant: 'off',
    targeting: {
      if: [
        { and: [{ in: [v('country'), manyValues(i).countries] }, { '>=': [v('age'), manyValues(i).age] }] }, 'on',
        { and: [{ in: [v('plan'), [manyValues(i).plan]] }, { ends_with: [v('email'), manyValues(i).domain] }] }, 'on',
        { fractional: [['on', 50], ['off', 50]] }
      ]
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Harness

type Impl = { name: string; run: (i: number) => number; opsPerCall: number }

/**
 * Calls `run` in batches until it has used about `seconds` of this process's CPU time. Reports
 * operations per CPU-second (the primary figure: descheduling by other processes on a shared
 * machine does not count against it) and per wall-clock second.
 */
function timeFor (run: (i: number) => number, opsPerCall: number, seconds: number): { cpu: number; wall: number; check: number } {
  let batch = 64
  let calls = 0
  let check = 0
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  let cpuMs = 0
  while (cpuMs < seconds * 1000) {
    for (let j = 0; j < batch; j++) check += run(calls + j)
    calls += batch
    const d = process.cpuUsage(cpu0)
    cpuMs = (d.user + d.system) / 1000
    if (batch < 65_536 && cpuMs < 200) batch *= 2
  }
  const wallMs = performance.now() - wall0
  return { cpu: (calls * opsPerCall) / (cpuMs / 1000), wall: (calls * opsPerCall) / (wallMs / 1000), check }
}

interface Measured { cpu: number; wall: number; cpuRuns: number[] }

/**
 * Warm every implementation up, then time them in interleaved rounds (a, b, c, d, a, b, …) so a
 * noisy neighbour affects all of them alike; report the median round of each.
 */
function measureAll (impls: Impl[]): Measured[] {
  for (const impl of impls) timeFor(impl.run, impl.opsPerCall, Math.min(1, SECONDS / 2))
  const runs: Array<Array<{ cpu: number; wall: number }>> = impls.map(() => [])
  for (let round = 0; round < 3; round++) {
    impls.forEach((impl, k) => runs[k].push(timeFor(impl.run, impl.opsPerCall, SECONDS / 3)))
  }
  return runs.map((r) => {
    const median = r.slice().sort((a, b) => a.cpu - b.cpu)[1]
    return { cpu: median.cpu, wall: median.wall, cpuRuns: r.map((x) => Math.round(x.cpu)) }
  })
}

async function main (): Promise<void> {
  const loadAverageAtStart = loadavg().map((l) => Number(l.toFixed(2)))
  // Unleash: offline — bootstrap data, no polling (refreshInterval 0), no metrics, memory storage.
  const unleash = new Unleash({
    appName: 'bench',
    url: 'http://127.0.0.1:1/api/',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: UNLEASH_FEATURES as never },
    skipInstanceCountWarning: true
  })
  unleash.on('error', () => {})
  unleash.on('warn', () => {})
  await new Promise<void>((resolve) => unleash.once('ready', () => resolve()))

  const gb = new GrowthBookClient()
  gb.initSync({ payload: { features: GB_FEATURES as never } })

  const flagd = new FlagdCore()
  flagd.setConfigurations(JSON.stringify({ flags: FLAGD_FLAGS }))
  const quietLogger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} }

  // Contexts in each library's own shape.
  const oursCtx = KEYS.map((k) => ({ targetingKey: k, ...ATTRS }))
  const unleashCtx = KEYS.map((k) => ({ userId: k, properties: { ...ATTRS, age: String(ATTRS.age), beta: String(ATTRS.beta) } }))
  const gbCtx = KEYS.map((k) => ({ attributes: { id: k, ...ATTRS } }))
  const flagdCtx = KEYS.map((k) => ({ targetingKey: k, ...ATTRS }))
  const opts = { now: NOW }

  // Sanity: every implementation must land in the rollout for (b), with similar splits.
  const split = (f: (i: number) => string): Record<string, number> => {
    const out: Record<string, number> = {}
    for (let i = 0; i < 1000; i++) { const k = f(i); out[k] = (out[k] ?? 0) + 1 }
    return out
  }
  const sanity = {
    switchyard: split((i) => String(evaluate(OURS_B, oursCtx[i], opts).variant)),
    'unleash-client': split((i) => unleash.getVariant('checkout', unleashCtx[i]).name),
    growthbook: split((i) => String(gb.evalFeature('checkout', gbCtx[i]).value)),
    'flagd-core': split((i) => flagd.resolveStringEvaluation('checkout', 'x', flagdCtx[i], quietLogger).value)
  }
  console.log('(b) variant split over 1,000 keys (all should be roughly 50/30/20 a/b/c):')
  for (const [name, s] of Object.entries(sanity)) console.log(`  ${name.padEnd(15)} ${JSON.stringify(s)}`)
  const onCount = (f: (flag: number) => boolean): number => NAMES.filter((_, k) => f(k)).length
  const sanityC = {
    switchyard: onCount((k) => evaluate(OURS_C[k], oursCtx[0], opts).value === true),
    'unleash-client': onCount((k) => unleash.isEnabled(NAMES[k], unleashCtx[0])),
    growthbook: onCount((k) => gb.evalFeature(NAMES[k], gbCtx[0]).value === true),
    'flagd-core': onCount((k) => flagd.resolveBooleanEvaluation(NAMES[k], false, flagdCtx[0], quietLogger).value)
  }
  console.log(`(c) flags "on" out of 1,000 for one context (each roughly 500): ${JSON.stringify(sanityC)}`)

  const scenarios: Array<{ id: string; title: string; impls: Impl[] }> = [
    {
      id: 'a',
      title: '(a) boolean flag, no rules',
      impls: [
        { name: 'switchyard', opsPerCall: 1, run: (i) => (evaluate(OURS_A, oursCtx[i % 1000], opts).value === true ? 1 : 0) },
        { name: 'unleash-client', opsPerCall: 1, run: (i) => (unleash.isEnabled('simple', unleashCtx[i % 1000]) ? 1 : 0) },
        { name: 'growthbook', opsPerCall: 1, run: (i) => (gb.evalFeature('simple', gbCtx[i % 1000]).value === true ? 1 : 0) },
        { name: 'flagd-core', opsPerCall: 1, run: (i) => (flagd.resolveBooleanEvaluation('simple', false, flagdCtx[i % 1000], quietLogger).value ? 1 : 0) }
      ]
    },
    {
      id: 'b',
      title: '(b) 5 rules × 3 clauses + rollout',
      impls: [
        { name: 'switchyard', opsPerCall: 1, run: (i) => (evaluate(OURS_B, oursCtx[i % 1000], opts).variant === 'c' ? 1 : 0) },
        { name: 'unleash-client', opsPerCall: 1, run: (i) => (unleash.getVariant('checkout', unleashCtx[i % 1000]).name === 'c' ? 1 : 0) },
        { name: 'growthbook', opsPerCall: 1, run: (i) => (gb.evalFeature('checkout', gbCtx[i % 1000]).value === 'c' ? 1 : 0) },
        { name: 'flagd-core', opsPerCall: 1, run: (i) => (flagd.resolveStringEvaluation('checkout', 'x', flagdCtx[i % 1000], quietLogger).value === 'c' ? 1 : 0) }
      ]
    },
    {
      id: 'c',
      title: '(c) 1,000 flags for one context',
      impls: [
        {
          name: 'switchyard',
          opsPerCall: 1000,
          run: (i) => { const ctx = oursCtx[i % 1000]; let n = 0; for (let f = 0; f < 1000; f++) if (evaluate(OURS_C[f], ctx, opts).value === true) n++; return n }
        },
        {
          name: 'unleash-client',
          opsPerCall: 1000,
          run: (i) => { const ctx = unleashCtx[i % 1000]; let n = 0; for (let f = 0; f < 1000; f++) if (unleash.isEnabled(NAMES[f], ctx)) n++; return n }
        },
        {
          name: 'growthbook',
          opsPerCall: 1000,
          run: (i) => { const ctx = gbCtx[i % 1000]; let n = 0; for (let f = 0; f < 1000; f++) if (gb.evalFeature(NAMES[f], ctx).value === true) n++; return n }
        },
        {
          name: 'flagd-core',
          opsPerCall: 1000,
          run: (i) => { const ctx = flagdCtx[i % 1000]; let n = 0; for (let f = 0; f < 1000; f++) if (flagd.resolveBooleanEvaluation(NAMES[f], false, ctx, quietLogger).value) n++; return n }
        }
      ]
    }
  ]
  const results: Array<{ scenario: string; title: string; impl: string; evalsPerCpuSecond: number; evalsPerWallSecond: number; cpuRuns: number[]; ratioToFastestPeer: number }> = []
  for (const s of scenarios) {
    console.log(`\n${s.title}`)
    const measured = measureAll(s.impls).map((m, k) => {
      const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(13)
      console.log(`  ${s.impls[k].name.padEnd(15)} ${fmt(m.cpu)} eval/CPU-s ${fmt(m.wall)} eval/s wall`)
      return { impl: s.impls[k].name, ...m }
    })
    const fastestPeer = Math.max(...measured.filter((m) => m.impl !== 'switchyard').map((m) => m.cpu))
    for (const m of measured) {
      results.push({
        scenario: s.id,
        title: s.title,
        impl: m.impl,
        evalsPerCpuSecond: Math.round(m.cpu),
        evalsPerWallSecond: Math.round(m.wall),
        cpuRuns: m.cpuRuns,
        ratioToFastestPeer: Number((m.cpu / fastestPeer).toFixed(2))
      })
    }
  }

  console.log('\n| scenario | implementation | eval per CPU-second | × fastest peer |')
  console.log('|---|---|---:|---:|')
  for (const r of results) {
    console.log(`| ${r.title} | ${r.impl} | ${r.evalsPerCpuSecond.toLocaleString('en-US')} | ${r.ratioToFastestPeer} |`)
  }

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model,
    secondsPerMeasurement: SECONDS,
    loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))),
    method: 'warm-up, then 3 interleaved rounds per scenario of BENCH_SECONDS/3 CPU-seconds each; median round reported; throughput per CPU-second of the process (wall-clock alongside); single thread; contexts pre-built; 1,000 distinct targeting keys',
    loadAverageAtStart,
    sanitySplits: sanity,
    sanityOnCounts: sanityC,
    results
  }
  mkdirSync('bench-results', { recursive: true })
  writeFileSync('bench-results/engine.json', JSON.stringify(out, null, 2) + '\n')
  console.log('\nwrote bench-results/engine.json')
  unleash.destroy()
  gb.destroy()
}

await main()
