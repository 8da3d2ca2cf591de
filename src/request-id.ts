// Request ids are the server's, never a client's. Every request gets one (a random UUID; on
// Lambda, API Gateway's request id), it is what logs, problem documents and audit records carry,
// and every response echoes it in X-Request-Id. A client's own id (X-Correlation-Id, or an
// X-Request-Id it sent) is kept only as a separate correlation id — when it is at most 128
// characters of [A-Za-z0-9._:-] — bound to the request's log lines, echoed in X-Correlation-Id
// and recorded beside the request id in the audit records of the changes the request makes;
// anything else a client sends there is ignored.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'

const CORRELATION = /^[A-Za-z0-9._:-]{1,128}$/

/** The client's correlation id, when it sent a valid one. */
export function correlationId (headers: IncomingMessage['headers']): string | undefined {
  const v = headers['x-correlation-id'] ?? headers['x-request-id']
  return typeof v === 'string' && CORRELATION.test(v) ? v : undefined
}

/**
 * The correlation id of a request, when its client sent a valid one. On Lambda the X-Request-Id
 * header holds API Gateway's own id (it is request.id), which is not the client's.
 */
export function clientCorrelationId (request: FastifyRequest): string | undefined {
  const c = correlationId(request.headers)
  return c === request.id ? undefined : c
}

/** What a change made by this request records of it (WriteMeta, and so its audit record). */
export function requestOrigin (request: FastifyRequest): { requestId: string; correlationId?: string } {
  const c = clientCorrelationId(request)
  return c === undefined ? { requestId: request.id } : { requestId: request.id, correlationId: c }
}

/** The long-running server's request ids: random UUIDs, whatever the client sent. */
export function serverRequestId (): string {
  return randomUUID()
}

/**
 * On Lambda: API Gateway's request id, which @fastify/aws-lambda puts in X-Request-Id when the
 * event has none — and src/lambda/http-handler.ts moves a client's X-Request-Id out of the event
 * first, so the header is API Gateway's.
 */
export function lambdaRequestId (req: IncomingMessage): string {
  const v = req.headers['x-request-id']
  return typeof v === 'string' && v !== '' ? v : randomUUID()
}

/** onRequest (in the security-headers hook, one hook for every response's fixed headers). */
export function echoRequestIds (request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id)
  if (request.headers['x-correlation-id'] === undefined && request.headers['x-request-id'] === undefined) return
  const c = clientCorrelationId(request)
  if (c === undefined) return
  reply.header('x-correlation-id', c)
  request.log = request.log.child({ correlationId: c })
}
