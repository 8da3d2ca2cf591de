// Authentication and role hooks (CONVENTIONS.md §9): JWTs (HS256 only, signed and verified by the
// keyring in src/auth/tokens.ts), API keys (plugins/api-keys.ts), typed request.user,
// `authenticate` and `requireRole(...)` for routes to attach in onRequest.
import fp from 'fastify-plugin'
import type { IncomingHttpHeaders } from 'node:http'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { forbidden, unauthorized } from '../src/domain/errors.js'
import { bearerToken, createTokenService, userPrincipal, type TokenService } from '../src/auth/tokens.js'
import type { Role } from '../src/repositories/user-repository.js'

import type { Principal, TokenPayload } from '../src/auth/principal.js'

export type { Principal, TokenPayload }

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
    authenticate: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
    requireRole: (...roles: Role[]) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>
    /** Evaluation routes only: ADMIN or CLIENT users, or an API key (its environment is checked by the route). */
    requireEvaluationAccess: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
    issueToken: (user: { email: string; role: Role; roleVersion: number }) => string
    /** The JWT keyring: signs, verifies (with the one cache of verified tokens), re-reads the secret. */
    tokens: TokenService
    apiKeyVerifier?: ApiKeyVerifier
  }
}

export const API_KEY_PREFIX = 'sy_'

export interface AuthPluginOptions {
  /** Re-reads the JWT secret (Secrets Manager, the local secret file); without it the keys never change. */
  jwtSecretSource?: () => Promise<string>
}

/**
 * The credential a request presents: an API key (X-Api-Key, or a Bearer token with the API-key
 * prefix) or a JWT (any other Bearer token). The bearer token is taken by bearerToken
 * (src/auth/tokens.ts), the same function for every route and credential kind. A repeated
 * X-Api-Key arrives joined with ', ' and a repeated Authorization is joined by the server
 * (joinDuplicateHeaders, src/core.ts) as API Gateway does: neither is a credential.
 */
export function presentedCredential (headers: IncomingHttpHeaders): { kind: 'apiKey'; secret: string } | { kind: 'jwt'; token: string } | undefined {
  const apiKey = headers['x-api-key']
  if (typeof apiKey === 'string') return { kind: 'apiKey', secret: apiKey }
  const token = bearerToken(headers.authorization)
  if (token === undefined) return undefined
  return token.startsWith(API_KEY_PREFIX) ? { kind: 'apiKey', secret: token } : { kind: 'jwt', token }
}

export { userPrincipal }

function missing (headers: IncomingHttpHeaders) {
  return unauthorized(headers.authorization === undefined
    ? 'Missing credentials: send Authorization: Bearer <token> or X-API-Key'
    : "Authorization must be 'Bearer <token>': the word Bearer, one space, the token")
}

async function authPlugin (fastify: FastifyInstance, opts: AuthPluginOptions) {
  const tokens = createTokenService({
    secret: fastify.config.JWT_SECRET,
    ttlSeconds: fastify.config.JWT_TTL_SECONDS,
    now: fastify.clock,
    load: opts.jwtSecretSource,
    refreshMs: fastify.config.JWT_SECRET_REFRESH_SECONDS * 1000,
    onReloadError: (err) => { fastify.log.warn({ err }, 'JWT secret: re-read failed; keeping the keys in use') }
  })
  fastify.decorate('tokens', tokens)
  // Registered for request.user's type, `fastify.jwt.decode` and `request.jwtVerify` (unused by the
  // routes): its secret is looked up by key id in the same keyring, its token extraction is ours.
  await fastify.register(fastifyJwt, {
    secret: function keyFor (_request, tokenOrHeader, cb) {
      const header = ('header' in tokenOrHeader ? tokenOrHeader.header : tokenOrHeader) as { kid?: string }
      try {
        cb(null, tokens.keyFor(header.kid))
      } catch (err) {
        cb(err as Error, undefined)
      }
    },
    verify: { algorithms: ['HS256'], extractToken: (request: FastifyRequest) => bearerToken(request.headers.authorization) },
    formatUser: (payload) => ({ kind: 'user', sub: payload.sub, role: payload.role, rv: payload.rv })
  })

  fastify.decorate('issueToken', function issueToken (user: { email: string; role: Role; roleVersion: number }) {
    return tokens.sign({ sub: user.email, role: user.role, rv: user.roleVersion })
  })

  // Synchronous (callback style) whenever the answer is in memory — a cached API key, a JWT
  // verified by a key this process holds: it runs on every request, and an async hook costs a
  // promise and a microtask turn for a check that does not wait. It waits only for an API key
  // read or a re-read of the JWT secret.
  fastify.decorate('authenticate', function authenticate (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) {
    const presented = presentedCredential(request.headers)
    if (presented === undefined) return done(missing(request.headers))
    if (presented.kind === 'apiKey') {
      const verifier = fastify.apiKeyVerifier
      const cached = verifier === undefined ? null : verifier.verifyCached(presented.secret)
      if (cached === null) return done(unauthorized('Invalid or revoked API key'))
      if (cached !== undefined) {
        request.user = cached
        return done()
      }
      verifier!.verify(presented.secret).then((principal) => {
        if (principal === undefined) return done(unauthorized('Invalid or revoked API key'))
        request.user = principal
        done()
      }, done)
      return
    }
    const result = tokens.verify(presented.token)
    if (!(result instanceof Promise)) {
      if (result === undefined) return done(unauthorized('Invalid or expired token'))
      request.user = result
      return done()
    }
    result.then((principal) => {
      if (principal === undefined) return done(unauthorized('Invalid or expired token'))
      request.user = principal
      done()
    }, done)
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
