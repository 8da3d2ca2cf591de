// Authentication and role hooks (CONVENTIONS.md §9): @fastify/jwt (HS256 only), typed
// request.user, `authenticate` and `requireRole(...)` for routes to attach in onRequest.
import fp from 'fastify-plugin'
import type { IncomingHttpHeaders } from 'node:http'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { forbidden, unauthorized } from '../src/domain/errors.js'
import type { Role } from '../src/repositories/user-repository.js'

export type Principal =
  | { kind: 'user'; sub: string; role: Role; rv: number; exp?: number }
  | { kind: 'apiKey'; sub: string; role: 'CLIENT'; keyId: string; environment: string; keyKind: 'server' | 'client' }

export interface TokenPayload { sub: string; role: Role; rv: number }

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: TokenPayload
    user: Principal
  }
}

export interface ApiKeyVerifier {
  verify(secret: string): Promise<Principal | undefined>
  /** From the cache alone: the principal, null for a key that is refused, undefined when only a read can tell. */
  verifyCached(secret: string): Principal | null | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    requireRole: (...roles: Role[]) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** Evaluation routes only: ADMIN or CLIENT users, or an API key (its environment is checked by the route). */
    requireEvaluationAccess: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
    issueToken: (user: { email: string; role: Role; roleVersion: number }) => string
    apiKeyVerifier?: ApiKeyVerifier
  }
}

export const API_KEY_PREFIX = 'sy_'

const BEARER = /^Bearer\s+(\S+)\s*$/i

/**
 * The credential a request presents: an API key (X-Api-Key, or a Bearer token with the API-key
 * prefix) or a JWT (any other Bearer token). `authenticate` and the fast lane read it alike.
 */
export function presentedCredential (headers: IncomingHttpHeaders): { kind: 'apiKey'; secret: string } | { kind: 'jwt'; token: string } | undefined {
  const apiKey = headers['x-api-key']
  if (typeof apiKey === 'string') return { kind: 'apiKey', secret: apiKey }
  const token = headers.authorization === undefined ? undefined : BEARER.exec(headers.authorization)?.[1]
  if (token === undefined) return undefined
  return token.startsWith(API_KEY_PREFIX) ? { kind: 'apiKey', secret: token } : { kind: 'jwt', token }
}

/** A verified token's claims as a principal, or undefined when they are not ones this service issues. */
export function userPrincipal (p: Partial<TokenPayload>): Principal | undefined {
  if (typeof p.sub !== 'string' || (p.role !== 'ADMIN' && p.role !== 'CLIENT') || typeof p.rv !== 'number') return undefined
  return { kind: 'user', sub: p.sub, role: p.role, rv: p.rv }
}

async function authPlugin (fastify: FastifyInstance) {
  await fastify.register(fastifyJwt, {
    secret: fastify.config.JWT_SECRET,
    sign: { algorithm: 'HS256', expiresIn: fastify.config.JWT_TTL_SECONDS },
    // Verified tokens are cached (fast-jwt's LRU, 1 000 tokens, never beyond their exp): saves the
    // HMAC and the payload parse on every evaluation. Nothing is lost: a token is valid until it
    // expires on read/evaluate routes anyway, and admin routes re-read the account.
    verify: { algorithms: ['HS256'], cache: true },
    formatUser: (payload: TokenPayload & { exp?: number }) => ({ kind: 'user', sub: payload.sub, role: payload.role, rv: payload.rv, exp: payload.exp })
  })

  fastify.decorate('issueToken', function issueToken (user: { email: string; role: Role; roleVersion: number }) {
    return fastify.jwt.sign({ sub: user.email, role: user.role, rv: user.roleVersion })
  })

  fastify.decorate('authenticate', async function authenticate (request: FastifyRequest) {
    const presented = presentedCredential(request.headers)
    if (presented?.kind === 'apiKey') {
      const principal = fastify.apiKeyVerifier !== undefined ? await fastify.apiKeyVerifier.verify(presented.secret) : undefined
      if (principal === undefined) throw unauthorized('Invalid or revoked API key')
      request.user = principal
      return
    }
    if (presented === undefined) throw unauthorized('Missing bearer token')
    try {
      await request.jwtVerify()
    } catch {
      throw unauthorized('Invalid or expired token')
    }
    const u = request.user
    if (u.kind !== 'user' || userPrincipal(u) === undefined) throw unauthorized('Invalid token claims')
    // Expiry by the app's clock (fastify.clock), whatever the verifier's cache remembers.
    if (typeof u.exp === 'number' && u.exp * 1000 <= fastify.clock()) throw unauthorized('Invalid or expired token')
  })

  fastify.decorate('requireRole', function requireRole (...roles: Role[]) {
    return async function checkRole (request: FastifyRequest) {
      const p = request.user
      if (p === undefined || p === null) throw unauthorized()
      // API keys are credentials for evaluation only (requireEvaluationAccess), never for reads or admin.
      if (p.kind === 'apiKey') throw forbidden('API keys can only evaluate flags')
      if (!roles.includes(p.role)) throw forbidden(`This route requires role ${roles.join(' or ')}`)
      if (p.kind === 'user' && !roles.includes('CLIENT')) {
        // Admin routes are not the hot path: confirm the account still holds the role the token
        // was issued for, so a demoted or deleted admin's token stops working at once. (Only the
        // whole app has admin routes, and with them the users repository.)
        const user = await fastify.users.get(p.sub)
        if (user === undefined || user.role !== 'ADMIN' || user.roleVersion !== p.rv) throw unauthorized('Token no longer valid for this account; log in again')
      }
    }
  })

  // Synchronous (callback style): it runs on every evaluation, and an async hook costs a promise
  // and a microtask turn per request for a check that never waits.
  fastify.decorate('requireEvaluationAccess', function requireEvaluationAccess (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
    const p = request.user
    if (p === undefined || p === null) return done(unauthorized())
    if (p.kind === 'user' && p.role !== 'ADMIN' && p.role !== 'CLIENT') return done(forbidden('This route requires role CLIENT or ADMIN'))
    done()
  })
}

export default fp(authPlugin, { name: 'auth', dependencies: ['config'] })
