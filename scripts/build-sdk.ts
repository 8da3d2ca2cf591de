// npm run build:sdk [-- --out dist/openfeature]
//
// Bundles the in-process OpenFeature provider (src/sdk/index.ts) into one ES module, the target of
// the package's `switchyard/openfeature` export: the engine inlined, @openfeature/server-sdk left
// to the application (a peer dependency), node builtins left as they are. The build fails when the
// bundle would pull in anything else (a schema library, the AWS SDK, Fastify, ...), so the
// provider stays what docs/OPENFEATURE.md promises: the engine, fetch and the SDK.
import { build } from 'esbuild'
import { builtinModules } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** The only source files the provider may contain. */
export const ALLOWED_SOURCES = /^src\/(sdk\/[a-z-]+|domain\/(evaluate|compile|schedule|operators|values|regex-safety|explain-clause|semver|murmur3|constants))\.ts$/

export interface SdkBuild { outFile: string; bytes: number; sources: string[]; imports: string[] }

export async function buildSdk (outDir: string): Promise<SdkBuild> {
  const outFile = join(outDir, 'index.js')
  const result = await build({
    entryPoints: [join(ROOT, 'src/sdk/index.ts')],
    outfile: outFile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['@openfeature/server-sdk', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    metafile: true,
    sourcemap: true,
    logLevel: 'silent'
  })
  const out = Object.entries(result.metafile.outputs).find(([f]) => f.endsWith('index.js'))
  if (out === undefined) throw new Error('esbuild wrote no index.js')
  const sources = Object.keys(result.metafile.inputs).map((f) => relative(ROOT, resolve(f))).sort()
  const imports = [...new Set(out[1].imports.map((i) => i.path))].sort()
  const foreign = sources.filter((s) => !ALLOWED_SOURCES.test(s))
  if (foreign.length > 0) throw new Error(`the provider bundle would contain ${foreign.join(', ')}: it may hold only the engine and src/sdk`)
  const unexpected = imports.filter((i) => i !== '@openfeature/server-sdk' && !i.startsWith('node:') && !builtinModules.includes(i))
  if (unexpected.length > 0) throw new Error(`the provider bundle imports ${unexpected.join(', ')}`)
  return { outFile, bytes: out[1].bytes, sources, imports }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: join(ROOT, 'dist/openfeature') } } })
  const b = await buildSdk(resolve(values.out))
  process.stdout.write(`${relative(ROOT, b.outFile)}: ${(b.bytes / 1024).toFixed(1)} KiB from ${b.sources.length} files (${b.sources.join(', ')}); imports ${b.imports.join(', ')}\n`)
}
