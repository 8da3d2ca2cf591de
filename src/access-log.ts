// What the server logs per request. Fastify logs two lines per request at `info` ("incoming
// request", "request completed"): on the evaluation routes, which answer thousands of requests a
// second from memory, those two lines cost more CPU than the evaluation (docs/PERFORMANCE.md).
// Routes that set `config: { accessLog: 'summary' }` (the evaluation routes) are instead counted,
// and one `info` line per route summarises each minute that had traffic: requests by status, mean
// and slowest response time. Anything an operator must see one by one is still logged one by one:
// a request that failed with an error or answered 5xx, and every request on the other routes.
// The summary is written by the request that closes a minute (no timer: a frozen Lambda container
// runs none), so the last partial minute before a quiet period or a shutdown is not written.
import { LogController } from 'fastify'
import type { FastifyReply, FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** 'summary': counted into a per-minute summary line instead of two log lines per request. */
    accessLog?: 'summary'
  }
}

interface Tally { count: number; totalMs: number; maxMs: number }

/** A route's tallies by status; the route's config object (one per route) is the key. */
interface RouteTallies { label: string; byStatus: Map<number, Tally> }

/** request.log is pino's child or src/request-logger.ts's, both with isLevelEnabled (a custom logger may lack it). */
function infoEnabled (request: FastifyRequest): boolean {
  const log = request.log as FastifyRequest['log'] & { isLevelEnabled?: (level: string) => boolean }
  return log.isLevelEnabled === undefined || log.isLevelEnabled('info')
}

export const SUMMARY_WINDOW_MS = 60_000

export class SummarisingLogController extends LogController {
  private windowStart = Date.now()
  private tallies = new Map<object, RouteTallies>()

  override incomingRequest (request: FastifyRequest, reply: FastifyReply): void {
    // Both the line and the summary are written at `info`: below it there is nothing to decide.
    if (!infoEnabled(request) || request.routeOptions.config?.accessLog === 'summary') return
    super.incomingRequest(request, reply)
  }

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if ((error !== null && error !== undefined) || reply.statusCode >= 500) {
      super.requestCompleted(error, request, reply)
      return
    }
    if (!infoEnabled(request)) return
    const route = request.routeOptions
    if (route.config?.accessLog !== 'summary') {
      super.requestCompleted(error, request, reply)
      return
    }
    // Keyed by objects that already exist: no label string built (and hashed) per request.
    let routeTallies = this.tallies.get(route.config)
    if (routeTallies === undefined) this.tallies.set(route.config, routeTallies = { label: `${request.method} ${route.url ?? ''}`, byStatus: new Map() })
    const ms = reply.elapsedTime
    const tally = routeTallies.byStatus.get(reply.statusCode)
    if (tally === undefined) routeTallies.byStatus.set(reply.statusCode, { count: 1, totalMs: ms, maxMs: ms })
    else {
      tally.count++
      tally.totalMs += ms
      if (ms > tally.maxMs) tally.maxMs = ms
    }
    const now = Date.now()
    if (now - this.windowStart >= SUMMARY_WINDOW_MS) this.flush(request, now)
  }

  private flush (request: FastifyRequest, now: number): void {
    const routes: Record<string, { requests: number; meanMs: number; maxMs: number }> = {}
    for (const { label, byStatus } of this.tallies.values()) {
      for (const [status, t] of byStatus) routes[`${label} ${status}`] = { requests: t.count, meanMs: Math.round(t.totalMs / t.count * 100) / 100, maxMs: Math.round(t.maxMs * 100) / 100 }
    }
    request.server.log.info({ accessSummary: routes, windowSeconds: Math.round((now - this.windowStart) / 1000) }, 'evaluation requests summarised')
    this.tallies = new Map()
    this.windowStart = now
  }
}
