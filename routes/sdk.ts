// In-process evaluation support (DESIGN.md §8, docs/OPENFEATURE.md): GET /sdk/v1/flags sends a
// server API key's environment rules in the sync format, GET /sdk/v1/stream (long-running
// server only: an HTTP API on Lambda cannot hold a response open) announces each committed change.
// Only a `server` API key gets the rules: client keys, user tokens and keys of other
// environments are refused (401/403 problem+json) — the rules name users and attributes a
// browser must not see.
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import type { OutgoingHttpHeaders } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { forbidden, notAcceptable, tooManyRequests, unauthorized } from '../src/domain/errors.js'
import { problems } from '../src/schemas/common.js'
import { EventStreamSchema, NotModified, SyncDocumentSchema, SyncQuery } from '../src/schemas/sdk.js'
import { chooseEncoding, createSnapshotService, type Current } from '../src/sync/snapshots.js'
import { ifNoneMatchMatches } from '../src/if-match.js'
import { createChangeFeed, type ChangeEvent } from '../src/sync/change-feed.js'
import { presentedCredential } from '../plugins/auth.js'
import { envOfRevisionKey } from '../src/repositories/keys.js'

export interface SdkRoutesOptions {
  /** Serve GET /stream (the long-running server; not the Lambda surfaces). Default false. */
  stream?: boolean
  /** See src/sync/snapshots.ts (default 5 s). */
  settleMs?: number
  /** How often watched environments are re-checked for other processes' changes (default 1 s). */
  pollMs?: number
  /** Heartbeat period of open streams (default 15 s); each heartbeat also re-verifies the key. */
  heartbeatMs?: number
  /**
   * The largest document sent uncompressed, in bytes once escaped into a JSON string (escapedSize:
   * how Lambda counts it); larger ones only to clients that accept br or gzip (406 otherwise).
   * Default: no bound. EvaluateFunction sets LAMBDA_UNCOMPRESSED_LIMIT.
   */
  maxUncompressedBytes?: number
}

/**
 * Lambda's response payload is at most 6 291 556 bytes, counted after the body is escaped into
 * the JSON of the response: a realistic sync document grows ~19 %, one dense in quotes (long
 * segment lists of short ids) up to ~50 %, so the bound is on the escaped size. Past the payload
 * limit the runtime fails the invocation and API Gateway answers a bare 500 (docs/DEPLOY.md); the
 * ~290 kB left are for the rest of the response document (status, headers).
 */
export const LAMBDA_UNCOMPRESSED_LIMIT = 6_000_000

/** The size of a JSON body escaped into a JSON string, as in a Lambda response: `"` and `\` take two bytes. */
export function escapedSize (json: Buffer): number {
  let n = json.length
  for (let i = 0; i < json.length; i++) {
    const b = json[i]
    if (b === 0x22 || b === 0x5c) n++
  }
  return n
}

/** Unsent stream bytes past which a client is taken as no longer reading. */
const MAX_UNSENT_BYTES = 256 * 1024

const SECURITY: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearerAuth: [] }]

/** onRequest, after authenticate: a non-revoked `server` key of the environment asked for. */
function requireServerKey (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const p = request.user
  if (p === undefined || p === null) return done(unauthorized())
  if (p.kind !== 'apiKey') return done(forbidden('The rules are only sent to server API keys; a user token evaluates through /features/evaluate or OFREP'))
  if (p.keyKind !== 'server') return done(forbidden('This is a client API key: it may evaluate flags but not download their rules. Create an API key with kind "server" for in-process evaluation'))
  const asked = (request.query as { environment?: string } | undefined)?.environment
  if (asked !== undefined && asked !== p.environment) return done(forbidden(`This API key is for '${p.environment}', not '${asked}'`))
  done()
}

function environmentOf (request: FastifyRequest): string {
  const p = request.user
  if (p.kind !== 'apiKey') throw forbidden()
  return p.environment
}

function sse (data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`
}

export default async function sdkRoutes (app: FastifyInstance, opts: SdkRoutesOptions) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const snapshots = createSnapshotService({
    doc: fastify.store.doc, tableName: fastify.store.tableName, source: fastify.definitions, now: fastify.clock, settleMs: opts.settleMs
  })

  fastify.store.onCommitted(function forgetRevisions ({ keys }) {
    for (const k of keys) {
      const env = envOfRevisionKey(k)
      if (env !== undefined) snapshots.forget(env)
    }
  })

  fastify.get('/flags', {
    onRequest: [fastify.authenticate, requireServerKey, fastify.evaluationRateLimit],
    // Every provider polls it (or revalidates after each stream event): a per-minute summary at
    // `info` instead of two log lines per request, like the evaluation routes (src/access-log.ts).
    config: { accessLog: 'summary' },
    schema: {
      tags: ['sdk'],
      summary: 'The rules of the API key\'s environment, for in-process evaluation (server API keys only; ETag, 304, gzip/br)',
      security: SECURITY,
      querystring: SyncQuery,
      response: { 200: SyncDocumentSchema, 304: NotModified, ...problems(400, 401, 403, 406, 429, 503) }
    }
  }, function syncFlags (request, reply) {
    const env = environmentOf(request)
    // Not async: a revision kept in memory answers the check (most often a 304) in this same turn,
    // without the promise turns an await costs on the busiest request of the endpoint.
    const kept = snapshots.keptRevision(env)
    if (kept !== undefined) return answer(request, reply, env, kept)
    return snapshots.revision(env).then((current) => answer(request, reply, env, current))
  })

  /** 304 at once, or the document (a promise): the handler's answer either way. */
  function answer (request: FastifyRequest, reply: FastifyReply, env: string, current: Current): undefined | Promise<void> {
    // Vary adds to what the headers hook set (Origin: CORS reflects it), never replaces it.
    const vary = reply.getHeader('vary')
    reply.header('vary', vary === undefined ? 'accept-encoding' : `${String(vary)}, accept-encoding`)
    if (ifNoneMatchMatches(request.headers['if-none-match'], current.etag)) {
      cacheable(reply, current)
      reply.notModified()
      return undefined
    }
    return sendDocument(request, reply, env, current)
  }

  /**
   * The validators of an answer that is the document (200) or stands for it (304); never of an
   * error answer, which keeps the API's no-store: a private cache would store a 406 or 503 sent
   * with an ETag and `private`, and serve it again on the next 304.
   * Private: the body is for this credential; no-cache: a cache must revalidate (304 is cheap).
   */
  function cacheable (reply: FastifyReply, current: Current): void {
    reply.header('etag', current.etag).header('cache-control', 'private, no-cache')
  }

  async function sendDocument (request: FastifyRequest, reply: FastifyReply, env: string, current: Current): Promise<void> {
    const doc = await snapshots.render(env, current)
    const encoding = chooseEncoding(request.headers['accept-encoding'])
    const max = opts.maxUncompressedBytes
    // Escaping at most doubles the size: below half the bound nothing needs counting.
    if (encoding === 'identity' && max !== undefined && doc.json.length * 2 > max) {
      const escaped = escapedSize(doc.json)
      if (escaped > max) throw notAcceptable(`These rules are ${doc.json.length} bytes of JSON, ${escaped} once escaped into the response, more than this deployment sends uncompressed (${max}): ask for them with Accept-Encoding: br or gzip (the Switchyard provider and every fetch do)`)
    }
    const body = await doc.encoded(encoding)
    cacheable(reply, current)
    if (encoding !== 'identity') reply.header('content-encoding', encoding)
    // The rendered bytes as they are (a Buffer is never re-serialized).
    await reply.type('application/json; charset=utf-8').send(body)
  }

  if (opts.stream !== true) return

  const feed = createChangeFeed({
    revision: async (env) => await snapshots.revision(env, { fresh: true }),
    onCommit: (listener) => { fastify.store.onCommitted(({ keys }) => { listener(keys) }) },
    pollMs: opts.pollMs,
    heartbeatMs: opts.heartbeatMs,
    onError: (err, env) => { fastify.log.warn({ err, env }, 'sdk change feed: revision check failed') }
  })
  const open = new Set<() => void>()
  // Open streams per API key: a fleet shares one server key, so the bound is generous; it keeps a
  // leaked key from taking every connection the server allows (HTTP_MAX_CONNECTIONS).
  const streamsOf = new Map<string, number>()
  const maxPerKey = fastify.config.SDK_STREAMS_PER_KEY
  // Streams never hold the drain: they end (cleanly, after a last message) before the server
  // waits for its connections to finish.
  fastify.addHook('preClose', function endStreams (done) {
    for (const end of [...open]) end()
    feed.close()
    done()
  })

  fastify.get('/stream', {
    // A HEAD would take a stream place with an answer that never ends (and never flushes its
    // headers): no HEAD route.
    exposeHeadRoute: false,
    onRequest: [fastify.authenticate, requireServerKey, fastify.evaluationRateLimit],
    schema: {
      tags: ['sdk'],
      summary: 'Server-sent events: one message per committed change of the API key\'s environment, with the new ETag (long-running server only)',
      security: SECURITY,
      querystring: SyncQuery,
      response: { 200: EventStreamSchema, ...problems(400, 401, 403, 429) }
    }
  }, async function syncStream (request, reply) {
    const env = environmentOf(request)
    const credential = presentedCredential(request.headers)
    const current = await snapshots.revision(env)
    const keyId = (request.user as { keyId: string }).keyId
    const held = streamsOf.get(keyId) ?? 0
    if (held >= maxPerKey) throw tooManyRequests(`This API key already has ${held} open change streams on this server (SDK_STREAMS_PER_KEY); close one, or let the provider poll (it does so by itself)`, 60)
    streamsOf.set(keyId, held + 1)
    reply.hijack()
    const res = reply.raw
    // A stream is idle between messages by design: no socket timeout may cut it.
    request.raw.socket.setTimeout(0)
    res.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no'
    })
    res.write(`retry: 2000\n\n${sse({ type: 'hello', etag: current.etag, revision: current.rev.revision })}`)

    let ended = false
    function end (last?: unknown): void {
      if (ended) return
      ended = true
      open.delete(shutdown)
      const left = (streamsOf.get(keyId) ?? 1) - 1
      if (left === 0) streamsOf.delete(keyId)
      else streamsOf.set(keyId, left)
      unsubscribe()
      if (last !== undefined) res.write(sse(last))
      res.end()
    }
    // A client that stopped reading: its unsent messages would pile up in memory for as long as
    // the connection lasts; cut it instead (it reconnects and refetches when it reads again).
    function send (text: string): void {
      if (res.writableLength > MAX_UNSENT_BYTES) res.destroy()
      else res.write(text)
    }
    const unsubscribe = feed.subscribe(env, { etag: current.etag, revision: current.rev.revision }, {
      change (e: ChangeEvent) {
        send(sse({ type: 'refetchEvaluation', etag: e.etag, lastModified: Math.floor(e.changedAt / 1000), revision: e.revision, flags: e.flags }, e.revision))
      },
      heartbeat (etag: string) {
        send(sse({ type: 'heartbeat', etag }))
        // A key revoked (anywhere) while its stream is open: the stream ends within a heartbeat
        // (plus the key cache's TTL); the reconnect is refused with 401.
        if (credential?.kind === 'apiKey') {
          void fastify.apiKeyVerifier?.verify(credential.secret).then((p) => { if (p === undefined) end({ type: 'error', status: 401, detail: 'API key revoked' }) }, () => {})
        }
      }
    })
    function shutdown (): void { end({ type: 'shutdown' }) }
    open.add(shutdown)
    res.on('close', () => { end() })
    if (res.destroyed) end() // the client left before we subscribed
  })
}
