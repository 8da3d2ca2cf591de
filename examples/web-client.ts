// OpenFeature web SDK → Switchyard over OFREP (static context: one bulk request per context, then
// polling with ETag/If-None-Match, so unchanged flags cost a 304). The same code runs in a browser
// (bundle it with Vite/esbuild) and, as here, under Node ≥ 20, which has fetch.
//
//   npm install @openfeature/web-sdk @openfeature/ofrep-web-provider
//   SWITCHYARD_URL=http://127.0.0.1:3000 SWITCHYARD_API_KEY=sy_dev_… npx tsx examples/web-client.ts
//
// In a browser, the page's origin must be allowed by the server's CORS_ORIGINS (default *), and the
// key is visible to anyone using the page: give front ends their own key, for their environment only.
import { OpenFeature, ProviderEvents } from '@openfeature/web-sdk'
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider'

const baseUrl = process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:3000'
const apiKey = process.env.SWITCHYARD_API_KEY
if (apiKey === undefined) {
  console.error('Set SWITCHYARD_API_KEY (an API key from POST /api-keys, or run examples/setup.ts).')
  process.exit(1)
}
const runForMs = Number(process.env.RUN_FOR_MS ?? 15_000)

await OpenFeature.setContext({ targetingKey: 'user-1', plan: 'free' })
await OpenFeature.setProviderAndWait(new OFREPWebProvider({
  baseUrl,
  headers: [['Authorization', `Bearer ${apiKey}`]],
  pollInterval: 5_000, // re-evaluate every 5 s; unchanged results are answered 304
  changeDetection: 'polling',
  // localStorage does not exist under Node; in a browser leave the default ('local-cache-first').
  cacheMode: typeof localStorage === 'undefined' ? 'disabled' : 'local-cache-first'
}))
const client = OpenFeature.getClient()

function show (label: string) {
  console.log(label, {
    darkMode: client.getBooleanValue('dark-mode', false),
    banner: client.getStringValue('banner-color', 'blue'),
    maxItems: client.getNumberValue('max-items', 10),
    checkout: client.getObjectValue('checkout-config', { layout: 'single-page', steps: 1 })
  })
}

show('user-1')
// Evaluations are synchronous: they read the last bulk result. Changes arrive with the next poll.
client.addHandler(ProviderEvents.ConfigurationChanged, (e) => { show(`changed ${(e?.flagsChanged ?? []).join(', ')}:`) })

// A new context (e.g. after login) is evaluated at once.
await OpenFeature.setContext({ targetingKey: 'vip-user', plan: 'pro' })
show('vip-user')

console.log(`polling for ${runForMs / 1000} s: change a flag in dev (PUT /features/{flag}/env/dev) to see it arrive`)
await new Promise((resolve) => setTimeout(resolve, runForMs))
await OpenFeature.close()
