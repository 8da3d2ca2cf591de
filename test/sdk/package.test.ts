// The provider as the package ships it: `switchyard/openfeature` resolves to the bundle that
// npm run build:sdk writes, and that bundle holds the engine and src/sdk only (no schema library,
// no AWS SDK, no Fastify), importing nothing but @openfeature/server-sdk and node builtins. The
// bundle is then loaded and evaluates a flag from a snapshot file with the service unreachable.
import t from 'tap'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ALLOWED_SOURCES, buildSdk, ROOT } from '../../scripts/build-sdk.js'
import { toSyncDocument } from '../../src/sdk/format.js'
import type { FlagDefinition } from '../../src/domain/model.js'

t.test('package.json exports switchyard/openfeature', async (t) => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  t.same(pkg.exports['./openfeature'], { types: './src/sdk/index.ts', default: './dist/openfeature/index.js' })
  t.match(pkg.peerDependencies, { '@openfeature/server-sdk': String })
  t.equal(pkg.scripts['build:sdk'], 'tsx scripts/build-sdk.ts')
})

t.test('the bundle: the engine and the provider, nothing else; it works on its own', async (t) => {
  // Inside the repository (not /tmp) so the bundle's one package import resolves from node_modules.
  const dir = await mkdtemp(join(ROOT, 'dist-sdk-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const built = await buildSdk(dir)
  // The engine's own modules and the provider; never the model's schemas, validation or the server.
  t.ok(built.sources.every((f) => ALLOWED_SOURCES.test(f)), `only the engine and src/sdk: ${built.sources.join(', ')}`)
  for (const f of ['src/domain/evaluate.ts', 'src/domain/operators.ts', 'src/sdk/provider.ts', 'src/sdk/format.ts']) t.ok(built.sources.includes(f), f)
  for (const f of ['src/domain/model.ts', 'src/domain/validate-flag.ts', 'src/domain/formats.ts']) t.notOk(built.sources.includes(f), `not ${f}`)
  t.notOk(built.sources.some((f) => f.includes('node_modules')), 'no package bundled in')
  t.same(built.imports, ['@openfeature/server-sdk', 'node:fs/promises'], 'node:http(s) and node:zlib through process.getBuiltinModule')
  t.ok(built.bytes < 100 * 1024, `${built.bytes} bytes`)

  const def: FlagDefinition = {
    flag: 'checkout',
    environment: 'prod',
    type: 'string',
    version: 3,
    enabled: true,
    offVariant: 'old',
    variants: [{ key: 'old', value: 'old' }, { key: 'new', value: 'new' }],
    defaultServe: { variant: 'old' },
    targets: [{ variant: 'new', values: ['vip'] }],
    rules: [],
    prerequisites: [],
    schedule: [],
    segments: {}
  }
  const file = join(dir, 'rules.json')
  await writeFile(file, JSON.stringify(toSyncDocument('prod', 1, [def], new Date())))
  const { SwitchyardProvider } = await import(pathToFileURL(built.outFile).href) as typeof import('../../src/sdk/index.js')
  // Port 9 (discard): nothing answers, so the provider starts from the file.
  const provider = new SwitchyardProvider({ baseUrl: 'http://127.0.0.1:9', apiKey: 'sy_prod_x', mode: 'frozen', snapshotFile: file, requestTimeoutMs: 2_000 })
  await provider.initialize()
  t.match(await provider.resolveStringEvaluation('checkout', 'none', { targetingKey: 'vip' }), { value: 'new', variant: 'new', reason: 'TARGETING_MATCH', flagMetadata: { environment: 'prod', version: 3, ruleId: 'target:new' } })
  t.match(await provider.resolveStringEvaluation('checkout', 'none', { targetingKey: 'someone' }), { value: 'old', reason: 'DEFAULT' })
  t.match(await provider.resolveNumberEvaluation('checkout', 7, {}), { value: 7, reason: 'ERROR', errorCode: 'TYPE_MISMATCH' })
  t.match(await provider.resolveBooleanEvaluation('nope', true, {}), { value: true, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND' })
  await provider.onClose()
})
