// One delivery attempt over HTTP(S): the host is resolved and checked by the address guard, and
// the connection goes to that checked address (the `lookup` option pins it; TLS still verifies the
// certificate against the URL's host name). One deadline covers connect, TLS, request and
// response headers. Redirects are never followed (a 3xx is a failed attempt), the response body is
// not read beyond what is needed, and no connection is reused between endpoints.
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { parseWebhookUrl, resolveSafely, UnsafeUrl, type Resolver } from './address-guard.js'

export interface SendRequest {
  url: string
  headers: Record<string, string>
  body: string
}

export interface AttemptResult {
  ok: boolean
  /** The response status, when one was received. */
  statusCode?: number
  /** Why the attempt failed without a 2xx (timeout, refused, unsafe address, redirect, …). */
  error?: string
  latencyMs: number
}

export interface SenderOptions {
  timeoutMs: number
  allowPrivateNetworks: boolean
  resolve: Resolver
  userAgent?: string
}

export type Sender = (req: SendRequest) => Promise<AttemptResult>

export function createHttpSender (opts: SenderOptions): Sender {
  return async function send (req: SendRequest): Promise<AttemptResult> {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    // One deadline for everything: name resolution, connect, TLS, request, response headers.
    const deadline = new AbortController()
    const timer = setTimeout(() => deadline.abort(), opts.timeoutMs)
    const timedOut = new Promise<AttemptResult>((resolve) => {
      deadline.signal.addEventListener('abort', () => resolve({ ok: false, error: `timed out after ${opts.timeoutMs} ms`, latencyMs: elapsed() }), { once: true })
    })
    try {
      return await Promise.race([attemptOnce(req, deadline.signal), timedOut]).then((r) => ({ ...r, latencyMs: elapsed() }))
    } finally {
      clearTimeout(timer)
      deadline.abort()
    }
  }

  async function attemptOnce (req: SendRequest, signal: AbortSignal): Promise<Omit<AttemptResult, 'latencyMs'> & { latencyMs: number }> {
    let url: URL
    let pinned: { address: string; family: 4 | 6 }
    try {
      url = parseWebhookUrl(req.url, opts.allowPrivateNetworks)
      pinned = await resolveSafely(url, opts)
    } catch (err) {
      return { ok: false, error: err instanceof UnsafeUrl ? `refused: URL ${err.message}` : `refused: ${(err as Error).message}`, latencyMs: 0 }
    }
    const lookup: LookupFunction = (_host, options, callback) => {
      if ((options as { all?: boolean }).all === true) {
        (callback as unknown as (err: null, list: Array<{ address: string; family: number }>) => void)(null, [pinned])
      } else {
        callback(null, pinned.address, pinned.family)
      }
    }
    const body = Buffer.from(req.body, 'utf8')
    return await new Promise((resolve) => {
      const make = url.protocol === 'https:' ? httpsRequest : httpRequest
      const outgoing = make(url, {
        method: 'POST',
        lookup,
        agent: false,
        signal,
        headers: {
          ...req.headers,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': opts.userAgent ?? 'Switchyard-Webhooks/1'
        }
      }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0
        // The answer is the status; the body is discarded (never stored or logged).
        res.on('error', () => {})
        res.resume()
        if (status >= 200 && status < 300) resolve({ ok: true, statusCode: status, latencyMs: 0 })
        else if (status >= 300 && status < 400) resolve({ ok: false, statusCode: status, error: 'redirect not followed', latencyMs: 0 })
        else resolve({ ok: false, statusCode: status, error: `HTTP ${status}`, latencyMs: 0 })
        outgoing.destroy()
      })
      outgoing.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message, latencyMs: 0 }))
      outgoing.end(body)
    })
  }
}
