import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { SignupBody, LoginBody, UserSchema, TokenResponse } from '../src/schemas/auth.js'
import { problems } from '../src/schemas/common.js'
import { AppError, badRequest, unauthorized } from '../src/domain/errors.js'
import { randomBytes } from 'node:crypto'
import { passwordWeakness, hashPassword, verifyPassword } from '../src/auth/passwords.js'
import { normalizeEmail, publicUser } from '../src/repositories/user-repository.js'

export default async function authRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  // Unknown accounts are compared against a hash of the configured cost, made once, so both
  // answers take one bcrypt of the same cost.
  let decoy: Promise<string> | undefined
  const decoyHash = async () => await (decoy ??= hashPassword(randomBytes(18).toString('base64url'), fastify.config.BCRYPT_ROUNDS))
  // Password spraying (a few guesses against many accounts from one address) is limited per
  // address; the route's own limiter below is per account. @fastify/rate-limit runs one limiter per
  // request, so this one is checked by hand.
  const loginsPerAddress = fastify.createRateLimit({
    max: fastify.config.LOGIN_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `login-ip:${request.ip}`
  })
  async function limitLoginsPerAddress (request: FastifyRequest) {
    const limit = await loginsPerAddress(request)
    if (!limit.isAllowed && limit.isExceeded) {
      throw new AppError(429, 'Too Many Requests', `Too many login attempts from this address; retry in ${limit.ttlInSeconds} s`, { headers: { 'retry-after': String(limit.ttlInSeconds) } })
    }
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
    const user = await fastify.users.create({ username, email: normalizeEmail(email), passwordHash, role: 'CLIENT' }, { actor: `user:${normalizeEmail(email)}`, requestId: request.id })
    reply.header('location', `/users/${encodeURIComponent(user.email)}`)
    return reply.code(201).send(publicUser(user))
  })

  fastify.post('/login', {
    onRequest: limitLoginsPerAddress,
    schema: {
      tags: ['auth'],
      summary: 'Exchange email + password for a bearer token',
      body: LoginBody,
      response: { 200: TokenResponse, ...problems(400, 401, 429) }
    },
    config: {
      rateLimit: {
        max: fastify.config.LOGIN_RATE_LIMIT_PER_MINUTE,
        timeWindow: 60_000,
        // Per account: guessing one account's password from many addresses (the per-address limit
        // is limitLoginsPerAddress above).
        hook: 'preHandler',
        keyGenerator: (request) => {
          const email = (request.body as { email?: unknown } | undefined)?.email
          return typeof email === 'string' ? `login:${normalizeEmail(email)}` : `login-ip:${request.ip}`
        }
      }
    }
  }, async function login (request) {
    const { email, password } = request.body
    const user = await fastify.users.get(email)
    // Same work and the same answer whether the account exists or not: no enumeration.
    const ok = await verifyPassword(password, user?.passwordHash ?? await decoyHash())
    if (user === undefined || !ok) throw unauthorized('Invalid email or password')
    return { access_token: fastify.issueToken(user), token_type: 'Bearer' as const, expires_in: fastify.config.JWT_TTL_SECONDS }
  })
}
