// A flag as a writer sends it, before the defaults of the original boolean on/off shape: a
// boolean flag may leave out its variants (on=true, off=false) and, per environment, offVariant
// ("off") and defaultServe ({ variant: "on" }). Any other type must name them; validateFlag says
// so, with the rest of the write-time rules.
import { booleanVariants, type EnvTargeting, type FlagType, type Serve, type Variant } from './model.js'

export interface EnvTargetingInput extends Omit<EnvTargeting, 'offVariant' | 'defaultServe'> {
  offVariant?: string
  defaultServe?: Serve
}

export interface FlagDraft {
  name: string
  type: FlagType
  variants?: Variant[]
  environments: Record<string, EnvTargetingInput>
}

/** One environment's targeting with the boolean defaults filled in (other types: as sent). */
export function withTypeDefaults (t: EnvTargetingInput, type: FlagType): EnvTargetingInput {
  if (type !== 'boolean') return t
  return { ...t, offVariant: t.offVariant ?? 'off', defaultServe: t.defaultServe ?? { variant: 'on' } }
}

/** The whole draft with the boolean defaults filled in. */
export function withFlagDefaults<T extends FlagDraft> (draft: T): T {
  return {
    ...draft,
    variants: draft.variants ?? (draft.type === 'boolean' ? booleanVariants() : undefined),
    environments: Object.fromEntries(Object.entries(draft.environments).map(([env, t]) => [env, withTypeDefaults(t, draft.type)]))
  }
}
