// Credentials as the routes see them: the one function that takes a token out of an Authorization
// header, and the JWT keyring that signs and verifies user tokens.
//
// Rotation (docs/DEPLOY.md, JWT secret rotation): every token carries the id of the key that
// signed it (`kid`, derived from the key itself, so nobody picks or mistypes one). The secret is
// either one key (a string of at least 32 characters) or, while a rotation is under way, a JSON
// document `{"current": "<new key>", "previous": "<old key>", "previousUntil": "<ISO time>"}`:
// new tokens are signed with `current`, tokens signed with `previous` verify until
// `previousUntil`, and not after. A process re-reads the secret every `refreshMs` (on the first
// request after the interval: no timer, so a frozen Lambda container does nothing) and at once
// when a token names a key it does not know (at most once a second, so garbage key ids cannot
// turn into a stream of Secrets Manager calls).
import { createHash } from 'node:crypto'
import { createSigner, createVerifier } from 'fast-jwt'
import type { Principal, TokenPayload } from './principal.js'

/**
 * The token of `Authorization: Bearer <token>`: the scheme in any case, one space, a token of
 * RFC 6750's b64token characters (JWTs and API keys are), and nothing else — @fastify/jwt's
 * default rule, stricter where that one accepted odd shapes; plugins/auth.ts registers this
 * function as @fastify/jwt's extractToken. Used for every route and every credential kind: any
 * other shape (two spaces, a tab, a no-break space, a trailing space, two tokens) presents no
 * token at all.
 */
const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i
export function bearerToken (authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined
  return BEARER.exec(authorization)?.[1]
}

export class JwtSecretError extends Error {
  override name = 'JwtSecretError'
}

export interface JwtKey { kid: string; secret: string; until?: number }
export interface JwtKeys { current: JwtKey; previous?: JwtKey }

/** A key's id: a prefix of its SHA-256, so the id follows the key wherever it is written. */
export function kidOf (secret: string): string {
  return createHash('sha256').update(secret).digest('base64url').slice(0, 12)
}

function key (secret: unknown, what: string): JwtKey {
  if (typeof secret !== 'string' || [...secret].length < 32) throw new JwtSecretError(`JWT secret: ${what} must be a string of at least 32 characters`)
  return { kid: kidOf(secret), secret }
}

/** The keys a secret's value holds (one key, or the rotation document). Errors never quote a value. */
export function parseJwtSecret (value: string): JwtKeys {
  const text = value.trim()
  if (!text.startsWith('{')) return { current: key(text, 'the secret') }
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw new JwtSecretError('JWT secret: starts with { but is not JSON; expected {"current": "...", "previous": "...", "previousUntil": "<ISO time>"}')
  }
  const unknown = Object.keys(doc).filter((k) => !['current', 'previous', 'previousUntil'].includes(k))
  if (unknown.length > 0) throw new JwtSecretError(`JWT secret: unknown field(s) ${unknown.join(', ')}; allowed: current, previous, previousUntil`)
  const current = key(doc.current, '"current"')
  if (doc.previous === undefined) return { current }
  const until = typeof doc.previousUntil === 'string' ? Date.parse(doc.previousUntil) : NaN
  if (Number.isNaN(until)) throw new JwtSecretError('JWT secret: "previous" needs "previousUntil", an ISO 8601 time (the end of the window in which old tokens still verify)')
  return { current, previous: { ...key(doc.previous, '"previous"'), until } }
}

export interface TokenServiceOptions {
  /** The secret's value at start. */
  secret: string
  ttlSeconds: number
  now: () => number
  /** Reads the secret's current value; without it the keys never change. */
  load?: () => Promise<string>
  /** How often the secret is re-read (default 5 minutes). */
  refreshMs?: number
  onReloadError?: (err: unknown) => void
}

/** How long, and for how many tokens, a verified token's principal is kept. */
const VERIFIED_MS = 10_000
const VERIFIED_MAX = 10_000
const UNKNOWN_KID_RELOAD_MS = 1_000

function kidOfToken (token: string): string | undefined {
  const dot = token.indexOf('.')
  if (dot <= 0) return undefined
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8')) as { kid?: unknown }
    return typeof header.kid === 'string' ? header.kid : undefined
  } catch {
    return undefined
  }
}

export interface TokenService {
  sign(payload: TokenPayload): string
  /** The principal, undefined for a token that does not verify, or a promise when the keys must be re-read first. */
  verify(token: string): Principal | undefined | Promise<Principal | undefined>
  /** The kid tokens are signed with now (for tests and operators). */
  currentKid(): string
  /** The secret of key `kid` (the current key when undefined) while it verifies; throws otherwise. */
  keyFor(kid: string | undefined): string
}

export function createTokenService (opts: TokenServiceOptions): TokenService {
  const refreshMs = opts.refreshMs ?? 300_000
  let keys!: JwtKeys
  let sign!: (payload: TokenPayload) => string
  let verifiers!: Map<string, { verify: (token: string) => Partial<TokenPayload> & { exp?: number }; until: number }>
  // The one cache of verified user tokens, shared by every route. On evaluation and read routes a
  // token is valid until it expires anyway; admin routes re-read the account (plugins/auth.ts).
  const verified = new Map<string, { principal: Principal; until: number }>()
  function install (next: JwtKeys) {
    if (keys !== undefined && next.current.secret === keys.current.secret && next.previous?.secret === keys.previous?.secret && next.previous?.until === keys.previous?.until) return
    keys = next
    const signer = createSigner({ key: next.current.secret, algorithm: 'HS256', expiresIn: opts.ttlSeconds * 1000, kid: next.current.kid })
    // iat (and so exp) on the app's clock too, the one verification judges expiry on.
    sign = (payload) => signer({ ...payload, iat: Math.floor(opts.now() / 1000) })
    verifiers = new Map()
    for (const k of [next.current, next.previous]) {
      // Expiry is judged below on the app's clock (opts.now), not on the verifier's own.
      if (k !== undefined) verifiers.set(k.kid, { verify: createVerifier({ key: k.secret, algorithms: ['HS256'], ignoreExpiration: true }), until: k.until ?? Number.POSITIVE_INFINITY })
    }
    verified.clear()
  }
  install(parseJwtSecret(opts.secret))

  let nextRefresh = opts.now() + refreshMs
  let lastUnknownReload = Number.NEGATIVE_INFINITY
  let reloading: Promise<void> | undefined
  function reload (): Promise<void> {
    reloading ??= opts.load!()
      .then((value) => { install(parseJwtSecret(value)) })
      .catch((err: unknown) => { opts.onReloadError?.(err) })
      .finally(() => { reloading = undefined; nextRefresh = opts.now() + refreshMs })
    return reloading
  }

  /** undefined: does not verify; null: names a key this process does not hold. */
  function verifyWithKeys (token: string, at: number): Principal | undefined | null {
    const kid = kidOfToken(token)
    // Tokens issued before key ids existed were signed with the key that is still current, if any.
    const verifier = verifiers.get(kid ?? keys.current.kid)
    if (verifier === undefined) return null
    if (at >= verifier.until) return undefined
    let payload
    try {
      payload = verifier.verify(token)
    } catch {
      return undefined
    }
    // Every token this service signs has an exp; one without is not a token it issued.
    if (typeof payload.exp !== 'number' || payload.exp * 1000 <= at) return undefined
    const principal = userPrincipal(payload)
    if (principal === undefined) return undefined
    if (verified.size >= VERIFIED_MAX) verified.clear()
    const expires = payload.exp * 1000
    verified.set(token, { principal, until: Math.min(at + VERIFIED_MS, expires, verifier.until) })
    return principal
  }

  return {
    sign: (payload) => sign(payload),
    currentKid: () => keys.current.kid,
    keyFor (kid: string | undefined): string {
      const k = kid === undefined || kid === keys.current.kid ? keys.current : kid === keys.previous?.kid ? keys.previous : undefined
      if (k === undefined || (k.until !== undefined && opts.now() >= k.until)) throw new Error('token signed with a key this service does not accept')
      return k.secret
    },
    verify (token: string) {
      const at = opts.now()
      if (opts.load !== undefined && at >= nextRefresh && reloading === undefined) void reload()
      const hit = verified.get(token)
      if (hit !== undefined && hit.until > at) return hit.principal
      const result = verifyWithKeys(token, at)
      if (result !== null) return result
      if (opts.load === undefined || at - lastUnknownReload < UNKNOWN_KID_RELOAD_MS) return undefined
      lastUnknownReload = at
      return reload().then(() => verifyWithKeys(token, opts.now()) ?? undefined)
    }
  }
}

/** A verified token's claims as a principal, or undefined when they are not ones this service issues. */
export function userPrincipal (p: Partial<TokenPayload>): Principal | undefined {
  if (typeof p.sub !== 'string' || (p.role !== 'ADMIN' && p.role !== 'CLIENT') || typeof p.rv !== 'number') return undefined
  return { kind: 'user', sub: p.sub, role: p.role, rv: p.rv }
}
