// Security headers on every response, each set computed once and set from one frozen object in one
// synchronous hook (per request: one reply.headers call, nothing rebuilt), with the request ids
// and CORS (src/cors.ts) in the same hook.
// - JSON API answers (the default, 404s and errors included): the OWASP REST Security Cheat
//   Sheet's set. An API answer is never a page, so it may not be framed, sniffed or cached.
// - Documents (the Swagger UI at /docs; the console registers its own set): the headers
//   @fastify/helmet sends with `{ contentSecurityPolicy: false }` (test/plugins/security-headers.test.ts
//   compares them), without the API's `Cache-Control: no-store` and CSP. A route (or an
//   encapsulated group of routes) takes another set by adding `fastify.securityHeaders(set)` as an
//   onRequest hook: it replaces the API set's headers for that response.
// Why not @fastify/helmet itself: it rebuilds the helmet middleware chain on every request (two
// hooks, an async closure and a dozen setHeader calls), more server CPU than a hello-world request
// on the evaluation path (docs/PERFORMANCE.md).
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { echoRequestIds } from '../src/request-id.js'
import { corsStep, type CorsPolicy } from '../src/cors.js'

export type HeaderSet = Readonly<Record<string, string>>

export const API_SECURITY_HEADERS: HeaderSet = Object.freeze({
  'cache-control': 'no-store',
  'content-security-policy': "frame-ancestors 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY'
})

export const DOCUMENT_SECURITY_HEADERS: HeaderSet = Object.freeze({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0'
})

type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void

declare module 'fastify' {
  interface FastifyInstance {
    /** An onRequest hook that answers with `set` instead of the API set (a document, a page with its own CSP). */
    securityHeaders: (set: HeaderSet) => OnRequest
    /**
     * The headers the hook sets (the API set, the request ids, CORS), for an answer no hook runs
     * for: Fastify answers a malformed URL itself, before routing (src/core.ts frameworkError).
     */
    fixedHeaders: (request: FastifyRequest, reply: FastifyReply) => void
  }
  interface FastifyReply {
    /** Answer 304 Not Modified, without the headers that only describe a body (BODY_ONLY_HEADERS). */
    notModified: () => FastifyReply
  }
}

/**
 * Headers of the API set that apply to a body (how to run, frame or sniff it). A 304 has no body:
 * it carries what a cache refreshes its stored answer with (RFC 9110 §15.4.5: ETag, Cache-Control,
 * Vary, Date…), and the stored answer keeps these from its 200.
 */
export const BODY_ONLY_HEADERS: readonly string[] = ['content-security-policy', 'x-content-type-options', 'x-frame-options']

/** An onRequest hook sending `set` in place of the API set: API-only headers `set` lacks are removed. */
export function securityHeadersHook (set: HeaderSet): OnRequest {
  const frozen = Object.freeze({ ...set })
  const drop = Object.keys(API_SECURITY_HEADERS).filter((h) => !(h in frozen))
  return function otherSecurityHeaders (_request, reply, done) {
    for (const h of drop) reply.removeHeader(h)
    reply.headers(frozen)
    done()
  }
}

export interface SecurityHeadersOptions {
  /** CORS (src/cors.ts), answered by the same hook; without it no CORS header is sent. */
  cors?: CorsPolicy
}

async function securityHeadersPlugin (fastify: FastifyInstance, opts: SecurityHeadersOptions) {
  // One hook for the headers every response carries: this set, the request ids
  // (src/request-id.ts) and CORS, which also answers preflights here, before authentication.
  const cors = opts.cors === undefined ? undefined : corsStep(opts.cors)
  fastify.addHook('onRequest', function securityHeaders (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    reply.headers(API_SECURITY_HEADERS)
    echoRequestIds(request, reply)
    if (cors !== undefined && cors(request, reply)) return
    done()
  })
  // Every OPTIONS request routes here, so the hook above answers it whatever the path.
  if (cors !== undefined) {
    fastify.options('*', { schema: { hide: true } }, function preflight (_request, reply) { reply.callNotFound() })
  }
  fastify.decorate('securityHeaders', securityHeadersHook)
  fastify.decorate('fixedHeaders', function fixedHeaders (request: FastifyRequest, reply: FastifyReply) {
    reply.headers(API_SECURITY_HEADERS)
    echoRequestIds(request, reply)
    cors?.headers(request, reply)
  })
  fastify.decorateReply('notModified', function notModified (this: FastifyReply) {
    for (const h of BODY_ONLY_HEADERS) this.removeHeader(h)
    return this.code(304).send()
  })
}

export default fp(securityHeadersPlugin, { name: 'security-headers' })
