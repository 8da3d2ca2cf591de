// The API Gateway HTTP API (payload 2.0) handler of a Fastify app, shared by ApiFunction and
// EvaluateFunction, so that a query string means the same on Lambda as on the long-running server.
//
// API Gateway hands a function the query twice: `rawQueryString`, the bytes the client sent, and
// `queryStringParameters`, decoded, with repeated keys joined by commas (`a=1&a=2` → "1,2").
// @fastify/aws-lambda by default splits any value containing a comma into an array, an encoded
// `%2C` included, so `?prefix=a%2Cb` became ['a', 'b'] (a 400 on Lambda, a 200 on the server).
// Here the app gets the raw query string on its URL instead and parses it with its own query
// parser, exactly as the server does: repeated keys are arrays, an encoded comma is a comma.
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

/** The fields of a payload 2.0 event this module reads. */
interface HttpApiEvent { rawPath?: string; rawQueryString?: string; queryStringParameters?: Record<string, string>; version?: string }

export function httpApiHandler (app: FastifyInstance) {
  const proxy = awsLambdaFastify(app, { parseCommaSeparatedQueryParams: false, enforceBase64: (res) => isBinaryResponse(res.headers) })
  return function handler (event: HttpApiEvent, context: unknown) {
    if (event.version !== '2.0' || event.rawPath === undefined) return proxy(event as never, context as never)
    const { queryStringParameters: _decoded, ...rest } = event
    const rawPath = event.rawQueryString === undefined || event.rawQueryString === '' ? event.rawPath : `${event.rawPath}?${event.rawQueryString}`
    return proxy({ ...rest, rawPath } as never, context as never)
  }
}
