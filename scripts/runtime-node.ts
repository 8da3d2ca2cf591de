// The Node binary of the Lambda runtime the template names (Runtime: nodejs24.x → Node 24), for
// running the Lambda handler tests and `npm run bench:lambda` on the runtime's major rather than
// only on the machine's. The newest binary of that major comes from the npm registry's
// node-<platform>-<arch> package (`npm pack`, no install scripts), fetched once into
// node_modules/.cache/switchyard-node/<major>.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT, loadTemplate } from './build-lambda.js'

/** The Node major of the template's Globals.Function.Runtime (nodejs24.x → '24'). */
export async function runtimeMajor (): Promise<string | undefined> {
  const runtime = String(((await loadTemplate()).Globals as { Function?: { Runtime?: string } } | undefined)?.Function?.Runtime ?? '')
  return /^nodejs(\d+)\.x$/.exec(runtime)?.[1]
}

/**
 * `wanted`: a major ('24': that major's newest binary, fetched once), 'current' (the node running
 * this) or a path to a node binary.
 */
export async function resolveNode (wanted: string): Promise<{ path: string; version: string }> {
  let path = process.execPath
  if (/^\d+$/.test(wanted)) {
    const pkg = `node-${process.platform}-${process.arch}`
    const cache = join(ROOT, 'node_modules', '.cache', 'switchyard-node', wanted)
    path = join(cache, 'package', 'bin', 'node')
    if (!existsSync(path)) {
      process.stderr.write(`fetching ${pkg}@${wanted} from the npm registry into ${cache} ...\n`)
      // Unpacked beside the cache and renamed into place: two test files fetching at once on a
      // fresh clone never see (or run) a half-extracted binary; the first rename wins.
      await mkdir(cache, { recursive: true })
      const tmp = await mkdtemp(join(cache, 'fetch-'))
      try {
        const tarball = execFileSync('npm', ['pack', `${pkg}@${wanted}`, '--silent'], { cwd: tmp, encoding: 'utf8' }).trim().split('\n').pop()!
        execFileSync('tar', ['xzf', tarball], { cwd: tmp })
        await rename(join(tmp, 'package'), join(cache, 'package')).catch((err: NodeJS.ErrnoException) => {
          if (!existsSync(path)) throw err
        })
      } finally {
        await rm(tmp, { recursive: true, force: true })
      }
    }
  } else if (wanted !== 'current') {
    path = wanted
  }
  return { path, version: execFileSync(path, ['--version'], { encoding: 'utf8' }).trim() }
}
