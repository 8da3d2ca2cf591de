// CORS as the service answers it, applied by the one hook that sets every response's fixed
// headers (plugins/security-headers.ts). The answers are @fastify/cors's with the options the
// service gave it (reflect an allowed Origin, no credentials, fixed methods and headers, strict
// preflight), decided from precomputed values: @fastify/cors rebuilt its options object and
// read the route options twice on every request, and sent Access-Control-Expose-Headers also to
// requests that are not CORS requests (no Origin), where it means nothing. A malformed preflight
// is refused with 400 problem+json, like any other bad request (@fastify/cors: text/plain).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { badRequest } from './domain/errors.js'

export interface CorsPolicy {
  /** true: any origin (CORS_ORIGINS=*), reflected; else the allowed origins, compared exactly. */
  origins: true | readonly string[]
  methods: readonly string[]
  allowedHeaders: readonly string[]
  /** Response headers a browser may read (the Access-Control-Expose-Headers value). */
  exposedHeaders: string
  maxAgeSeconds: number
}

/**
 * What a browser sends as Origin: ASCII (hosts in punycode), or `null`. Anything else is not
 * reflected: on Lambda a header value can hold characters past U+00FF (the event is JSON), and
 * setting one as a response header throws, which made the answer a 500.
 */
const SERIALIZED_ORIGIN = /^[\x21-\x7e]+$/

export interface CorsStep {
  (request: FastifyRequest, reply: FastifyReply): boolean
  /** The CORS headers of an answer the hook did not see (Fastify's own 400 and 414); never answers. */
  headers: (request: FastifyRequest, reply: FastifyReply) => unknown
}

/**
 * The CORS step of the headers hook. Returns true when it answered the request itself (a
 * preflight, or a malformed one); the hook then stops there, as @fastify/cors did, so a preflight
 * is answered before authentication (browsers send it without credentials).
 */
export function corsStep (policy: CorsPolicy): CorsStep {
  const allowed = policy.origins === true ? undefined : new Set(policy.origins)
  const methods = policy.methods.join(', ')
  const allowedHeaders = policy.allowedHeaders.join(', ')
  const maxAge = String(policy.maxAgeSeconds)
  function headers (request: FastifyRequest, reply: FastifyReply): string | undefined {
    const origin = request.headers.origin
    // The answer depends on Origin (it is reflected), so caches must keep one per Origin.
    reply.header('vary', 'Origin')
    if (origin !== undefined && (allowed === undefined ? SERIALIZED_ORIGIN.test(origin) : allowed.has(origin))) {
      reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', policy.exposedHeaders)
    }
    return origin
  }
  function cors (request: FastifyRequest, reply: FastifyReply): boolean {
    const origin = headers(request, reply)
    if (request.raw.method !== 'OPTIONS') return false
    if (origin === undefined || request.headers['access-control-request-method'] === undefined) {
      // Refused as @fastify/cors's strict preflight did, but as every other 400 is: problem+json
      // (through the error handler) saying what an OPTIONS request must carry.
      void reply.send(badRequest(`OPTIONS is answered only as a CORS preflight: send Origin and Access-Control-Request-Method (missing: ${origin === undefined ? 'Origin' : 'Access-Control-Request-Method'})`))
      return true
    }
    void reply
      .header('access-control-allow-methods', methods)
      .header('access-control-allow-headers', allowedHeaders)
      .header('access-control-max-age', maxAge)
      // Some browsers wait for a body on a 204 without it.
      .code(204).header('content-length', '0').send()
    return true
  }
  return Object.assign(cors, { headers })
}
