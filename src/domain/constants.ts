// Constants the engine needs at run time, apart from model.ts's TypeBox schemas: the engine
// (evaluate.ts, operators.ts and the files it uses, semver.ts, murmur3.ts) is also bundled into the in-process
// OpenFeature provider (src/sdk/), which must not load a schema library to evaluate a flag.

export const ROLLOUT_TOTAL = 100_000

export const OPERATORS = [
  'in', 'contains', 'startsWith', 'endsWith', 'matches',
  'lt', 'lte', 'gt', 'gte', 'eq',
  'before', 'after',
  'semverEq', 'semverLt', 'semverLte', 'semverGt', 'semverGte',
  'exists', 'segmentMatch'
] as const
