// Security headers on every response. They are exactly the headers @fastify/helmet sends with
// `{ contentSecurityPolicy: false }` (test/plugins/security-headers.test.ts compares the two), set
// from one frozen object in one synchronous hook. Why not @fastify/helmet itself: it rebuilds the
// helmet middleware chain on every request (two hooks, an async closure and a dozen setHeader
// calls), which cost more server CPU than the hello-world request itself on the evaluation hot
// path (docs/PERFORMANCE.md). The headers are static, so they are computed once, here.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
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

async function securityHeadersPlugin (fastify: FastifyInstance) {
  fastify.addHook('onRequest', function securityHeaders (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    reply.headers(SECURITY_HEADERS)
    done()
  })
}

export default fp(securityHeadersPlugin, { name: 'security-headers' })
