// HTTP side of the provider: a conditional GET of the rules (If-None-Match) and the change stream
// (server-sent events) of GET /sdk/v1/*, over node:http(s). Not `fetch`: loading undici and
// reading a large body through its streams costs an idle process tens of MiB (measured in
// docs/PERFORMANCE.md §5); here the body is one buffer, decoded at once. No timers of its own:
// the request timeout goes through the caller's timer seam, so a frozen container has none left
// running once a request has settled, and no connection is kept alive between syncs (a frozen
// container would find it dead).
//
// The modules come from process.getBuiltinModule on first use, not from `import … from
// 'node:http'`: on Node 22 and 24 the ES module facade of node:http loads undici as well
// (measured: +17 MiB RSS on Node 24 against +9 MiB), the very thing this client avoids.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'

type Builtins = { 'node:http': typeof import('node:http'); 'node:https': typeof import('node:https'); 'node:zlib': typeof import('node:zlib') }

/** A built-in module; through `import()` on a Node without getBuiltinModule (before 20.16 and 22.3). */
async function builtin<K extends keyof Builtins> (name: K): Promise<Builtins[K]> {
  const get = (process as { getBuiltinModule?: (id: K) => Builtins[K] }).getBuiltinModule
  return get !== undefined ? get(name) : await import(name) as Builtins[K]
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export type SyncResult =
  | { kind: 'unchanged'; etag: string }
  /** `text`: the sync document as sent (decoded, not parsed: see snapshot.ts). */
  | { kind: 'changed'; etag: string; text: string }
  /** 401/403: the key is unknown, revoked, of the client kind or of another environment. Retrying does not help. */
  | { kind: 'refused'; status: number; detail: string }
  /** The service did not answer usefully (network, timeout, 5xx, 429): the snapshot may be stale. */
  | { kind: 'unavailable'; detail: string }

export interface HttpAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: IncomingMessage
}

/** One GET; rejects on a network error or when `signal` aborts. A seam: tests count requests with it. */
export type HttpGet = (url: string, headers: Record<string, string>, signal: AbortSignal) => Promise<HttpAnswer>

export const httpGet: HttpGet = async (url, headers, signal) => {
  const target = new URL(url)
  const send = target.protocol === 'https:' ? (await builtin('node:https')).request : (await builtin('node:http')).request
  return await new Promise((resolve, reject) => {
    // agent: false — a connection of its own, closed after the answer.
    const req = send(target, { headers, signal, agent: false }, (res) => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }) })
    req.once('error', reject)
    req.end()
  })
}

export interface SyncClientOptions {
  baseUrl: string
  apiKey: string
  get: HttpGet
  timers: Timers
  requestTimeoutMs: number
}

async function readAll (body: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The body as text, decoded by its Content-Encoding (synchronously: one buffer, no stream machinery). */
async function textOf (res: HttpAnswer): Promise<string> {
  const raw = await readAll(res.body)
  const encoding = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  const zlib = await builtin('node:zlib')
  const decoded = encoding === 'br' ? zlib.brotliDecompressSync(raw) : encoding === 'gzip' ? zlib.gunzipSync(raw) : encoding === 'deflate' ? zlib.inflateSync(raw) : raw
  return decoded.toString('utf8')
}

async function problemDetail (res: HttpAnswer): Promise<string> {
  try {
    const body = JSON.parse(await textOf(res)) as { detail?: unknown }
    return typeof body.detail === 'string' ? body.detail : `HTTP ${res.status}`
  } catch {
    return `HTTP ${res.status}`
  }
}

const header = (res: HttpAnswer, name: string): string | undefined => {
  const v = res.headers[name]
  return Array.isArray(v) ? v[0] : v
}

export function createSyncClient (opts: SyncClientOptions) {
  const base = opts.baseUrl.replace(/\/+$/, '')
  const auth = { 'x-api-key': opts.apiKey }

  return {
    async fetchRules (etag: string | undefined): Promise<SyncResult> {
      const abort = new AbortController()
      const timer = opts.timers.setTimeout(() => { abort.abort() }, opts.requestTimeoutMs)
      try {
        const res = await opts.get(`${base}/sdk/v1/flags`, { ...auth, accept: 'application/json', 'accept-encoding': 'br, gzip', ...(etag !== undefined ? { 'if-none-match': etag } : {}) }, abort.signal)
        if (res.status === 304) {
          res.body.resume()
          return { kind: 'unchanged', etag: header(res, 'etag') ?? etag ?? '' }
        }
        if (res.status === 401 || res.status === 403) return { kind: 'refused', status: res.status, detail: await problemDetail(res) }
        if (res.status < 200 || res.status > 299) return { kind: 'unavailable', detail: `GET /sdk/v1/flags: ${await problemDetail(res)}` }
        return { kind: 'changed', etag: header(res, 'etag') ?? '', text: await textOf(res) }
      } catch (err) {
        return { kind: 'unavailable', detail: `GET /sdk/v1/flags: ${abort.signal.aborted ? `no answer within ${opts.requestTimeoutMs} ms` : (err as Error).message}` }
      } finally {
        opts.timers.clearTimeout(timer)
      }
    },

    /**
     * Open the change stream and call `onMessage` with each message's JSON data until it ends.
     * Resolves how it ended: 'absent' (no stream here, e.g. on Lambda), 'refused' (401/403),
     * 'ended' (closed by the server or the network, or aborted).
     */
    async stream (signal: AbortSignal, onMessage: (data: Record<string, unknown>) => void): Promise<{ end: 'absent' | 'refused' | 'ended'; detail: string }> {
      let res: HttpAnswer
      try {
        res = await opts.get(`${base}/sdk/v1/stream`, { ...auth, accept: 'text/event-stream' }, signal)
      } catch (err) {
        return { end: 'ended', detail: (err as Error).message }
      }
      if (res.status === 404 || res.status === 405 || res.status === 501) {
        res.body.resume()
        return { end: 'absent', detail: `GET /sdk/v1/stream: HTTP ${res.status}` }
      }
      if (res.status === 401 || res.status === 403) return { end: 'refused', detail: await problemDetail(res) }
      if (res.status < 200 || res.status > 299) {
        res.body.resume()
        return { end: 'ended', detail: `GET /sdk/v1/stream: HTTP ${res.status}` }
      }
      res.body.setEncoding('utf8')
      let buffer = ''
      try {
        for await (const chunk of res.body) {
          buffer += (chunk as string).replace(/\r\n?/g, '\n')
          let cut: number
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut)
            buffer = buffer.slice(cut + 2)
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n')
            if (data === '') continue
            try {
              const parsed = JSON.parse(data) as unknown
              if (typeof parsed === 'object' && parsed !== null) onMessage(parsed as Record<string, unknown>)
            } catch {} // not ours: ignored, as SSE clients ignore what they do not understand
          }
        }
        return { end: 'ended', detail: 'stream closed by the server' }
      } catch (err) {
        return { end: 'ended', detail: (err as Error).message }
      } finally {
        res.body.destroy()
      }
    }
  }
}

export type SyncClient = ReturnType<typeof createSyncClient>
