// The sync format (GET /sdk/v1/flags), formatVersion 1: what the server renders and the provider
// reads. Pure (no I/O, type-only imports), so both sides share it. Documented in
// docs/OPENFEATURE.md, "The sync format".
//
// A flag's segments are shared: the document holds each segment once under `segments`, and a flag
// lists the keys it uses. Flags are read at slightly different moments, so two flags may hold
// different copies of one segment (a segment change committed between the two reads); the flag
// whose copy differs from the shared one carries it in `segmentOverrides`, so every flag is
// evaluated with exactly the segments its own stored config holds — as the server would.
import type {
  EnvTargeting, FlagDefinition, FlagType, SegmentDefinition, Variant
} from '../domain/model.js'

export const SYNC_FORMAT_VERSION = 1

export interface SyncFlag extends EnvTargeting {
  key: string
  type: FlagType
  /** The flag's aggregate version (the ETag of GET /features/{flag} when it was read). */
  version: number
  variants: Variant[]
  /** Keys of the segments this flag's rules (and pending schedule) reference. */
  segments: string[]
  segmentOverrides?: Record<string, SegmentDefinition>
}

export interface SyncDocument {
  formatVersion: typeof SYNC_FORMAT_VERSION
  environment: string
  /** The environment revision the document was read at (it may hold later changes, never earlier ones). */
  revision: number
  generatedAt: string
  flags: SyncFlag[]
  segments: Record<string, SegmentDefinition>
}

/** JSON with object keys sorted, to compare two copies of a segment whatever their key order. */
function canonical (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  const obj = value as Record<string, unknown>
  return `{${Object.keys(obj).filter((k) => obj[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(',')}}`
}

export function toSyncDocument (environment: string, revision: number, defs: readonly FlagDefinition[], generatedAt: Date): SyncDocument {
  const segments: Record<string, SegmentDefinition> = {}
  const shared = new Map<string, string>()
  const flags = defs.map((d): SyncFlag => {
    const keys = Object.keys(d.segments ?? {}).sort()
    let overrides: Record<string, SegmentDefinition> | undefined
    for (const k of keys) {
      const seg = d.segments[k]
      const text = canonical(seg)
      const known = shared.get(k)
      if (known === undefined) {
        shared.set(k, text)
        segments[k] = seg
      } else if (known !== text) {
        (overrides ??= {})[k] = seg
      }
    }
    const f: SyncFlag = {
      key: d.flag,
      type: d.type,
      version: d.version,
      variants: d.variants,
      enabled: d.enabled,
      offVariant: d.offVariant,
      defaultServe: d.defaultServe,
      targets: d.targets,
      rules: d.rules,
      prerequisites: d.prerequisites,
      schedule: d.schedule,
      segments: keys
    }
    if (overrides !== undefined) f.segmentOverrides = overrides
    return f
  })
  return { formatVersion: SYNC_FORMAT_VERSION, environment, revision, generatedAt: generatedAt.toISOString(), flags, segments }
}

export class SyncFormatError extends Error {}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The envelope of a sync document: refused when it is not format 1 rather than misread. */
export function checkEnvelope (formatVersion: unknown, environment: unknown): asserts environment is string {
  if (formatVersion !== SYNC_FORMAT_VERSION) throw new SyncFormatError(`unsupported sync formatVersion ${String(formatVersion)} (this provider reads ${SYNC_FORMAT_VERSION})`)
  if (typeof environment !== 'string') throw new SyncFormatError('sync document lacks its environment')
}

/**
 * The engine's definition of one flag of a sync document (`raw`, parsed), with the document's
 * shared segments. Checks the shape the engine relies on (it trusts the server's write
 * validation for the rest).
 */
export function definitionOf (raw: unknown, environment: string, shared: Record<string, SegmentDefinition>): FlagDefinition {
  if (!isObject(raw) || typeof raw.key !== 'string' || !Array.isArray(raw.variants) || !Array.isArray(raw.rules) || !Array.isArray(raw.segments)) {
    throw new SyncFormatError('sync document holds a malformed flag')
  }
  const f = raw as unknown as SyncFlag
  const segments: Record<string, SegmentDefinition> = {}
  for (const k of f.segments) {
    const seg = f.segmentOverrides?.[k] ?? shared[k]
    if (seg !== undefined) segments[k] = seg
  }
  // One literal, fields in the order the server's toDefinition uses (same hidden class).
  return {
    enabled: f.enabled,
    offVariant: f.offVariant,
    defaultServe: f.defaultServe,
    targets: f.targets ?? [],
    rules: f.rules ?? [],
    prerequisites: f.prerequisites ?? [],
    schedule: f.schedule ?? [],
    flag: f.key,
    environment,
    type: f.type,
    variants: f.variants,
    segments,
    version: f.version
  }
}

/** The engine's definitions of a whole (parsed) sync document, by flag key. */
export function definitionsOf (doc: unknown): Map<string, FlagDefinition> {
  if (!isObject(doc)) throw new SyncFormatError('sync document is not a JSON object')
  checkEnvelope(doc.formatVersion, doc.environment)
  if (!Array.isArray(doc.flags) || !isObject(doc.segments)) throw new SyncFormatError('sync document lacks flags or segments')
  const shared = doc.segments as Record<string, SegmentDefinition>
  const out = new Map<string, FlagDefinition>()
  for (const raw of doc.flags as unknown[]) {
    const def = definitionOf(raw, doc.environment, shared)
    out.set(def.flag, def)
  }
  return out
}
