// First-start work, idempotent on every start: the default environment registry and the admin
// named by ADMIN_EMAIL / ADMIN_PASSWORD when that account does not exist yet.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { hashPassword, passwordWeakness } from '../src/auth/passwords.js'

export async function ensureAdmin (fastify: FastifyInstance, email: string, password: string): Promise<'created' | 'exists'> {
  const weakness = passwordWeakness(password, email)
  if (weakness !== null) throw new Error(`ADMIN_PASSWORD refused: ${weakness}`)
  const existing = await fastify.users.get(email)
  if (existing !== undefined) return 'exists'
  try {
    await fastify.users.create({ username: email.split('@')[0] ?? 'admin', email, passwordHash: await hashPassword(password, fastify.config.BCRYPT_ROUNDS), role: 'ADMIN' }, { actor: 'system:bootstrap' })
    return 'created'
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 409) return 'exists'
    throw err
  }
}

async function bootstrapPlugin (fastify: FastifyInstance) {
  fastify.addHook('onReady', async function bootstrap () {
    await fastify.environments.ensureDefaults()
    const { ADMIN_EMAIL, ADMIN_PASSWORD } = fastify.config
    if (ADMIN_EMAIL !== undefined && ADMIN_PASSWORD !== undefined) {
      const outcome = await ensureAdmin(fastify, ADMIN_EMAIL, ADMIN_PASSWORD)
      fastify.log.info({ email: ADMIN_EMAIL, outcome }, 'admin account from ADMIN_EMAIL')
    }
  })
}

export default fp(bootstrapPlugin, { name: 'bootstrap', dependencies: ['repositories'] })
