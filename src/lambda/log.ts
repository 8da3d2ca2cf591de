// The worker functions' logger (audit consumer, maintenance): pino, as Fastify's functions use, so
// every function writes the same JSON lines (numeric `level`, `time`, `msg`, bindings) to stdout,
// which Lambda ships to the log group, and one CloudWatch Logs Insights query reads them all.
// No pid or hostname: on Lambda they say nothing. The entry points import ./call-sites.js before
// this module, so pino never parses the bundle's source map (see there).
import pino, { type DestinationStream, type Logger } from 'pino'

export type { Logger } from 'pino'

export function createLogger (level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  return pino({ level, base: bindings }, destination)
}
