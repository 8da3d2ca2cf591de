// The API Gateway HTTP API (payload 2.0) handler of a Fastify app: the one adapter ApiFunction and
// EvaluateFunction both export, so that a request means the same on Lambda as on the
// long-running server.
//
// Request ids: @fastify/aws-lambda would keep a client's X-Request-Id over API Gateway's request
// id (it only fills the header in when the event has none). Before the event reaches it, a
// client's X-Request-Id is moved to X-Correlation-Id (unless the client sent one of those too),
// so the X-Request-Id the app sees is API Gateway's (src/request-id.ts, lambdaRequestId).
//
// Query strings: API Gateway hands a function the query twice: `rawQueryString`, the bytes the
// client sent, and `queryStringParameters`, decoded, with repeated keys joined by commas
// (`a=1&a=2` → "1,2"). @fastify/aws-lambda by default splits any value containing a comma into an
// array, an encoded `%2C` included, so `?prefix=a%2Cb` became ['a', 'b'] (a 400 on Lambda, a 200
// on the server). Here the app gets the raw query string on its URL instead and parses it with its
// own query parser, exactly as the server does: repeated keys are arrays, an encoded comma is a comma.
//
// Response bodies: API Gateway wants a binary body base64-encoded with isBase64Encoded: true.
// @fastify/aws-lambda sends every body as a UTF-8 string unless told otherwise, which would
// corrupt a PNG or font of the console (routes/console.ts). Here any body that is not text
// (text/*, JSON, JavaScript, XML/SVG, form data) or is compressed is base64-encoded.
import type { FastifyInstance } from 'fastify'
import awsLambdaFastify from '@fastify/aws-lambda'

const TEXTUAL = /^(?:text\/|application\/(?:[\w.+-]*\+)?(?:json|xml|javascript|x-www-form-urlencoded)$|image\/svg\+xml$)/

/** Whether a response body must be base64-encoded for API Gateway. */
export function isBinaryResponse (headers: Record<string, unknown>): boolean {
  const encoding = headers['content-encoding']
  if (typeof encoding === 'string' && encoding !== '' && encoding !== 'identity') return true
  const type = headers['content-type']
  if (typeof type !== 'string' || type === '') return false
  return !TEXTUAL.test(type.split(';', 1)[0]!.trim().toLowerCase())
}

/** The fields of an API Gateway event this module reads (payload 2.0; 1.0 only passes through). */
export interface HttpApiEvent {
  version?: string
  rawPath?: string
  rawQueryString?: string
  queryStringParameters?: Record<string, string>
  headers?: Record<string, string | undefined>
}

/** The event's headers with a client's X-Request-Id moved to X-Correlation-Id (see above). */
export function withoutClientRequestId (headers: Record<string, string | undefined>): Record<string, string | undefined> {
  const names = Object.keys(headers)
  const sent = names.find((n) => n.toLowerCase() === 'x-request-id')
  if (sent === undefined) return headers
  const { [sent]: value, ...rest } = headers
  const hasCorrelation = names.some((n) => n.toLowerCase() === 'x-correlation-id')
  if (!hasCorrelation && value !== undefined) rest['x-correlation-id'] = value
  return rest
}

export function httpApiHandler (app: FastifyInstance) {
  const proxy = awsLambdaFastify(app, { parseCommaSeparatedQueryParams: false, enforceBase64: (res) => isBinaryResponse(res.headers) })
  return async function handler (event: HttpApiEvent, context: unknown): Promise<unknown> {
    const headers = event.headers === undefined ? undefined : withoutClientRequestId(event.headers)
    if (event.version !== '2.0' || event.rawPath === undefined) return await proxy({ ...event, headers } as never, context as never)
    const { queryStringParameters: _decoded, ...rest } = event
    const rawPath = event.rawQueryString === undefined || event.rawQueryString === '' ? event.rawPath : `${event.rawPath}?${event.rawQueryString}`
    return await proxy({ ...rest, headers, rawPath } as never, context as never)
  }
}
