// OpenFeature Node server SDK → Switchyard over OFREP (dynamic context: one request per evaluation).
//
//   npm install @openfeature/server-sdk @openfeature/ofrep-provider
//   SWITCHYARD_URL=http://127.0.0.1:3000 SWITCHYARD_API_KEY=sy_dev_… npx tsx examples/node-server.ts
import { OpenFeature } from '@openfeature/server-sdk'
import { OFREPProvider } from '@openfeature/ofrep-provider'

const baseUrl = process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:3000'
const apiKey = process.env.SWITCHYARD_API_KEY
if (apiKey === undefined) {
  console.error('Set SWITCHYARD_API_KEY (an API key from POST /api-keys, or run examples/setup.ts).')
  process.exit(1)
}

// The base URL is the server root: the provider appends /ofrep/v1/evaluate/flags/{key}.
// The API key decides the environment; `X-API-Key: <key>` works as well as the Bearer header.
await OpenFeature.setProviderAndWait(new OFREPProvider({ baseUrl, headers: [['Authorization', `Bearer ${apiKey}`]] }))
const client = OpenFeature.getClient()

for (const user of [{ targetingKey: 'user-1', plan: 'free' }, { targetingKey: 'vip-user', plan: 'pro' }]) {
  const darkMode = await client.getBooleanValue('dark-mode', false, user)
  const banner = await client.getStringDetails('banner-color', 'blue', user)
  const maxItems = await client.getNumberValue('max-items', 10, user)
  const checkout = await client.getObjectValue('checkout-config', { layout: 'single-page', steps: 1 }, user)
  console.log(user.targetingKey, { darkMode, banner: `${banner.value} (${banner.reason ?? ''})`, maxItems, checkout })
}

// A flag the server does not know: the SDK returns the code default and says why.
const missing = await client.getBooleanDetails('not-created-yet', true, { targetingKey: 'user-1' })
console.log('not-created-yet', { value: missing.value, errorCode: missing.errorCode })

await OpenFeature.close()
