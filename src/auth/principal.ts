// Who a request is, once its credential is verified: the shape every credential kind (a user's JWT,
// an API key) resolves to. Types only, so the token service and the auth plugin share them
// without importing each other.
import type { Role } from '../repositories/user-repository.js'

export type Principal =
  | { kind: 'user'; sub: string; role: Role; rv: number; exp?: number }
  | { kind: 'apiKey'; sub: string; role: 'CLIENT'; keyId: string; environment: string; keyKind: 'server' | 'client' }

/** The claims Switchyard signs into a user's JWT (besides iat, exp and the kid header). */
export interface TokenPayload { sub: string; role: Role; rv: number }
