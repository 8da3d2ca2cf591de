// The evaluation fast lane: a node:http request listener in front of the Fastify app of a
// long-running server (`npm run dev`, `npm start`, a container). Lambda never uses it: there,
// @fastify/aws-lambda hands every event to the app.
//
// Why: an evaluation answered from the caches is a few µs of work, and most of its CPU goes to
// the HTTP layer and Fastify's request lifecycle and hooks (docs/PERFORMANCE.md §2). The
// fast lane answers the hot path — an API key, a cached flag (or cached bulk answer), a valid
// JSON body — with the same code the routes use (the app's compiled body validators and response
// serializers, the API-key verifier's cache, the evaluator's caches, the same rate-limit budget),
// and writes the same status, headers and body the route would (test/evaluation/fast-lane.test.ts
// compares the two over HTTP: only the Date header, the seconds left in a rate-limit window and
// a problem document's request id may differ).
//
// Credentials: an API key found valid in the key cache, or — on `POST /features/evaluate`, where
// the body names the environment — a user's JWT that verifies (@fastify/jwt's own verifier and
// its cache of verified tokens, the claims checked as `authenticate` checks them).
//
// A request for a flag whose definition is being read at that moment (an entry that expired while
// its refresh ran, a miss another request is filling) waits for that read, then tries once more.
//
// It only answers what it can answer completely. Anything else — an unknown or revoked key, a JWT
// that does not verify or one on an OFREP route (its environment comes from X-Environment, which
// the route checks), a cache miss with no read in flight, invalid JSON or a validation error, a
// missing flag, an OFREP error result, the rate limit reached, load shedding, a query string, an
// X-Environment header, an unusual header, request logging enabled (LOG_LEVEL info or more
// verbose) — goes to Fastify untouched: before its body is read when the head decides it (no
// usable credential, wrong route, headers), else with the body already read replayed by
// `replayPreReadBody` (src/pre-read-body.ts, the evaluation routes' preParsing hook).
// So every error answer, and every read of the store, still comes from the routes (or from the
// caches' own refreshes): the fast lane never reads the store itself.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import sjson from 'secure-json-parse'
import fastJsonStringify, { type Schema } from 'fast-json-stringify'
import { FLAG_NAME_PATTERN, type EvaluationContext } from './domain/model.js'
import { contextKey } from './evaluation/evaluator.js'
import { attachPreReadBody } from './pre-read-body.js'
import { SECURITY_HEADERS } from '../plugins/security-headers.js'
import { CORS_EXPOSED_HEADERS, corsOrigin } from './core.js'
import { presentedCredential, userPrincipal, type Principal, type TokenPayload } from '../plugins/auth.js'
import { evaluationRateKey } from '../plugins/evaluator.js'
import { isEnabled } from '../routes/evaluate.js'
import { ifNoneMatchMatches, toOfrep } from '../routes/ofrep.js'
import { EvaluateBody, EvaluationResponse } from './schemas/evaluate.js'
import { OfrepEvaluationRequest, OfrepEvaluationSuccess } from './schemas/ofrep.js'

/** How long, and for how many tokens, the fast lane keeps a verified JWT's principal. */
const TOKEN_CACHE_MS = 10_000
const TOKEN_CACHE_MAX = 10_000

/**
 * A user's principal by JWT, as `authenticate` finds it: `verify` (@fastify/jwt's) and the claims
 * check. A token that verified is kept with its principal for 10 s, never past its `exp`.
 * @fastify/jwt caches verifications too, but each of its hits still decodes the token's header,
 * hashes the whole token (SHA-256) and re-checks the claims. The outcome is the same: on evaluation
 * routes a token is valid until it expires (DESIGN-NOTES.md). undefined: not a valid user token.
 */
export function verifiedTokenCache (verify: (token: string) => Partial<TokenPayload> & { exp?: number }, now: () => number): (token: string) => Principal | undefined {
  const known = new Map<string, { principal: Principal; until: number }>()
  return function tokenPrincipal (token) {
    const at = now()
    const hit = known.get(token)
    if (hit !== undefined && hit.until > at) return hit.principal
    let payload
    try {
      payload = verify(token)
    } catch {
      known.delete(token)
      return undefined
    }
    const principal = userPrincipal(payload)
    if (principal === undefined) return undefined
    if (known.size >= TOKEN_CACHE_MAX) known.clear()
    const expires = typeof payload.exp === 'number' ? payload.exp * 1000 : at
    known.set(token, { principal, until: Math.min(at + TOKEN_CACHE_MS, expires) })
    return principal
  }
}

/** Bodies larger than this are not read by the fast lane (evaluation contexts are small). */
export const FAST_LANE_MAX_BODY = 16 * 1024

const EVALUATE = '/features/evaluate'
const BULK = '/ofrep/v1/evaluate/flags'
const SINGLE_PREFIX = BULK + '/'
const FLAG_RE = new RegExp(FLAG_NAME_PATTERN)
const JSON_TYPE = 'application/json; charset=utf-8'

type Listener = (req: IncomingMessage, res: ServerResponse) => void

const ignore = (): void => {}

/** Response headers as `writeHead` takes them flat: name, value, name, value, … */
type Headers = string[]

interface Answer { status: number; headers: Headers; body?: string }

/** The headers every answer starts with, in the order the app's hooks set them. */
const STATIC_HEADERS: readonly string[] = [...Object.entries(SECURITY_HEADERS).flat(), 'vary', 'Origin']

export interface FastLane {
  /** The request listener: the fast lane first, `fallback` (Fastify's listener) for the rest. */
  listener(fallback: Listener): Listener
  /**
   * Requests answered by the fast lane, requests it read and handed to Fastify, and requests that
   * waited for their flag's read in flight (then answered or handed over), the bursts the
   * answers were written in (one per event-loop turn that had answers), and requests whose body
   * was still arriving at the end of their turn (read as it came).
   */
  stats(): { answered: number; handedOver: number; waited: number; bursts: number; streamed: number }
}

/** Build the fast lane of a ready app (it needs the app's decorators and compilers). */
export function createFastLane (app: FastifyInstance): FastLane {
  const compileValidator = app.validatorCompiler
  if (compileValidator === undefined) throw new Error('createFastLane needs a ready app')
  const validator = (url: string, schema: object) => compileValidator({ schema, method: 'POST', url, httpPart: 'body' })
  // As Fastify's default serializer compiler builds a route's response serializer.
  const serializer = (schema: object) => fastJsonStringify(schema as Schema, { schema: app.getSchemas() as Record<string, Schema> })
  const validEvaluate = validator(EVALUATE, EvaluateBody)
  const validOfrep = validator(BULK, OfrepEvaluationRequest)
  const serializeEvaluation = serializer(EvaluationResponse)
  const serializeOfrep = serializer(OfrepEvaluationSuccess)
  const origins = corsOrigin(app.config.CORS_ORIGINS)
  const verifier = app.apiKeyVerifier
  const tokenPrincipal = verifiedTokenCache((token) => app.jwt.verify<TokenPayload & { exp?: number }>(token), app.clock)
  const isUnderPressure = (app as FastifyInstance & { isUnderPressure?: () => boolean }).isUnderPressure
  const log = app.log as FastifyInstance['log'] & { isLevelEnabled?: (level: string) => boolean }
  const logsRequests = () => log.isLevelEnabled?.('info') ?? true
  let answered = 0
  let handedOver = 0
  let waited = 0
  let bursts = 0
  let streamed = 0

  /**
   * The headers every answer carries, as the app's hooks set them (security, CORS, rate limit),
   * after counting the request against its credential's budget. A refused `hit` counts nothing,
   * so a request over the limit goes to the route, which counts it the same way and answers 429.
   */
  function baseHeaders (req: IncomingMessage, principal: Principal): Headers | undefined {
    const state = app.evaluationLimiter.hit(evaluationRateKey(principal))
    if (!state.allowed) return undefined
    const headers = STATIC_HEADERS.slice()
    const origin = req.headers.origin
    if (origin !== undefined && origin !== '' && (origins === true || origins.includes(origin))) headers.push('access-control-allow-origin', origin)
    // rateLimitHeaders' names and values (an allowed state has no retry-after), pushed directly.
    headers.push('access-control-expose-headers', CORS_EXPOSED_HEADERS,
      'x-ratelimit-limit', String(state.limit), 'x-ratelimit-remaining', String(state.remaining), 'x-ratelimit-reset', String(state.resetSeconds))
    return headers
  }

  /** The request's principal as `authenticate` would find it, from caches and the JWT alone. */
  function credential (req: IncomingMessage): Principal | undefined {
    const presented = presentedCredential(req.headers)
    if (presented === undefined) return undefined
    if (presented.kind === 'apiKey') return verifier?.verifyCached(presented.secret) ?? undefined
    if (req.url !== EVALUATE) return undefined
    return tokenPrincipal(presented.token) // undefined: the route answers the 401
  }

  function parse (raw: Buffer): unknown {
    try {
      const text = raw.toString('utf8')
      // secure-json-parse (Fastify's JSON parser) returns JSON.parse's result unchanged unless
      // its patterns find a "__proto__" or "constructor" key, spelled plainly or \u-escaped, or
      // the text starts with a BOM. A text with no backslash, neither word and no BOM has none of
      // those, so JSON.parse alone gives the same result without the library's two regex scans.
      if (text.indexOf('\\') === -1 && !text.includes('__proto__') && !text.includes('constructor') && text.charCodeAt(0) !== 0xFEFF) return JSON.parse(text)
      // Fastify's own parser, with its settings (prototype poisoning is an error).
      return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
    } catch {
      return undefined
    }
  }

  /**
   * A flag whose definition is being read right now (a miss being filled, or a refresh that did
   * not finish before its entry expired): wait for that read here, then try once more, instead of
   * handing the request to the route, which would queue on the same read at several times the CPU.
   */
  function afterLoad (flag: string, env: string, req: IncomingMessage, principal: Principal, raw: Buffer): Promise<Answer | undefined> | undefined {
    const loaded = app.evaluator.whenLoaded(flag, env)
    if (loaded === undefined) return undefined
    waited++
    return loaded.then(() => answer(req, principal, raw, false) as Answer | undefined)
  }

  function answer (req: IncomingMessage, principal: Principal, raw: Buffer, mayWait = true): Answer | Promise<Answer | undefined> | undefined {
    const body = parse(raw)
    if (body === undefined || body === null) return undefined
    const url = req.url as string
    if (url === EVALUATE) {
      if (!validEvaluate(body)) return undefined
      const { feature, environment, context } = body as { feature: string; environment: string; context?: EvaluationContext }
      if (principal.kind === 'apiKey' && environment !== principal.environment) return undefined // the route's 403
      const evaluated = app.evaluator.evaluateCached(feature, environment, context ?? {})
      if (evaluated === undefined) return mayWait ? afterLoad(feature, environment, req, principal, raw) : undefined
      const headers = baseHeaders(req, principal)
      if (headers === undefined) return undefined
      const out = { feature, environment, enabled: isEnabled(evaluated.definition.type, evaluated.result), ...evaluated.result }
      headers.push('content-type', JSON_TYPE)
      return { status: 200, headers, body: serializeEvaluation(out) }
    }
    if (principal.kind !== 'apiKey' || !validOfrep(body)) return undefined
    const context = (body as { context?: EvaluationContext }).context ?? {}
    const env = principal.environment
    if (url === BULK) {
      const cached = app.evaluator.peekBulk(env, contextKey(context))
      if (cached === undefined) return undefined
      const headers = baseHeaders(req, principal)
      if (headers === undefined) return undefined
      headers.push('etag', cached.etag)
      if (ifNoneMatchMatches(req.headers['if-none-match'], cached.etag)) return { status: 304, headers }
      headers.push('content-type', JSON_TYPE)
      return { status: 200, headers, body: cached.body }
    }
    const key = url.slice(SINGLE_PREFIX.length)
    if (!FLAG_RE.test(key)) return undefined
    const evaluated = app.evaluator.evaluateCached(key, env, context)
    if (evaluated === undefined) return mayWait ? afterLoad(key, env, req, principal, raw) : undefined
    const out = toOfrep(key, evaluated.definition, evaluated.result)
    if ('errorCode' in out) return undefined // OFREP's 400 shape comes from the route
    const headers = baseHeaders(req, principal)
    if (headers === undefined) return undefined
    headers.push('content-type', JSON_TYPE)
    return { status: 200, headers, body: serializeOfrep(out) }
  }

  /** Whether the request is one the fast lane may answer, judged on its head alone. */
  function eligible (req: IncomingMessage): boolean {
    if (req.method !== 'POST') return false
    const url = req.url
    if (url !== EVALUATE && url !== BULK && url?.startsWith(SINGLE_PREFIX) !== true) return false
    const h = req.headers
    const length = Number(h['content-length'])
    if (!(length > 0 && length <= FAST_LANE_MAX_BODY) || h['transfer-encoding'] !== undefined) return false
    const type = h['content-type']
    if (type !== 'application/json' && type?.toLowerCase().startsWith('application/json;') !== true) return false
    if (h['x-environment'] !== undefined || h['content-encoding'] !== undefined) return false
    // Fastify logs every request at info; the fast lane writes no log lines, so it steps aside.
    if (logsRequests()) return false
    return isUnderPressure?.() !== true
  }

  /** Answer a request whose body has been read (now, or after its flag's read), or hand it over. */
  function respond (req: IncomingMessage, res: ServerResponse, principal: Principal, raw: Buffer, fallback: Listener): void {
    let a: Answer | Promise<Answer | undefined> | undefined
    try {
      a = answer(req, principal, raw)
    } catch {
      a = undefined // whatever went wrong, the route decides (and logs) it
    }
    // After a wait, nothing may escape as an unhandled rejection (it would end the process):
    // a response that cannot be written is dropped with its socket.
    if (a instanceof Promise) a.then((x) => { finish(req, res, raw, x, fallback) }, () => { finish(req, res, raw, undefined, fallback) }).catch(() => { res.destroy() })
    else finish(req, res, raw, a, fallback)
  }

  /** Write the answer (with the turn's others), or hand the request (its body already read) to Fastify. */
  function finish (req: IncomingMessage, res: ServerResponse, raw: Buffer, a: Answer | undefined, fallback: Listener): void {
    if (a === undefined) {
      handedOver++
      attachPreReadBody(req, raw)
      return fallback(req, res)
    }
    answered++
    if (a.body !== undefined) a.headers.push('content-length', String(Buffer.byteLength(a.body)))
    pending.push(res, a)
    if (pending.length === 2 && !draining) setImmediate(flush)
  }

  /**
   * Answers wait for the end of the event loop's poll phase and go out together: every request
   * read in one turn is answered in one burst of writes, not one write between each request's
   * work. Measured with `npm run bench` (docs/PERFORMANCE.md §2.1): the service's CPU per
   * request fell by 40-50 %, most of it time in the kernel's `writev`. Our reading of the
   * profiles: a loopback send that wakes a waiting client costs far more than one to a client
   * already awake, and the client's next requests then arrive together and are read in one turn.
   * An answer waits at most for the rest of its turn's work; alone in its turn, it goes out at
   * once after it. A response that fails to write is destroyed without holding up the others.
   */
  let pending: Array<ServerResponse | Answer> = []
  /** True while `drain` answers a turn's requests: it writes them itself when done. */
  let draining = false
  function flush (): void {
    if (pending.length === 0) return
    const batch = pending
    pending = []
    bursts++
    for (let i = 0; i < batch.length; i += 2) {
      const res = batch[i] as ServerResponse
      const a = batch[i + 1] as Answer
      try {
        res.writeHead(a.status, a.headers)
        res.end(a.body)
      } catch {
        res.destroy()
      }
    }
  }

  /**
   * A body that had not fully arrived when its turn ended, read as it comes. No listener is
   * removed afterwards: no 'data' follows 'end' or 'error', and removing them measured 2 % of the
   * fast lane's CPU.
   */
  function readBody (req: IncomingMessage, res: ServerResponse, principal: Principal, limit: number, fallback: Listener): void {
    streamed++
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => { size += chunk.length; chunks.push(chunk) })
    // A client gone mid-body: nothing to answer; the socket is already being torn down.
    req.once('error', ignore)
    req.once('end', () => {
      const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)
      if (size === limit) respond(req, res, principal, raw, fallback)
      else finish(req, res, raw, undefined, fallback)
    })
  }

  return {
    // No named function is created per request: under tsx (npm run dev) each one costs a
    // `__name` call (esbuild's keepNames), measured at 3 % of the fast lane's CPU.
    listener (fallback: Listener): Listener {
      /**
       * Requests accepted on their head this turn: req, res, principal, … Node's HTTP parser
       * emits a request at the end of its head, then pushes the body it read in the same chunk
       * (for a small request from a client that writes it at once: all of it). At the end of the
       * poll phase `drain` takes each whole body with one `read()`, instead of a 'data' and an
       * 'end' listener per request and the stream ticks they cost (measured with `npm run bench`:
       * docs/PERFORMANCE.md, *What was optimised*, item 21); a body still incomplete then is read as it comes.
       */
      let heads: Array<IncomingMessage | ServerResponse | Principal> = []
      function drain (): void {
        const batch = heads
        heads = []
        draining = true
        try {
          for (let i = 0; i < batch.length; i += 3) {
            const req = batch[i] as IncomingMessage
            const res = batch[i + 1] as ServerResponse
            const principal = batch[i + 2] as Principal
            try {
              const limit = Number(req.headers['content-length'])
              if (req.complete && req.readableLength === limit) respond(req, res, principal, req.read() as Buffer, fallback)
              else readBody(req, res, principal, limit, fallback)
            } catch (err) {
              // Not expected (answer() errors are the route's to report): this request is lost
              // with its socket, the turn's others are still answered.
              app.log.error({ err }, 'fast lane: request dropped')
              res.destroy()
            }
          }
        } finally {
          draining = false
          flush()
        }
      }
      return function fastLane (req: IncomingMessage, res: ServerResponse) {
        // Judged on the head: a request without a usable credential (an API key not in the cache,
        // say) goes to Fastify before its body is read, so it pays nothing for the fast lane.
        const principal = eligible(req) ? credential(req) : undefined
        if (principal === undefined) return fallback(req, res)
        heads.push(req, res, principal)
        if (heads.length === 3) setImmediate(drain)
      }
    },
    stats: () => ({ answered, handedOver, waited, bursts, streamed })
  }
}
