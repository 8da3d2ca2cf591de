// The rules of an environment as GET /sdk/v1/flags sends them (src/sdk/format.ts), with a strong
// ETag taken from the environment revision item (src/repositories/env-revision.ts): answering
// "unchanged" costs one GetItem, whatever the size of the environment.
//
// Reading: the revision item first, then every definition page by page from GSI1 (never a
// Scan), then the flags the last change touched again with a strongly consistent read and merged
// in. Reading the revision first means the body is never older than the ETag it is sent with (it
// may be newer: the next check then answers 200 once more). GSI1 is eventually consistent on
// DynamoDB: a change older than the last one may not show in the index yet for a moment, so
// during `settleMs` after a change the ETag is provisional (`…-p`); it can never equal the settled
// one, so every holder re-reads once the index has caught up (the change feed announces it).
//
// The last rendering of each environment is kept (its JSON and, made on first demand, its gzip
// and brotli forms), so N instances syncing after a change cost one read of the environment.
import { promisify } from 'node:util'
import { brotliCompress, gzip, constants as zlib } from 'node:zlib'
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'
import type { FlagDefinition } from '../domain/model.js'
import { getEnvRevision, type EnvRevision } from '../repositories/env-revision.js'
import { SYNC_FORMAT_VERSION, toSyncDocument } from '../sdk/format.js'

const gzipAsync = promisify(gzip)
const brotliAsync = promisify(brotliCompress)

export interface SnapshotSource {
  listDefinitions(env: string, opts: { limit: number; cursor?: Record<string, unknown> }): Promise<{ items: FlagDefinition[]; cursor?: Record<string, unknown> }>
  getDefinitions(flags: string[], env: string, opts?: { consistent?: boolean }): Promise<Map<string, FlagDefinition>>
}

export interface SnapshotServiceOptions {
  doc: DynamoDBDocumentClient
  tableName: string
  source: SnapshotSource
  now: () => number
  /** How long after a change the ETag stays provisional (GSI1 lag on DynamoDB); default 5 s. */
  settleMs?: number
  /** GSI1 page size (DynamoDB also caps a page at 1 MB); default 1 000. */
  pageSize?: number
  /**
   * How long a revision read answers later checks of the same environment (default 1 s): a 304
   * then costs no read at all. Commits through this process drop it at once (`forget`); another
   * process's change is seen within this time.
   */
  revisionTtlMs?: number
}

export type Encoding = 'br' | 'gzip' | 'identity'

/** An environment's revision and the ETag it is sent with. */
export interface Current { rev: EnvRevision; etag: string }

export interface Rendered {
  etag: string
  revision: number
  flags: number
  json: Buffer
  encoded(encoding: Encoding): Promise<Buffer>
}

/** The strong ETag of an environment at a revision (provisional while the index may lag). */
export function syncEtag (env: string, rev: Pick<EnvRevision, 'revision' | 'changedAt'>, now: number, settleMs: number): string {
  const provisional = rev.changedAt > 0 && now - rev.changedAt < settleMs
  return `"${SYNC_FORMAT_VERSION}-${env}-${rev.revision}${provisional ? '-p' : ''}"`
}

/**
 * The encoding to answer with, from Accept-Encoding (q-values beyond 0 are not ranked: br, then
 * gzip). `*` is any coding the header does not refuse by name: `br;q=0, *` is gzip.
 */
export function chooseEncoding (header: string | undefined): Encoding {
  if (header === undefined) return 'identity'
  const accepted = new Set<string>()
  const refused = new Set<string>()
  for (const part of header.split(',')) {
    const [coding = '', q] = part.split(';')
    const name = coding.trim().toLowerCase()
    if (q !== undefined && /^q=0(\.0*)?$/.test(q.trim())) refused.add(name)
    else accepted.add(name)
  }
  const any = accepted.has('*')
  if (accepted.has('br') || (any && !refused.has('br'))) return 'br'
  if (accepted.has('gzip') || (any && !refused.has('gzip'))) return 'gzip'
  return 'identity'
}

export function createSnapshotService (opts: SnapshotServiceOptions) {
  const settleMs = opts.settleMs ?? 5_000
  const pageSize = opts.pageSize ?? 1_000
  const revisionTtlMs = opts.revisionTtlMs ?? 1_000
  const latest = new Map<string, Rendered>()
  const building = new Map<string, Promise<Rendered>>()
  // `current` is set when the read has returned and the ETag has settled: a check of this
  // environment is then answered synchronously, with the same object each time (the 304 path).
  const revisions = new Map<string, { rev: Promise<EnvRevision>; until: number; current?: Current }>()

  /** The environment's revision and ETag; `fresh` always reads (the change feed's checks). */
  async function revision (env: string, o: { fresh?: boolean } = {}): Promise<Current> {
    const now = opts.now()
    let kept = o.fresh === true ? undefined : revisions.get(env)
    if (kept === undefined || kept.until <= now) {
      const read = getEnvRevision(opts.doc, opts.tableName, env)
      const entry: { rev: Promise<EnvRevision>; until: number; current?: Current } = { rev: read, until: now + revisionTtlMs }
      kept = entry
      revisions.set(env, entry)
      read.then((rev) => {
        const t = opts.now()
        if (rev.changedAt === 0 || t - rev.changedAt >= settleMs) entry.current = { rev, etag: syncEtag(env, rev, t, settleMs) }
      }, () => { if (revisions.get(env) === entry) revisions.delete(env) })
    }
    const rev = await kept.rev
    return { rev, etag: syncEtag(env, rev, opts.now(), settleMs) }
  }

  /** The kept revision when it answers without waiting (read, settled, within its time); else undefined. */
  function keptRevision (env: string): Current | undefined {
    const kept = revisions.get(env)
    return kept !== undefined && kept.until > opts.now() ? kept.current : undefined
  }

  async function read (env: string, rev: EnvRevision): Promise<FlagDefinition[]> {
    const byName = new Map<string, FlagDefinition>()
    let cursor: Record<string, unknown> | undefined
    do {
      const page = await opts.source.listDefinitions(env, { limit: pageSize, cursor })
      for (const d of page.items) byName.set(d.flag, d)
      cursor = page.cursor
    } while (cursor !== undefined)
    if (rev.flags.length > 0) {
      const fresh = await opts.source.getDefinitions(rev.flags, env, { consistent: true })
      for (const flag of rev.flags) {
        const d = fresh.get(flag)
        if (d === undefined) byName.delete(flag)
        else byName.set(flag, d)
      }
    }
    return [...byName.values()].sort((a, b) => (a.flag < b.flag ? -1 : a.flag > b.flag ? 1 : 0))
  }

  function rendered (etag: string, revisionNo: number, defs: FlagDefinition[], env: string): Rendered {
    const json = Buffer.from(JSON.stringify(toSyncDocument(env, revisionNo, defs, new Date(opts.now()))), 'utf8')
    const forms = new Map<Encoding, Promise<Buffer>>()
    return {
      etag,
      revision: revisionNo,
      flags: defs.length,
      json,
      encoded (encoding: Encoding): Promise<Buffer> {
        if (encoding === 'identity') return Promise.resolve(json)
        let form = forms.get(encoding)
        if (form === undefined) {
          // Off the event loop (libuv's pool); brotli at quality 5 compresses JSON better than gzip 6 in similar time.
          form = encoding === 'br'
            ? brotliAsync(json, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: json.length } })
            : gzipAsync(json, { level: 6 })
          forms.set(encoding, form)
        }
        return form
      }
    }
  }

  return {
    revision,
    keptRevision,
    settleMs,

    /** A commit through this process changed the environment: the next check reads. */
    forget (env: string): void {
      revisions.delete(env)
    },

    /** The environment's document at `etag` (read when the kept one is older; one read at a time per ETag). */
    async render (env: string, current: Current): Promise<Rendered> {
      const kept = latest.get(env)
      if (kept?.etag === current.etag) return kept
      const key = `${env}\u0000${current.etag}`
      let pending = building.get(key)
      if (pending === undefined) {
        pending = read(env, current.rev).then((defs) => {
          const r = rendered(current.etag, current.rev.revision, defs, env)
          const now = latest.get(env)
          if (now === undefined || now.revision <= r.revision) latest.set(env, r)
          return r
        }).finally(() => building.delete(key))
        building.set(key, pending)
      }
      return await pending
    }
  }
}

export type SnapshotService = ReturnType<typeof createSnapshotService>
