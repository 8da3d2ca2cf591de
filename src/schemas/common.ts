import { Type, type TSchema } from '@sinclair/typebox'

export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.Optional(Type.String()),
  requestId: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() })))
}, { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' })

/** The opaque `cursor` query parameter of every paginated list (nextCursor of the previous page). */
export const Cursor = Type.Optional(Type.String({ maxLength: 2048 }))

export function problem (description: string): TSchema {
  return { ...Type.Ref('Problem'), description } as unknown as TSchema
}

/** Standard error responses for a route, by status code. */
export function problems (...codes: number[]): Record<number, TSchema> {
  const text: Record<number, string> = {
    400: 'Invalid request',
    401: 'Missing or invalid credentials',
    403: 'Role or environment not allowed',
    404: 'Not found',
    406: 'No acceptable encoding (the document is too large to send uncompressed here)',
    409: 'Conflict',
    412: 'If-Match does not match the current version',
    413: 'Body too large',
    415: 'Unsupported content type',
    428: 'If-Match required to change existing state',
    429: 'Rate limited',
    503: 'Storage temporarily unavailable'
  }
  return Object.fromEntries(codes.map((c) => [c, problem(text[c] ?? 'Error')]))
}

export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(Type.String({ description: 'ETag of your last read (GET /features/{flag}); required to change or delete existing state (428 without it); 412 when the flag changed since; `*` overwrites unconditionally' }))
}, { additionalProperties: true })

export const NoContent = Type.Null({ description: 'No content' })
