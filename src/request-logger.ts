// request.log, made when something logs. Fastify gives every request a child of the server's
// logger bound to its request id; pino builds a child eagerly (its bindings serialized through the
// redaction paths of src/core.ts), about a microsecond a request, on every request whether or not
// anything is logged. On the evaluation and sync routes nothing is, at any level up to `info`
// (their access log is a per-minute summary, src/access-log.ts), so the child is made on the
// first call of an enabled level (or of `child`) and reused for the rest of the request: the
// same lines, the same bindings, only later. A route with its own log level or serializers gets
// pino's child at once, which is what Fastify makes by default.
import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions } from 'pino'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** What a pino logger offers beyond FastifyBaseLogger that this needs. */
type ParentLogger = FastifyBaseLogger & { isLevelEnabled(level: string): boolean }

class RequestLogger {
  private made: FastifyBaseLogger | undefined
  constructor (private readonly parent: ParentLogger, private readonly bindings: Bindings) {}

  /** The pino child this request logs through, made on first use. */
  private real (): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings))
  }

  private write (level: Level, args: unknown[]): void {
    if (this.parent.isLevelEnabled(level)) (this.real()[level] as (...a: unknown[]) => void)(...args)
  }

  get level (): string { return this.made?.level ?? this.parent.level }
  isLevelEnabled (level: string): boolean { return this.parent.isLevelEnabled(level) }
  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger { return this.real().child(bindings, options) }
  fatal (...args: unknown[]): void { this.write('fatal', args) }
  error (...args: unknown[]): void { this.write('error', args) }
  warn (...args: unknown[]): void { this.write('warn', args) }
  info (...args: unknown[]): void { this.write('info', args) }
  debug (...args: unknown[]): void { this.write('debug', args) }
  trace (...args: unknown[]): void { this.write('trace', args) }
  silent (): void {}
}

/** Fastify's childLoggerFactory (src/core.ts serverOptions). */
export function requestLogger (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  const parent = logger as ParentLogger
  // A route's own level or serializers (Fastify passes them only when set): pino's child now.
  if (options.level !== undefined || options.serializers !== undefined || typeof parent.isLevelEnabled !== 'function') return logger.child(bindings, options)
  return new RequestLogger(parent, bindings) as unknown as FastifyBaseLogger
}
