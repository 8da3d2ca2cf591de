import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { SignupBody, LoginBody, UserSchema, TokenResponse } from '../src/schemas/auth.js'
import { problems } from '../src/schemas/common.js'
import { badRequest, tooManyRequests, unauthorized } from '../src/domain/errors.js'
import { createLoginLimits } from '../src/auth/login-limits.js'
import { randomBytes } from 'node:crypto'
import { passwordWeakness, hashPassword, verifyPassword } from '../src/auth/passwords.js'
import { normalizeEmail, publicUser } from '../src/repositories/user-repository.js'
import { requestOrigin } from '../src/request-id.js'

export default async function authRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  // Unknown accounts are compared against a hash of the configured cost, made once, so both
  // answers take one bcrypt of the same cost.
  let decoy: Promise<string> | undefined
  const decoyHash = async () => await (decoy ??= hashPassword(randomBytes(18).toString('base64url'), fastify.config.BCRYPT_ROUNDS))
  // Failed logins per account and per address (src/auth/login-limits.ts says why each).
  const limits = createLoginLimits({
    maxFailures: fastify.config.LOGIN_RATE_LIMIT_PER_MINUTE,
    maxAccounts: fastify.config.LOGIN_RATE_LIMIT_PER_MINUTE,
    windowMs: 60_000,
    now: fastify.clock
  })
  async function refuseWhileLimited (request: FastifyRequest) {
    const account = normalizeEmail((request.body as { email: string }).email)
    const refusal = limits.check(account, request.ip)
    if (refusal === undefined) {
      limits.started(account)
      return
    }
    const detail = refusal.scope === 'account'
      ? `Too many failed logins for this account; retry in ${refusal.retryAfterSeconds} s`
      : `Too many failed logins on different accounts from this address; retry in ${refusal.retryAfterSeconds} s`
    throw tooManyRequests(detail, refusal.retryAfterSeconds)
  }

  fastify.post('/signup', {
    schema: {
      tags: ['auth'],
      summary: 'Create an account (role CLIENT)',
      body: SignupBody,
      response: { 201: UserSchema, ...problems(400, 409, 429) }
    },
    config: { rateLimit: { max: fastify.config.LOGIN_RATE_LIMIT_PER_MINUTE, timeWindow: 60_000 } }
  }, async function signup (request, reply) {
    const { username, email, password } = request.body
    const weakness = passwordWeakness(password, email)
    if (weakness !== null) throw badRequest(`Weak password: ${weakness}`, [{ path: '/body/password', message: weakness }])
    const passwordHash = await hashPassword(password, fastify.config.BCRYPT_ROUNDS)
    const user = await fastify.users.create({ username, email: normalizeEmail(email), passwordHash, role: 'CLIENT' }, { actor: `user:${normalizeEmail(email)}`, ...requestOrigin(request) })
    reply.header('location', `/users/${encodeURIComponent(user.email)}`)
    return reply.code(201).send(publicUser(user))
  })

  fastify.post('/login', {
    // After validation: the limits are keyed on the body's email.
    preHandler: refuseWhileLimited,
    schema: {
      tags: ['auth'],
      summary: 'Exchange email + password for a bearer token',
      body: LoginBody,
      response: { 200: TokenResponse, ...problems(400, 401, 429) }
    }
  }, async function login (request) {
    const { email, password } = request.body
    let user, ok
    try {
      user = await fastify.users.get(email)
      // Same work and the same answer whether the account exists or not: no enumeration.
      ok = await verifyPassword(password, user?.passwordHash ?? await decoyHash())
    } finally {
      limits.ended(normalizeEmail(email))
    }
    if (user === undefined || !ok) {
      limits.failed(normalizeEmail(email), request.ip)
      throw unauthorized('Invalid email or password')
    }
    limits.succeeded(user.email)
    await fastify.users.ensureListed(user)
    return { access_token: fastify.issueToken(user), token_type: 'Bearer' as const, expires_in: fastify.config.JWT_TTL_SECONDS }
  })
}
