// Names for the API shapes the console edits, all taken from the generated schema.d.ts.
import type { paths } from './api/schema'
import { api, etagOf, ok } from './api/client'

export type PutEnvBody = paths['/features/{flag}/env/{env}']['put']['requestBody']['content']['application/json']
export type Rule = NonNullable<PutEnvBody['rules']>[number]
export type Clause = Rule['clauses'][number]
export type Serve = NonNullable<PutEnvBody['defaultServe']>
export type Target = NonNullable<PutEnvBody['targets']>[number]
export type Prerequisite = NonNullable<PutEnvBody['prerequisites']>[number]
export type ScheduledChange = NonNullable<PutEnvBody['schedule']>[number]
export type Feature = paths['/features/{flag}']['get']['responses'][200]['content']['application/json']
export type Variant = Feature['variants'][number]
export type FlagType = Feature['type']
export type Environment = paths['/environments']['get']['responses'][200]['content']['application/json']['items'][number]
export type Segment = paths['/segments']['get']['responses'][200]['content']['application/json']['items'][number]
export type ApiKey = paths['/api-keys']['get']['responses'][200]['content']['application/json']['items'][number]

/** The targeting of a flag in one environment, as GET /features/{flag} returns it. */
export interface EnvConfig {
  enabled: boolean
  offVariant: string
  defaultServe: Serve
  targets: Target[]
  rules: Rule[]
  prerequisites: Prerequisite[]
  schedule: ScheduledChange[]
  version?: number
  updatedAt?: string
  updatedBy?: string
}

export const ROLLOUT_TOTAL = 100_000

/** The API's clause operators, in the order the editor offers them. */
export const OPERATORS = [
  'in', 'contains', 'startsWith', 'endsWith', 'matches', 'eq', 'lt', 'lte', 'gt', 'gte',
  'before', 'after', 'semverEq', 'semverLt', 'semverLte', 'semverGt', 'semverGte', 'exists', 'segmentMatch'
] as const satisfies ReadonlyArray<Clause['operator']>
// Fails to compile when the API gains an operator this list does not offer.
type MissingOperator = Exclude<Clause['operator'], (typeof OPERATORS)[number]>
export const ALL_OPERATORS_OFFERED: [MissingOperator] extends [never] ? true : MissingOperator = true

export const NUMERIC_OPERATORS = new Set<string>(['lt', 'lte', 'gt', 'gte'])

export function envConfig (f: Feature, env: string): EnvConfig | undefined {
  return f.environments[env] as unknown as EnvConfig | undefined
}

/** The PUT body for a config: only the fields the API accepts (enableAt lives in `schedule`). */
export function putBody (c: EnvConfig): PutEnvBody {
  return { enabled: c.enabled, offVariant: c.offVariant, defaultServe: c.defaultServe, targets: c.targets, rules: c.rules, prerequisites: c.prerequisites, schedule: c.schedule }
}

/** A new environment config for a flag: off, serving its first variant (boolean: on/off). */
export function newEnvConfig (f: Pick<Feature, 'type' | 'variants'>): EnvConfig {
  const first = f.variants[0]?.key ?? 'on'
  return f.type === 'boolean'
    ? { enabled: false, offVariant: 'off', defaultServe: { variant: 'on' }, targets: [], rules: [], prerequisites: [], schedule: [] }
    : { enabled: false, offVariant: first, defaultServe: { variant: first }, targets: [], rules: [], prerequisites: [], schedule: [] }
}

export async function getFeature (name: string): Promise<Feature> {
  return ok(await api.GET('/features/{flag}', { params: { path: { flag: name } } }))
}

/** PUT one environment's config; If-Match is the version the user saw (none to create). */
export async function putEnv (flag: string, env: string, body: PutEnvBody, version: number | undefined) {
  return ok(await api.PUT('/features/{flag}/env/{env}', {
    params: { path: { flag, env }, header: version === undefined ? {} : { 'if-match': etagOf(version) } },
    body
  }))
}
