// The OpenFeature server provider for Node (docs/OPENFEATURE.md, "In-process evaluation"): syncs
// an environment's rules from GET /sdk/v1/flags and evaluates in-process with the server's own
// engine (src/domain/evaluate.ts), so a flag gets the same value, variant, reason and error code
// as POST /features/evaluate would give, schedules applied by the clock.
//
// Refresh modes:
//  - 'long-running': the change stream (GET /sdk/v1/stream) when the server has one, conditional
//    polling with jitter while it has not (or while the stream is down);
//  - 'frozen' (Lambda and other containers frozen between invocations): no timer, no stream. An
//    evaluation that finds the snapshot older than `refreshIntervalMs` starts one conditional
//    refetch (never two at once) and answers from the current snapshot meanwhile.
// The last good snapshot keeps serving when the service is unreachable (PROVIDER_STALE) or
// refuses the key (PROVIDER_ERROR); READY again once a sync succeeds. With `snapshotFile`, a
// provider whose service is down at start serves the file's rules.
import { readFile, rename, writeFile } from 'node:fs/promises'
import {
  ErrorCode, OpenFeatureEventEmitter, ProviderEvents,
  type EvaluationContext, type JsonValue, type Provider, type ResolutionDetails
} from '@openfeature/server-sdk'
import { evaluate } from '../domain/evaluate.js'
import type { EvaluationResult, FlagDefinition } from '../domain/model.js'
import { topLevelMembers } from './json-spans.js'
import { Snapshot } from './snapshot.js'
import { createSyncClient, httpGet, type HttpGet, type SyncClient, type SyncResult, type Timers } from './sync-client.js'

export interface SwitchyardProviderOptions {
  /** Where the Switchyard API is, e.g. https://flags.example.com */
  baseUrl: string
  /** A `server` API key; its environment is the one evaluated. */
  apiKey: string
  /** Default 'long-running'. Use 'frozen' on AWS Lambda. */
  mode?: 'long-running' | 'frozen'
  /** Long-running: use the change stream when the server offers one (default true). */
  stream?: boolean
  /** Long-running: polling period without a stream, ±10 % jitter (default 10 s). */
  pollIntervalMs?: number
  /** Frozen: the snapshot age after which an evaluation starts a refetch (default 10 s). */
  refreshIntervalMs?: number
  /** Read at start when the service is unreachable; rewritten after each sync that changed something. */
  snapshotFile?: string
  /** Default 5 s. */
  requestTimeoutMs?: number
  /** Seams (tests, benchmarks). */
  now?: () => number
  get?: HttpGet
  timers?: Timers
  random?: () => number
}

const NODE_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => { clearTimeout(h as NodeJS.Timeout) }
}

const ERROR_CODES: Record<string, ErrorCode> = {
  FLAG_NOT_FOUND: ErrorCode.FLAG_NOT_FOUND,
  TARGETING_KEY_MISSING: ErrorCode.TARGETING_KEY_MISSING,
  INVALID_CONTEXT: ErrorCode.INVALID_CONTEXT,
  PARSE_ERROR: ErrorCode.PARSE_ERROR,
  TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
  GENERAL: ErrorCode.GENERAL
}

export class SwitchyardProvider implements Provider {
  readonly metadata = { name: 'switchyard' } as const
  readonly runsOn = 'server'
  readonly events = new OpenFeatureEventEmitter()
  readonly hooks = []

  private readonly opts: Required<Pick<SwitchyardProviderOptions, 'mode' | 'stream' | 'pollIntervalMs' | 'refreshIntervalMs'>> & SwitchyardProviderOptions
  private readonly now: () => number
  private readonly timers: Timers
  private readonly random: () => number
  private readonly client: SyncClient
  private snapshot: Snapshot | undefined
  /** When the snapshot was last confirmed current (a 200 or a 304), and when a sync was last tried. */
  private syncedAt = Number.NEGATIVE_INFINITY
  private triedAt = Number.NEGATIVE_INFINITY
  private inflight: Promise<void> | undefined
  /** What was last announced: 'ok' (READY), 'stale' or 'error'. */
  private health: 'ok' | 'stale' | 'error' = 'ok'
  private closed = false
  private pollTimer: unknown
  private streamAbort: AbortController | undefined
  private streaming = false
  private failures = 0
  /** Refetches started (a benchmark and test figure). */
  refetches = 0

  constructor (options: SwitchyardProviderOptions) {
    this.opts = { mode: 'long-running', stream: true, pollIntervalMs: 10_000, refreshIntervalMs: 10_000, ...options }
    this.now = options.now ?? Date.now
    this.timers = options.timers ?? NODE_TIMERS
    this.random = options.random ?? Math.random
    this.client = createSyncClient({ baseUrl: options.baseUrl, apiKey: options.apiKey, get: options.get ?? httpGet, timers: this.timers, requestTimeoutMs: options.requestTimeoutMs ?? 5_000 })
  }

  /** The current snapshot's ETag and flag count (undefined before the first sync). */
  get state (): { etag: string; environment: string; flags: number; syncedAt: number } | undefined {
    const s = this.snapshot
    return s === undefined ? undefined : { etag: s.etag, environment: s.environment, flags: s.size, syncedAt: this.syncedAt }
  }

  async initialize (): Promise<void> {
    this.closed = false
    await this.sync(true)
    if (this.snapshot === undefined && this.opts.snapshotFile !== undefined) await this.loadFile(this.opts.snapshotFile)
    if (this.opts.mode === 'long-running') this.startBackground()
    if (this.snapshot === undefined) throw new Error(`Switchyard: no rules: ${this.lastProblem ?? 'the service did not answer'}`)
  }

  async onClose (): Promise<void> {
    this.closed = true
    this.streamAbort?.abort()
    if (this.pollTimer !== undefined) this.timers.clearTimeout(this.pollTimer)
    this.pollTimer = undefined
    await this.inflight
  }

  /** The engine's answer as POST /features/evaluate gives it (FLAG_NOT_FOUND when the flag has no config here). */
  evaluate (flagKey: string, context: EvaluationContext): EvaluationResult {
    const snap = this.snapshot
    return this.evaluateIn(snap, snap?.flag(flagKey), flagKey, context)
  }

  private evaluateIn (snap: Snapshot | undefined, def: FlagDefinition | undefined, flagKey: string, context: EvaluationContext): EvaluationResult {
    if (this.opts.mode === 'frozen') this.refreshIfOld()
    if (snap === undefined || def === undefined) {
      return { value: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', errorMessage: `Flag '${flagKey}' has no config in '${snap?.environment ?? '?'}'` }
    }
    return evaluate(def, context as Record<string, unknown>, { now: this.now(), prerequisite: snap.lookup })
  }

  resolveBooleanEvaluation (flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'boolean'))
  }

  resolveStringEvaluation (flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'string'))
  }

  resolveNumberEvaluation (flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'number'))
  }

  resolveObjectEvaluation<T extends JsonValue> (flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return Promise.resolve(this.resolve(flagKey, defaultValue, context, 'object'))
  }

  private resolve<T> (flagKey: string, defaultValue: T, context: EvaluationContext, type: 'boolean' | 'string' | 'number' | 'object'): ResolutionDetails<T> {
    const snap = this.snapshot
    const def = snap?.flag(flagKey)
    const r = this.evaluateIn(snap, def, flagKey, context)
    const flagMetadata: Record<string, string | number> = def === undefined ? {} : { environment: def.environment, version: def.version }
    if (r.ruleId !== undefined) flagMetadata.ruleId = r.ruleId
    if (r.reason === 'ERROR') {
      return { value: defaultValue, reason: 'ERROR', errorCode: ERROR_CODES[r.errorCode ?? 'GENERAL'] ?? ErrorCode.GENERAL, errorMessage: r.errorMessage, flagMetadata }
    }
    const actual = r.value === null ? 'null' : Array.isArray(r.value) ? 'object' : typeof r.value
    if (actual !== type) {
      return { value: defaultValue, reason: 'ERROR', errorCode: ErrorCode.TYPE_MISMATCH, errorMessage: `Flag '${flagKey}' is of type ${def?.type ?? actual}, not ${type}`, flagMetadata }
    }
    return { value: r.value as T, variant: r.variant, reason: r.reason, flagMetadata }
  }

  // --- syncing ---------------------------------------------------------------------------------

  private lastProblem: string | undefined

  /** Frozen mode: one refetch when the snapshot is older than the interval (and none is running). */
  private refreshIfOld (): void {
    const now = this.now()
    const every = this.opts.refreshIntervalMs
    if (this.inflight !== undefined || now - this.syncedAt < every || now - this.triedAt < every) return
    void this.sync(false)
  }

  /** One conditional fetch at a time; settles when it has been applied (never rejects). */
  private sync (initial: boolean): Promise<void> {
    if (this.inflight !== undefined) return this.inflight
    this.triedAt = this.now()
    this.refetches++
    this.inflight = this.client.fetchRules(this.snapshot?.etag).then((r) => { this.apply(r, initial) }).finally(() => { this.inflight = undefined })
    return this.inflight
  }

  private apply (r: SyncResult, initial: boolean): void {
    if (this.closed) return
    if (r.kind === 'unchanged' || r.kind === 'changed') {
      this.syncedAt = this.now()
      this.failures = 0
      this.lastProblem = undefined
      if (r.kind === 'changed') {
        let next: Snapshot
        try {
          next = Snapshot.read(r.text, r.etag, this.snapshot)
        } catch (err) {
          this.problem('error', `Switchyard sent rules this provider cannot read: ${(err as Error).message}`)
          return
        }
        this.install(next, initial)
        if (this.opts.snapshotFile !== undefined) void this.saveFile(this.opts.snapshotFile, next)
      }
      if (this.health !== 'ok' && !initial) {
        this.health = 'ok'
        this.events.emit(ProviderEvents.Ready, { message: 'Switchyard rules are current again' })
      }
      this.health = 'ok'
      return
    }
    this.failures++
    if (r.kind === 'refused') this.problem('error', `Switchyard refused the API key (${r.status}): ${r.detail}`)
    else this.problem('stale', `Switchyard is unreachable; serving the last rules received: ${r.detail}`)
  }

  private problem (health: 'stale' | 'error', message: string): void {
    this.lastProblem = message
    // Before the first snapshot, initialize's rejection is the signal (the SDK emits PROVIDER_ERROR).
    if (this.snapshot === undefined || this.health === health) return
    this.health = health
    if (health === 'stale') this.events.emit(ProviderEvents.Stale, { message })
    else this.events.emit(ProviderEvents.Error, { message })
  }

  private install (next: Snapshot, initial: boolean): void {
    const prev = this.snapshot
    this.snapshot = next
    if (prev === undefined || initial) return
    const changed = next.changedSince(prev)
    if (changed.length > 0) this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changed })
  }

  private async loadFile (file: string): Promise<void> {
    try {
      const text = await readFile(file, 'utf8')
      // Either what this provider saves ({"etag":…,"savedAt":…,"document":{…}}) or a document as
      // GET /sdk/v1/flags sends it. A hand-made file has no ETag: the first sync that works fetches
      // the rules in full.
      const saved = topLevelMembers(text)
      const at = saved.get('document')
      const etagAt = saved.get('etag')
      this.snapshot = at === undefined
        ? Snapshot.read(text, '')
        : Snapshot.read(text.slice(at[0], at[1]), etagAt === undefined ? '' : String(JSON.parse(text.slice(etagAt[0], etagAt[1]))))
      this.health = 'ok'
      this.syncedAt = Number.NEGATIVE_INFINITY
    } catch (err) {
      this.lastProblem = `${this.lastProblem ?? ''}; snapshot file ${file}: ${(err as Error).message}`
    }
  }

  private async saveFile (file: string, snapshot: Snapshot): Promise<void> {
    const tmp = `${file}.${process.pid}.tmp`
    try {
      // The document's text as received, not re-serialized (see snapshot.ts).
      await writeFile(tmp, `{"etag":${JSON.stringify(snapshot.etag)},"savedAt":${JSON.stringify(new Date(this.now()).toISOString())},"document":${snapshot.text}}`)
      await rename(tmp, file) // atomic: a reader never sees half a file
    } catch {} // a cache, not a duty: the next sync tries again
  }

  // --- long-running mode -------------------------------------------------------------------------

  private startBackground (): void {
    if (this.opts.stream) void this.runStream()
    // Without a first snapshot (or from a file) try again soon, then every poll period.
    this.schedulePoll(this.snapshot === undefined || this.syncedAt === Number.NEGATIVE_INFINITY ? 0 : undefined)
  }

  /** Poll unless the stream is up; after failures back off (1 s, 2 s, … up to the period). */
  private schedulePoll (delayMs?: number): void {
    if (this.closed) return
    const period = this.opts.pollIntervalMs
    const wait = delayMs ?? (this.failures > 0 ? Math.min(period, 1_000 * 2 ** (this.failures - 1)) : period * (0.9 + 0.2 * this.random()))
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = undefined
      const run = this.streaming ? Promise.resolve() : this.sync(false)
      void run.then(() => { this.schedulePoll() })
    }, wait)
    ;(this.pollTimer as { unref?: () => void }).unref?.()
  }

  private async runStream (): Promise<void> {
    let attempt = 0
    while (!this.closed) {
      this.streamAbort = new AbortController()
      const ended = await this.client.stream(this.streamAbort.signal, (m) => {
        this.streaming = true
        attempt = 0
        if (m.type === 'error') void this.sync(false) // revoked: the sync says so (PROVIDER_ERROR)
        else if (typeof m.etag === 'string' && m.etag !== this.snapshot?.etag) void this.sync(false)
      })
      this.streaming = false
      if (this.closed) return
      if (ended.end === 'absent') return // polling alone, as on Lambda
      if (ended.end === 'refused') void this.sync(false)
      // Reconnect with backoff; polling covers the gap (schedulePoll skips only while streaming).
      attempt++
      await new Promise<void>((resolve) => {
        const h = this.timers.setTimeout(resolve, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + this.random()))
        ;(h as { unref?: () => void }).unref?.()
      })
    }
  }
}
