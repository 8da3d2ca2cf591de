// HTTP API routes of the template, and the route API Gateway selects for a request.
import type { Json } from './json.js'

export interface HttpRoute { function: string; event: string; method: string; path: string }

export function httpApiRoutes (template: Json): HttpRoute[] {
  const out: HttpRoute[] = []
  for (const [name, r] of Object.entries((template.Resources ?? {}) as Record<string, Json>)) {
    if (r.Type !== 'AWS::Serverless::Function') continue
    const events = ((r.Properties as Json | undefined)?.Events ?? {}) as Record<string, Json>
    for (const [event, e] of Object.entries(events)) {
      if (e.Type !== 'HttpApi') continue
      const p = (e.Properties ?? {}) as Json
      out.push({ function: name, event, method: String(p.Method ?? 'ANY').toUpperCase(), path: String(p.Path ?? '/$default') })
    }
  }
  return out
}

/** Path parameters when `path` matches an HTTP API route path, else undefined. */
export function matchRoutePath (routePath: string, path: string): Record<string, string> | undefined {
  const want = routePath.split('/').filter((s) => s !== '')
  const have = path.split('?')[0]!.split('/').filter((s) => s !== '')
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    const seg = want[i]!
    const greedy = /^\{(.+)\+\}$/.exec(seg)
    if (greedy !== null) {
      if (i !== want.length - 1 || have.length <= i) return undefined
      params[greedy[1]!] = have.slice(i).join('/')
      return params
    }
    const h = have[i]
    if (h === undefined) return undefined
    const param = /^\{(.+)\}$/.exec(seg)
    if (param !== null) params[param[1]!] = h
    else if (seg !== h) return undefined
  }
  return have.length === want.length ? params : undefined
}

function compareScores (a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return 0
}

/**
 * The route API Gateway picks for a request: full matches before greedy ({proxy+}) ones, then the
 * one with more literal segments, then a specific method before ANY.
 */
export function selectRoute (routes: HttpRoute[], method: string, path: string): { route: HttpRoute; pathParameters: Record<string, string> } | undefined {
  let best: { route: HttpRoute; pathParameters: Record<string, string>; score: number[] } | undefined
  for (const route of routes) {
    if (route.method !== 'ANY' && route.method !== method.toUpperCase()) continue
    const pathParameters = matchRoutePath(route.path, path)
    if (pathParameters === undefined) continue
    const segments = route.path.split('/').filter((s) => s !== '')
    const greedy = segments.some((s) => s.endsWith('+}'))
    const literals = segments.filter((s) => !s.startsWith('{')).length
    const score = [greedy ? 0 : 1, literals, route.method === 'ANY' ? 0 : 1]
    if (best === undefined || compareScores(score, best.score) > 0) best = { route, pathParameters, score }
  }
  return best === undefined ? undefined : { route: best.route, pathParameters: best.pathParameters }
}

/** A concrete path for a Fastify route URL (`:param` → a sample segment, `*` → two segments). */
export function samplePath (url: string): string {
  const path = url.split('/').map((seg) => seg.startsWith(':') ? 'sample-value' : seg === '*' ? 'sample/rest' : seg.replace(/:[A-Za-z0-9_]+/g, 'x')).join('/')
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}
