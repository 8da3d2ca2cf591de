// The API Gateway HTTP API (payload 2.0) handler of a Fastify app, shared by ApiFunction and
// EvaluateFunction, so that a query string means the same on Lambda as on the long-running server.
//
// API Gateway hands a function the query twice: `rawQueryString`, the bytes the client sent, and
// `queryStringParameters`, decoded, with repeated keys joined by commas (`a=1&a=2` → "1,2").
// @fastify/aws-lambda by default splits any value containing a comma into an array, an encoded
// `%2C` included, so `?prefix=a%2Cb` became ['a', 'b'] (a 400 on Lambda, a 200 on the server).
// Here the app gets the raw query string on its URL instead and parses it with its own query
// parser, exactly as the server does: repeated keys are arrays, an encoded comma is a comma.
import type { FastifyInstance } from 'fastify'
import awsLambdaFastify from '@fastify/aws-lambda'

/** The fields of a payload 2.0 event this module reads. */
interface HttpApiEvent { rawPath?: string; rawQueryString?: string; queryStringParameters?: Record<string, string>; version?: string }

export function httpApiHandler (app: FastifyInstance) {
  const proxy = awsLambdaFastify(app, { parseCommaSeparatedQueryParams: false })
  return function handler (event: HttpApiEvent, context: unknown) {
    if (event.version !== '2.0' || event.rawPath === undefined) return proxy(event as never, context as never)
    const { queryStringParameters: _decoded, ...rest } = event
    const rawPath = event.rawQueryString === undefined || event.rawQueryString === '' ? event.rawPath : `${event.rawPath}?${event.rawQueryString}`
    return proxy({ ...rest, rawPath } as never, context as never)
  }
}
