// HTTP side of the provider: a conditional GET of the rules (If-None-Match) and the change stream
// (server-sent events) of GET /sdk/v1/*, over the global `fetch`. No timers of its own: the
// request timeout goes through the caller's timer seam, so a frozen container has none left
// running once a request has settled.

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export type SyncResult =
  | { kind: 'unchanged'; etag: string }
  | { kind: 'changed'; etag: string; document: unknown }
  /** 401/403: the key is unknown, revoked, of the client kind or of another environment. Retrying does not help. */
  | { kind: 'refused'; status: number; detail: string }
  /** The service did not answer usefully (network, timeout, 5xx, 429): the snapshot may be stale. */
  | { kind: 'unavailable'; detail: string }

export interface SyncClientOptions {
  baseUrl: string
  apiKey: string
  fetch: typeof fetch
  timers: Timers
  requestTimeoutMs: number
}

async function problemDetail (res: Response): Promise<string> {
  try {
    const body = await res.json() as { detail?: unknown }
    return typeof body.detail === 'string' ? body.detail : `HTTP ${res.status}`
  } catch {
    return `HTTP ${res.status}`
  }
}

export function createSyncClient (opts: SyncClientOptions) {
  const base = opts.baseUrl.replace(/\/+$/, '')
  const auth = { 'x-api-key': opts.apiKey }

  return {
    async fetchRules (etag: string | undefined): Promise<SyncResult> {
      const abort = new AbortController()
      const timer = opts.timers.setTimeout(() => { abort.abort() }, opts.requestTimeoutMs)
      try {
        // fetch (undici) asks for and decodes gzip/br itself.
        const res = await opts.fetch(`${base}/sdk/v1/flags`, { headers: { ...auth, accept: 'application/json', ...(etag !== undefined ? { 'if-none-match': etag } : {}) }, signal: abort.signal })
        if (res.status === 304) {
          await res.body?.cancel()
          return { kind: 'unchanged', etag: res.headers.get('etag') ?? etag ?? '' }
        }
        if (res.status === 401 || res.status === 403) return { kind: 'refused', status: res.status, detail: await problemDetail(res) }
        if (!res.ok) return { kind: 'unavailable', detail: `GET /sdk/v1/flags: ${await problemDetail(res)}` }
        const document = await res.json()
        return { kind: 'changed', etag: res.headers.get('etag') ?? '', document }
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
      let res: Response
      try {
        res = await opts.fetch(`${base}/sdk/v1/stream`, { headers: { ...auth, accept: 'text/event-stream' }, signal })
      } catch (err) {
        return { end: 'ended', detail: (err as Error).message }
      }
      if (res.status === 404 || res.status === 405 || res.status === 501) {
        await res.body?.cancel()
        return { end: 'absent', detail: `GET /sdk/v1/stream: HTTP ${res.status}` }
      }
      if (res.status === 401 || res.status === 403) return { end: 'refused', detail: await problemDetail(res) }
      if (!res.ok || res.body === null) {
        await res.body?.cancel()
        return { end: 'ended', detail: `GET /sdk/v1/stream: HTTP ${res.status}` }
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ''
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return { end: 'ended', detail: 'stream closed by the server' }
          buffer += value.replace(/\r\n?/g, '\n')
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
      } catch (err) {
        return { end: 'ended', detail: (err as Error).message }
      } finally {
        reader.releaseLock()
      }
    }
  }
}

export type SyncClient = ReturnType<typeof createSyncClient>
