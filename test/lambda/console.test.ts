// The console on AWS: ApiFunction's handler, configured as template.yaml configures it (CONSOLE_DIR
// naming the console/ directory of ConsoleLayer, here a layer written by the build into a temp
// directory instead of /opt), answers API Gateway HTTP API v2 events for /console: the page with
// no-store and the strict CSP, hashed assets cached immutably, binary assets base64-encoded.
import t from 'tap'
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStack, testEnv } from '../helper.js'
import { CONSOLE_CSP } from '../../routes/console.js'
import { buildConsole, consoleIsStale, CONSOLE_OUT } from '../../scripts/build-console.js'
import { CONSOLE_LAYER_MOUNT, writeConsoleLayer } from '../../scripts/console-layer.js'
import { loadTemplate } from '../../scripts/build-lambda.js'
import { httpEvent, lambdaContext, withProcessEnv } from './events.js'

interface LambdaHttpResponse { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded?: boolean }

if (await consoleIsStale()) await buildConsole()
const layerDir = await mkdtemp(join(tmpdir(), 'switchyard-console-layer-'))
t.teardown(() => rm(layerDir, { recursive: true, force: true }))
const consoleDir = await writeConsoleLayer(CONSOLE_OUT, layerDir)
// A binary asset (the build has none today; fonts or images would be): must survive API Gateway.
const png = join(consoleDir, 'assets', 'logo-5f3a9c21.png')
await copyFile(new URL('../../docs/console/sign-in.png', import.meta.url), png)

const stack = await startStack(t)
const api = await withProcessEnv({ ...testEnv(stack), CONSOLE_DIR: consoleDir }, () => import('../../src/lambda/api.js'))
t.teardown(() => api.app.close())

async function get (path: string) {
  const { event, functionName } = httpEvent({ method: 'GET', path, headers: { accept: '*/*' } })
  if (functionName !== 'ApiFunction') throw new Error(`${path} is routed to ${functionName}, not ApiFunction`)
  const res = await api.handler(event, lambdaContext as never) as LambdaHttpResponse
  return { event, res }
}

t.test('the template points ApiFunction at the layer', async (t) => {
  const template = await loadTemplate() as { Resources: Record<string, { Properties: { Environment: { Variables: Record<string, string> } } }> }
  t.equal(template.Resources.ApiFunction!.Properties.Environment.Variables.CONSOLE_DIR, CONSOLE_LAYER_MOUNT)
})

t.test('GET /console and a deep link answer the page, never cached, with the strict CSP', async (t) => {
  const html = await readFile(join(consoleDir, 'index.html'), 'utf8')
  for (const path of ['/console', '/console/flags/new-checkout/history']) {
    const { event, res } = await get(path)
    t.equal(event.routeKey, path === '/console' ? 'GET /console' : 'GET /console/{proxy+}')
    t.equal(res.statusCode, 200, res.body)
    t.match(res.headers['content-type'], /^text\/html/)
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['content-security-policy'], CONSOLE_CSP)
    t.equal(res.headers['x-frame-options'], 'DENY')
    t.equal(res.isBase64Encoded, false)
    t.equal(res.body, html)
  }
})

t.test('hashed assets: immutable; text as text, binary base64-encoded', async (t) => {
  const html = await readFile(join(consoleDir, 'index.html'), 'utf8')
  const script = /<script type="module"[^>]* src="\/console\/assets\/([^"]+\.js)"/.exec(html)?.[1]
  t.ok(script, 'index.html loads a hashed script')
  const js = await get(`/console/assets/${script!}`)
  t.equal(js.res.statusCode, 200)
  t.match(js.res.headers['content-type'], /^text\/javascript/)
  t.equal(js.res.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(js.res.isBase64Encoded, false)
  t.equal(js.res.body, await readFile(join(consoleDir, 'assets', script!), 'utf8'))

  const css = (await readdir(join(consoleDir, 'assets'))).find((f) => f.endsWith('.css'))
  if (css !== undefined) t.match((await get(`/console/assets/${css}`)).res.headers['content-type'], /^text\/css/)

  const image = await get('/console/assets/logo-5f3a9c21.png')
  t.equal(image.res.statusCode, 200)
  t.equal(image.res.headers['content-type'], 'image/png')
  t.equal(image.res.headers['cache-control'], 'public, max-age=31536000, immutable')
  t.equal(image.res.isBase64Encoded, true, 'API Gateway decodes it back to the bytes')
  t.ok(Buffer.from(image.res.body, 'base64').equals(await readFile(png)), 'the exact bytes')

  const missing = await get('/console/assets/index-0000.js')
  t.equal(missing.res.statusCode, 404)
  t.match(missing.res.headers['content-type'], /^application\/problem\+json/)
  t.equal(missing.res.isBase64Encoded, false)
})

t.test('the API beside it is unchanged: JSON stays text', async (t) => {
  const { res } = await get('/health')
  t.equal(res.isBase64Encoded, false)
  t.match(res.headers['content-type'], /json/)
})
