// Typed errors thrown by handlers, hooks and repositories; the error-handler plugin turns them
// into RFC 9457 problem documents. Domain code never builds HTTP responses itself.

export interface FieldError { path: string; message: string }

export class AppError extends Error {
  readonly statusCode: number
  readonly type: string
  readonly title: string
  readonly errors?: FieldError[]
  readonly headers?: Record<string, string>

  constructor (statusCode: number, title: string, detail: string, opts: { type?: string; errors?: FieldError[]; headers?: Record<string, string> } = {}) {
    super(detail)
    this.name = 'AppError'
    this.statusCode = statusCode
    this.title = title
    this.type = opts.type ?? 'about:blank'
    this.errors = opts.errors
    this.headers = opts.headers
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new AppError(400, 'Bad Request', detail, { errors })
export const unauthorized = (detail = 'Authentication required') =>
  new AppError(401, 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer' } })
export const forbidden = (detail = 'Insufficient role') => new AppError(403, 'Forbidden', detail)
export const notFound = (detail: string, errors?: FieldError[]) => new AppError(404, 'Not Found', detail, { errors })
export const notAcceptable = (detail: string) => new AppError(406, 'Not Acceptable', detail)
export const conflict = (detail: string) => new AppError(409, 'Conflict', detail)
export const preconditionFailed = (detail: string) => new AppError(412, 'Precondition Failed', detail)
export const preconditionRequired = (detail: string) => new AppError(428, 'Precondition Required', detail)
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new AppError(429, 'Too Many Requests', detail, { headers: { 'retry-after': String(retryAfterSeconds) } })
export const serviceUnavailable = (detail: string, retryAfterSeconds = 1) =>
  new AppError(503, 'Service Unavailable', detail, { headers: { 'retry-after': String(retryAfterSeconds) } })
