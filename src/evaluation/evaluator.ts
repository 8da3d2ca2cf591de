// Evaluation service: loads flag definitions (one GetItem each, through a per-process cache) and
// runs the pure engine. Shared by the REST route, OFREP and the Lambda evaluate function.
import { evaluate, explain, type Explanation } from '../domain/evaluate.js'
import type { EvaluationContext, EvaluationResult, FlagDefinition } from '../domain/model.js'
import { TtlLru } from './cache.js'

export interface DefinitionSource {
  getDefinition(flag: string, env: string): Promise<FlagDefinition | undefined>
  listDefinitions(env: string, opts: { limit: number; cursor?: Record<string, unknown> }): Promise<{ items: FlagDefinition[]; cursor?: Record<string, unknown> }>
}

export interface EvaluatorOptions {
  source: DefinitionSource
  now: () => number
  ttlMs: number
  maxEntries?: number
}

const MAX_PREREQUISITE_DEPTH = 10

export function createEvaluator (opts: EvaluatorOptions) {
  const cache = new TtlLru<FlagDefinition | null>({ ttlMs: opts.ttlMs, maxEntries: opts.maxEntries ?? 50_000, now: opts.now })
  const key = (flag: string, env: string) => `${env}\u0000${flag}`

  async function definition (flag: string, env: string): Promise<FlagDefinition | undefined> {
    const d = await cache.get(key(flag, env), async () => (await opts.source.getDefinition(flag, env)) ?? null)
    return d ?? undefined
  }

  /** Load the prerequisite closure of a flag (usually empty) so the engine can stay synchronous. */
  async function withPrerequisites (root: FlagDefinition, env: string): Promise<Map<string, FlagDefinition>> {
    const loaded = new Map<string, FlagDefinition>([[root.flag, root]])
    let frontier = root.prerequisites.map((p) => p.flag)
    for (let depth = 0; frontier.length > 0 && depth < MAX_PREREQUISITE_DEPTH; depth++) {
      const next: string[] = []
      for (const name of frontier) {
        if (loaded.has(name)) continue
        const d = await definition(name, env)
        if (d === undefined) continue
        loaded.set(name, d)
        next.push(...d.prerequisites.map((p) => p.flag))
      }
      frontier = next
    }
    return loaded
  }

  function run (def: FlagDefinition, context: EvaluationContext, deps: Map<string, FlagDefinition>): EvaluationResult {
    return evaluate(def, context, { now: opts.now(), prerequisite: (k) => deps.get(k) })
  }

  return {
    cache,
    definition,

    async evaluate (flag: string, env: string, context: EvaluationContext): Promise<{ result: EvaluationResult; definition?: FlagDefinition }> {
      const def = await definition(flag, env)
      if (def === undefined) {
        return { result: { value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `Flag '${flag}' has no config in '${env}'` } }
      }
      const deps = def.prerequisites.length > 0 ? await withPrerequisites(def, env) : new Map<string, FlagDefinition>()
      return { result: run(def, context, deps), definition: def }
    },

    /** The evaluation with its trace (admin explain route); reads the store, not the cache. */
    async explain (flag: string, env: string, context: EvaluationContext): Promise<Explanation | undefined> {
      const def = await opts.source.getDefinition(flag, env)
      if (def === undefined) return undefined
      const deps = await withPrerequisites(def, env)
      return explain(def, context, { now: opts.now(), prerequisite: (k) => deps.get(k) })
    },

    /** Every flag of an environment, page by page from GSI1 (never a Scan). */
    async * definitions (env: string, pageSize = 100): AsyncGenerator<FlagDefinition[]> {
      let cursor: Record<string, unknown> | undefined
      do {
        const page = await opts.source.listDefinitions(env, { limit: pageSize, cursor })
        for (const d of page.items) cache.set(key(d.flag, env), d)
        if (page.items.length > 0) yield page.items
        cursor = page.cursor
      } while (cursor !== undefined)
    },

    /** Evaluate an already loaded set of definitions (bulk evaluation). */
    evaluateAll (defs: FlagDefinition[], context: EvaluationContext): Array<{ definition: FlagDefinition; result: EvaluationResult }> {
      const byName = new Map(defs.map((d) => [d.flag, d]))
      return defs.map((d) => ({ definition: d, result: run(d, context, byName) }))
    },

    invalidate (flag: string, env?: string): void {
      if (env !== undefined) cache.delete(key(flag, env))
      else cache.clear()
    }
  }
}

export type Evaluator = ReturnType<typeof createEvaluator>
