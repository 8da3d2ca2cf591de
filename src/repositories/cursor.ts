// Opaque pagination cursors: base64url JSON, validated on the way back in.
import { badRequest } from '../domain/errors.js'

export function encodeCursor (value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

export function decodeCursor<T = string> (cursor: string, check: (v: unknown) => boolean = (v) => typeof v === 'string'): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (check(value)) return value as T
  } catch {}
  throw badRequest('Invalid cursor: pass the nextCursor of a previous page unchanged', [{ path: '/cursor', message: 'invalid cursor' }])
}
