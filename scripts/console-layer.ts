// The console on AWS: `npm run build` copies the built console (dist/console/) into
// dist/console-layer/console/, the ContentUri of template.yaml's ConsoleLayer. Lambda extracts a
// layer under /opt, so ApiFunction finds the files at /opt/console, the CONSOLE_DIR the template
// sets. `npm run check:template` (scripts/template/console-check.ts) holds the template to these
// names. A layer rather than files in the function's artifact: SAM's esbuild builder ships only
// the bundle, and a layer keeps the bundle (and EvaluateFunction) free of static files.
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** ConsoleLayer's ContentUri, relative to the template. */
export const CONSOLE_LAYER_CONTENT_URI = 'dist/console-layer'
/** Where the layer's console/ directory is inside a function (layers are extracted under /opt). */
export const CONSOLE_LAYER_MOUNT = '/opt/console'

/**
 * Writes `<layerDir>/console/` from a built console directory. The copy goes to a fresh directory
 * renamed into place, so a concurrent build never leaves half a layer.
 */
export async function writeConsoleLayer (consoleDir: string, layerDir = join(ROOT, CONSOLE_LAYER_CONTENT_URI)): Promise<string> {
  await mkdir(dirname(layerDir), { recursive: true })
  const tmp = await mkdtemp(`${layerDir}-build-`)
  try {
    await cp(consoleDir, join(tmp, 'console'), { recursive: true })
    const old = `${layerDir}-old-${process.pid}`
    await rename(layerDir, old).catch(() => {})
    await rename(tmp, layerDir).catch(() => {})
    await rm(old, { recursive: true, force: true })
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
  return join(layerDir, 'console')
}
