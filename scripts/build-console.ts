// npm run build:console [-- --if-stale]
//
// Builds the admin console (src/console/, Vite) into dist/console/, and copies it into
// dist/console-layer/console/, the AWS layer that ships it with ApiFunction (scripts/console-layer.ts).
// With --if-stale it builds only when dist/console/index.html is missing or older than a console
// source file, so `npm run dev` and the browser tests can call it on every start for the price of a directory walk.
//
// The build goes to a fresh directory that is then renamed into place, so a server reading
// dist/console meanwhile, or a second build running at the same time (two test files starting
// dev servers), never sees a half-written console.
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeConsoleLayer } from './console-layer.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const CONSOLE_SRC = join(ROOT, 'src/console')
export const CONSOLE_OUT = join(ROOT, 'dist/console')

async function newestMtime (dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? await newestMtime(path) : (await stat(path)).mtimeMs)
  }
  return newest
}

export async function consoleIsStale (): Promise<boolean> {
  const built = await stat(join(CONSOLE_OUT, 'index.html')).catch(() => undefined)
  if (built === undefined) return true
  const sources = Math.max(await newestMtime(CONSOLE_SRC), (await stat(join(ROOT, 'package-lock.json'))).mtimeMs)
  return sources > built.mtimeMs
}

export async function buildConsole (): Promise<void> {
  await mkdir(join(ROOT, 'dist'), { recursive: true })
  const tmp = await mkdtemp(join(ROOT, 'dist', 'console-build-'))
  try {
    // Loaded only to build: the --if-stale check on every `npm run dev` and `npm test` needs no Vite.
    const { build } = await import('vite')
    await build({ configFile: join(CONSOLE_SRC, 'vite.config.ts'), build: { outDir: tmp, emptyOutDir: true } })
    const old = `${CONSOLE_OUT}-old-${process.pid}`
    await rename(CONSOLE_OUT, old).catch(() => {})
    // Another build may have renamed its output into place between the two renames: theirs wins.
    await rename(tmp, CONSOLE_OUT).catch(() => {})
    await rm(old, { recursive: true, force: true })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  await writeConsoleLayer(CONSOLE_OUT)
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes('--if-stale')
  if (!ifStale || await consoleIsStale()) {
    const started = performance.now()
    await buildConsole()
    process.stdout.write(`console built into ${CONSOLE_OUT} in ${Math.round(performance.now() - started)} ms\n`)
  }
}
