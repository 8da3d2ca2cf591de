// One place turns every error into an RFC 9457 problem document: typed AppErrors, Fastify's
// validation and content-type errors, rate limiting, and AWS faults. 5xx details are logged with
// the request id and never sent to the client.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError, type FieldError } from '../src/domain/errors.js'
import { isTransientAwsError } from '../src/aws.js'
import { fieldErrors } from '../src/validation-errors.js'
import type { ErrorObject } from 'ajv'

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  instance?: string
  requestId?: string
  errors?: FieldError[]
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

export function sendProblem (reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(headers)) reply.header(k, v)
  // Serialized as itself: a route's schema for this status (e.g. /health's 503 report) must not reshape it.
  return reply.code(problem.status).type('application/problem+json; charset=utf-8').serializer(JSON.stringify).send(problem)
}

function validationErrors (err: FastifyError): FieldError[] {
  const context = (err as FastifyError & { validationContext?: string }).validationContext ?? 'body'
  return fieldErrors((err.validation ?? []) as ErrorObject[], context)
}

/** Fastify's own client errors whose stock message does not say what to do. */
function frameworkDetail (err: FastifyError, request: FastifyRequest): string | undefined {
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const sent = request.headers['content-type']
    return `${sent === undefined ? 'No Content-Type was sent' : `Content-Type '${sent}' is not accepted`}: send the body as JSON with 'content-type: application/json'`
  }
  return undefined
}

async function errorHandlerPlugin (fastify: FastifyInstance) {
  fastify.setErrorHandler(function handleError (err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
    const base = { instance: request.url.split('?')[0], requestId: request.id }
    if (err instanceof AppError) {
      if (err.statusCode >= 500) request.log.warn({ err }, err.message)
      return sendProblem(reply, { type: err.type, title: err.title, status: err.statusCode, detail: err.message, ...base, ...(err.errors !== undefined ? { errors: err.errors } : {}) }, err.headers)
    }
    if (err.validation !== undefined) {
      const errors = validationErrors(err)
      const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ')
      return sendProblem(reply, { type: 'about:blank', title: 'Bad Request', status: 400, detail: `Invalid request: ${detail}`, errors, ...base })
    }
    if (isTransientAwsError(err)) {
      request.log.error({ err }, 'storage unavailable')
      return sendProblem(reply, { type: 'about:blank', title: 'Service Unavailable', status: 503, detail: 'The data store is temporarily unavailable; retry shortly', ...base }, { 'retry-after': '1' })
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status >= 500) {
      request.log.error({ err }, 'unhandled error')
      return sendProblem(reply, { type: 'about:blank', title: TITLES[status] ?? 'Internal Server Error', status, detail: 'An unexpected error occurred; the request id identifies it in the logs', ...base })
    }
    const headers: Record<string, string> = {}
    if (status === 429) {
      const retry = reply.getHeader('retry-after')
      if (retry !== undefined) headers['retry-after'] = String(retry)
    }
    return sendProblem(reply, { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail: frameworkDetail(err, request) ?? err.message, ...base }, headers)
  })

  fastify.setNotFoundHandler(function handleNotFound (request, reply) {
    return sendProblem(reply, { type: 'about:blank', title: 'Not Found', status: 404, detail: `Route ${request.method} ${request.url.split('?')[0]} not found`, instance: request.url.split('?')[0], requestId: request.id })
  })
}

export default fp(errorHandlerPlugin, { name: 'error-handler' })
