// Event documents as AWS delivers them, built from the samples in test/fixtures/events/. HTTP
// events take their routeKey and pathParameters from template.yaml: the route API Gateway would
// select for the request (scripts/check-template.ts selectRoute), so a test also proves which
// function a request reaches.
import { readFileSync } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { httpApiRoutes, selectRoute } from '../../scripts/check-template.js'
import { loadTemplate } from '../../scripts/build-lambda.js'
import type { ScheduledEvent, SQSEvent, SQSRecord } from 'aws-lambda'
import { ConfigSchema } from '../../src/config.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'events')
type Json = Record<string, unknown>

export function fixture<T = Json> (name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T
}

export const lambdaContext = fixture('lambda-context.json')

const routes = httpApiRoutes(await loadTemplate())

export interface HttpRequest {
  method: string
  path: string
  query?: Record<string, string>
  /** The query string exactly as the client sent it (instead of `query`). */
  rawQuery?: string
  headers?: Record<string, string>
  body?: unknown
  /** Send the body base64-encoded (isBase64Encoded: true), as API Gateway does for binary media. */
  base64?: boolean
}

export interface HttpEvent extends Json {
  routeKey: string
  rawPath: string
  pathParameters?: Record<string, string>
  headers: Record<string, string>
  body?: string
  isBase64Encoded: boolean
}

/** An API Gateway HTTP API (payload 2.0) event, plus the function template.yaml routes it to. */
export function httpEvent (req: HttpRequest): { event: HttpEvent; functionName: string } {
  const hit = selectRoute(routes, req.method, req.path)
  if (hit === undefined) throw new Error(`template.yaml has no route for ${req.method} ${req.path}`)
  const base = fixture<Json & { headers: Record<string, string>; requestContext: Json & { http: Json } }>('http-api-v2.json')
  const text = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
  const rawQueryString = req.rawQuery ?? new URLSearchParams(req.query ?? {}).toString()
  const headers: Record<string, string> = { ...base.headers }
  if (text === undefined) {
    delete headers['content-type']
    delete headers['content-length']
  } else {
    headers['content-length'] = String(Buffer.byteLength(text))
  }
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v
  const routeKey = `${hit.route.method} ${hit.route.path}`
  const now = Date.now()
  const event: HttpEvent = {
    ...base,
    routeKey,
    rawPath: req.path,
    rawQueryString,
    headers,
    requestContext: {
      ...base.requestContext,
      http: { ...base.requestContext.http, method: req.method, path: req.path },
      requestId: randomUUID(),
      routeKey,
      time: new Date(now).toUTCString(),
      timeEpoch: now
    },
    isBase64Encoded: req.base64 === true
  }
  if (rawQueryString !== '') event.queryStringParameters = apiGatewayQueryParameters(rawQueryString)
  if (Object.keys(hit.pathParameters).length > 0) event.pathParameters = hit.pathParameters
  if (text !== undefined) event.body = req.base64 === true ? Buffer.from(text).toString('base64') : text
  return { event, functionName: hit.route.function }
}

/**
 * `queryStringParameters` as API Gateway builds it from the raw query string (payload 2.0): keys
 * and values percent-decoded, the values of a repeated key joined by commas.
 */
export function apiGatewayQueryParameters (raw: string): Record<string, string> {
  const decode = (s: string) => {
    try { return decodeURIComponent(s) } catch { return s }
  }
  const out: Record<string, string> = {}
  for (const pair of raw.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const key = decode(eq < 0 ? pair : pair.slice(0, eq))
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1))
    out[key] = key in out ? `${out[key]},${value}` : value
  }
  return out
}

/** An SQS event source batch: one record per body, in the fixture's shape. */
export function sqsEvent (bodies: string[]): SQSEvent {
  return {
    Records: bodies.map((body) => {
      const base = fixture<SQSRecord>('sqs-record.json')
      return { ...base, messageId: randomUUID(), receiptHandle: `AQEB${randomUUID()}`, body, attributes: { ...base.attributes, SentTimestamp: String(Date.now()) } }
    })
  }
}

/** An EventBridge "Scheduled Event", as the rule of the MaintenanceFunction sends it. */
export function scheduledEvent (): ScheduledEvent {
  const base = fixture<ScheduledEvent>('scheduled-event.json')
  return { ...base, id: randomUUID(), time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }
}

/**
 * Run `load` with the configuration part of process.env replaced by `env` (entry points read it at
 * import), restoring it afterwards. Keys outside the config schema are left alone.
 */
export async function withProcessEnv<T> (env: Record<string, string>, load: () => Promise<T>): Promise<T> {
  const keys = new Set([...Object.keys(ConfigSchema.properties), 'JWT_SECRET_ARN', ...Object.keys(env)])
  const saved = new Map([...keys].map((k) => [k, process.env[k]]))
  for (const k of keys) delete process.env[k]
  Object.assign(process.env, env)
  try {
    return await load()
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}
