// A request body read before Fastify saw the request (by the fast lane, src/fast-lane.ts) and
// handed over with it: the socket has no bytes left, so the route parses these.
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest, RequestPayload } from 'fastify'

const PRE_READ = Symbol('switchyard.preReadBody')
type WithPreRead = IncomingMessage & { [PRE_READ]?: Buffer }

export function attachPreReadBody (req: IncomingMessage, body: Buffer): void {
  (req as WithPreRead)[PRE_READ] = body
}

/** preParsing hook of the routes the fast lane may hand requests to: replay the bytes it read. */
export function replayPreReadBody (request: FastifyRequest, _reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, body?: RequestPayload) => void): void {
  const body = (request.raw as WithPreRead)[PRE_READ]
  if (body === undefined) return done(null, payload)
  const replay = new Readable({ read () {} })
  replay.push(body)
  replay.push(null)
  done(null, replay as RequestPayload)
}
