// The provider's rules: one sync document held as its text, each flag a slice of it, parsed into
// the engine's definition the first time the flag is evaluated (docs/OPENFEATURE.md, "Memory").
// A whole 10 000-flag document parsed at once is about three times its size in objects, and
// parsing it grows the young generation by as much again; held as text it is one byte a
// character, and an application evaluates the few hundred flags it uses. Every flag is still
// checked when the document arrives (parsed and read as the engine would, then dropped), so a
// document this provider cannot read is refused whole and the last good one keeps serving.
import type { FlagDefinition, SegmentDefinition } from '../domain/model.js'
import { checkEnvelope, definitionOf, SyncFormatError } from './format.js'
import { arrayItems, JsonSpanError, objectMembers, topLevelMembers, type Span } from './json-spans.js'

interface FlagEntry {
  /** The flag's JSON as sent: a slice of the document's text. */
  readonly text: string
  /** The keys of the document's shared segments it uses (those its own text does not override). */
  readonly shared: readonly string[]
  /** Its definition once evaluated (kept from the previous snapshot when nothing of it changed). */
  def: FlagDefinition | undefined
}

const NONE: readonly string[] = Object.freeze([])

/** The flag key at the start of a flag's text, as the server writes it (`{"key":"…"`). */
const LEADING_KEY = /^\{"key":"([^"\\]*)"/

export class Snapshot {
  private constructor (
    readonly etag: string,
    readonly environment: string,
    /** The document as received (what a snapshot file holds). */
    readonly text: string,
    private readonly flags: Map<string, FlagEntry>,
    private readonly segments: Record<string, SegmentDefinition>,
    /** Each shared segment's JSON as sent: what tells a changed segment from an unchanged one. */
    private readonly segmentTexts: Map<string, string>
  ) {}

  /** `flag`, bound: the engine's prerequisite lookup, made once rather than per evaluation. */
  readonly lookup = (key: string): FlagDefinition | undefined => this.flag(key)

  get size (): number {
    return this.flags.size
  }

  /** The engine's definition of a flag (undefined when the environment has no config of it). */
  flag (key: string): FlagDefinition | undefined {
    const entry = this.flags.get(key)
    if (entry === undefined) return undefined
    return entry.def ?? (entry.def = definitionOf(JSON.parse(entry.text), this.environment, this.segments))
  }

  /** The keys of the flags whose rules (or shared segments) differ from `prev`'s, and those gone. */
  changedSince (prev: Snapshot): string[] {
    const changed: string[] = []
    for (const [key, entry] of this.flags) {
      const before = prev.flags.get(key)
      if (before === undefined || before.text !== entry.text || !this.sameShared(prev, entry)) changed.push(key)
    }
    for (const key of prev.flags.keys()) if (!this.flags.has(key)) changed.push(key)
    return changed.sort()
  }

  private sameShared (prev: Snapshot, entry: FlagEntry): boolean {
    return entry.shared.every((k) => prev.segmentTexts.get(k) === this.segmentTexts.get(k))
  }

  /**
   * Read a sync document's text; throws SyncFormatError when any part of it is not what this
   * provider reads. A flag whose text and shared segments equal `prev`'s keeps its definition
   * (and with it the engine's compiled form) without being parsed again.
   */
  static read (text: string, etag: string, prev?: Snapshot): Snapshot {
    let members: Map<string, Span>
    let items: Span[]
    try {
      members = topLevelMembers(text)
      const flagsAt = members.get('flags')
      if (flagsAt === undefined || members.get('segments') === undefined) throw new SyncFormatError('sync document lacks flags or segments')
      items = arrayItems(text, flagsAt[0])
    } catch (err) {
      throw err instanceof JsonSpanError ? new SyncFormatError(`sync document is not JSON: ${err.message}`) : err
    }
    const member = (name: string): unknown => {
      const at = members.get(name)
      return at === undefined ? undefined : JSON.parse(text.slice(at[0], at[1]))
    }
    const environment = member('environment')
    checkEnvelope(member('formatVersion'), environment)
    const segmentsAt = members.get('segments')!
    const segments = JSON.parse(text.slice(segmentsAt[0], segmentsAt[1])) as Record<string, SegmentDefinition>
    const segmentTexts = new Map<string, string>()
    for (const [k, at] of objectMembers(text, segmentsAt[0]).members) segmentTexts.set(k, text.slice(at[0], at[1]))

    const flags = new Map<string, FlagEntry>()
    const next = new Snapshot(etag, environment, text, flags, segments, segmentTexts)
    const reuse = prev !== undefined && prev.environment === environment ? prev : undefined
    for (const [start, end] of items) {
      const flagText = text.slice(start, end)
      const known = LEADING_KEY.exec(flagText)?.[1]
      const before = known === undefined ? undefined : reuse?.flags.get(known)
      if (before !== undefined && before.text === flagText) {
        // A new slice (not the old text) so the previous document can be collected.
        flags.set(known!, { text: flagText, shared: before.shared, def: next.sameShared(reuse!, before) ? before.def : undefined })
        continue
      }
      let raw: { key: string; segments: string[]; segmentOverrides?: Record<string, unknown> }
      try {
        raw = JSON.parse(flagText)
      } catch (err) {
        throw new SyncFormatError(`sync document holds a flag that is not JSON: ${(err as Error).message}`)
      }
      const def = definitionOf(raw, environment, segments) // checks it; dropped (see above)
      const shared = raw.segments.length === 0 ? NONE : raw.segments.filter((k) => raw.segmentOverrides?.[k] === undefined)
      flags.set(def.flag, { text: flagText, shared, def: undefined })
    }
    return next
  }
}
