// A minimal structured logger for the worker functions (audit consumer, maintenance). They run
// without Fastify, so they do not get pino from it; this writes the same shape pino does (numeric
// `level`, `time`, `msg`, bindings) as one JSON line to stdout, which Lambda ships to the
// function's log group, so one CloudWatch Logs Insights query reads every function's logs.
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const
export type LogLevel = keyof typeof LEVELS

export interface Logger {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
  child(bindings: object): Logger
}

function serialize (value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: value.message, stack: value.stack }
    const code = (value as { code?: unknown }).code
    if (code !== undefined) out.code = code
    if (value.cause !== undefined) out.cause = serialize(value.cause)
    return out
  }
  return value
}

export function createLogger (level: string, bindings: object = {}, write: (line: string) => void = (line) => { process.stdout.write(line + '\n') }): Logger {
  const threshold = LEVELS[level as LogLevel] ?? LEVELS.info
  function log (n: number, obj: object, msg: string) {
    if (n < threshold) return
    const entry: Record<string, unknown> = { level: n, time: Date.now(), ...bindings }
    for (const [k, v] of Object.entries(obj)) entry[k] = serialize(v)
    entry.msg = msg
    write(JSON.stringify(entry))
  }
  return {
    debug: (obj, msg) => log(LEVELS.debug, obj, msg),
    info: (obj, msg) => log(LEVELS.info, obj, msg),
    warn: (obj, msg) => log(LEVELS.warn, obj, msg),
    error: (obj, msg) => log(LEVELS.error, obj, msg),
    child: (more) => createLogger(level, { ...bindings, ...more }, write)
  }
}
