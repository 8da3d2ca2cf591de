// Why `npm run dev` / `npm start` could not start, as one line a person can act on. A stack
// trace is kept only for what is not foreseen here (a bug, which its stack helps to find).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../config.js'

/** A start-up failure whose message is the whole story. */
export class StartupError extends Error {}

/** What `running.json` in DATA_DIR says about the dev server that owns that directory. */
export interface RunningMarker { pid: number; dynamoEndpoint?: string; url?: string }

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Refuse to start on a DATA_DIR another live process serves: its LevelDB files are locked, and
 * dynalite would fail later with "Database is closed". A marker left by a killed process is ignored.
 */
export async function refuseIfAlreadyRunning (dataDir: string): Promise<void> {
  let marker: RunningMarker
  try {
    marker = JSON.parse(await readFile(join(dataDir, 'running.json'), 'utf8')) as RunningMarker
  } catch {
    return
  }
  if (typeof marker.pid !== 'number' || marker.pid === process.pid || !alive(marker.pid)) return
  throw new StartupError(`Switchyard is already running on DATA_DIR ${dataDir} (pid ${marker.pid}${marker.url !== undefined ? `, ${marker.url}` : ''}): ` +
    'use that one, stop it first, or start this one with another DATA_DIR')
}

/** The one line for a start-up failure, or undefined when it is unforeseen (then the stack helps). */
export function describeStartupError (err: unknown, env: Record<string, string | undefined>): string | undefined {
  if (err instanceof StartupError || err instanceof ConfigError) return err.message
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number }
  if (e?.code === 'EADDRINUSE') {
    return `Port ${e.port ?? env.PORT ?? 3000} on ${e.address ?? env.HOST ?? '127.0.0.1'} is already in use: stop what is listening there, or set PORT to another port (PORT=0 picks a free one)`
  }
  if (e?.code === 'EADDRNOTAVAIL') return `HOST ${env.HOST ?? ''} is not an address of this machine: use 127.0.0.1, 0.0.0.0 or one of its own addresses`
  if (e?.code === 'EACCES' && e.syscall === 'listen') return `Not allowed to listen on port ${e.port ?? env.PORT ?? ''}: ports below 1024 need privileges; use a higher PORT`
  if (e?.code === 'EACCES' || e?.code === 'EROFS') return `Cannot write to DATA_DIR (${e.path ?? env.DATA_DIR ?? '.data'}): ${e.code}; choose a writable directory with DATA_DIR`
  if (e instanceof Error && e.message === 'Database is closed') {
    return `The data in DATA_DIR (${env.DATA_DIR ?? '.data'}) is locked by another process (another npm run dev, or npm run create-admin): stop it, or use another DATA_DIR`
  }
  return undefined
}
