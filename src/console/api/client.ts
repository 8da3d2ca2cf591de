// The console's only way to the server: the public REST API, typed by schema.d.ts (generated from
// the app's OpenAPI document, `npm run console:types`). Every call carries the user's token; a 401
// ends the session and sends the user back to sign in.
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './schema'
import { session, signOut } from '../session'

export type { paths }
export type Problem = { type: string; title: string; status: number; detail: string; errors?: Array<{ path: string; message: string }> }

export class ApiError extends Error {
  readonly status: number
  readonly problem: Problem
  constructor (problem: Problem) {
    super(problem.detail)
    this.status = problem.status
    this.problem = problem
  }

  /** Field messages keyed by JSON pointer (`/body/rules/0/clauses/1/values/0`). */
  get fieldErrors (): FieldErrors {
    return new FieldErrors(this.problem.errors ?? [])
  }
}

export class FieldErrors {
  readonly list: Array<{ path: string; message: string }>
  constructor (list: Array<{ path: string; message: string }> = []) {
    // Schema errors name the request part (`/body/name`); the flag validator's name the body's own
    // fields (`/variants/0/value` on POST /features): both become pointers under /body.
    this.list = list.map((e) => ({ path: /^\/(body|params|querystring|headers)(\/|$)/.test(e.path) ? e.path : `/body${e.path}`, message: e.message }))
  }

  /** Messages for this pointer and anything under it. */
  at (pointer: string): string[] {
    return this.list.filter((e) => e.path === pointer || e.path.startsWith(pointer + '/')).map((e) => e.message)
  }

  /** Messages no field claimed (shown at the top of the form). */
  unclaimed (claimed: (path: string) => boolean): Array<{ path: string; message: string }> {
    return this.list.filter((e) => !claimed(e.path))
  }
}

const auth: Middleware = {
  onRequest ({ request }) {
    const s = session()
    if (s !== null) request.headers.set('authorization', `Bearer ${s.token}`)
    return request
  },
  onResponse ({ response, request }) {
    if (response.status === 401 && request.headers.has('authorization')) signOut('Your session expired or was revoked. Sign in again.')
    return response
  }
}

export const api = createClient<paths>({ baseUrl: '' })
api.use(auth)

/** The data of an openapi-fetch result, or an ApiError carrying the problem document. */
export function ok<T> (res: { data?: T; error?: unknown; response: Response }): T {
  if (res.response.ok) return res.data as T
  const e = res.error as Partial<Problem> | undefined
  throw new ApiError({
    type: e?.type ?? 'about:blank',
    title: e?.title ?? res.response.statusText,
    status: res.response.status,
    detail: e?.detail ?? `The server answered ${res.response.status}`,
    errors: e?.errors
  })
}

export const etagOf = (version: number) => `"${version}"`

export function message (err: unknown): string {
  return err instanceof ApiError ? err.problem.detail : err instanceof Error ? err.message : String(err)
}
