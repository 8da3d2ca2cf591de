// OpenFeature Node server SDK with the Switchyard provider: rules synced once, evaluated in-process
// (no request per evaluation), changes pushed by the stream (polling when the server has none).
//
//   SWITCHYARD_URL=http://127.0.0.1:3000 SWITCHYARD_API_KEY=sy_dev_… npx tsx examples/node-in-process.ts
//   (a *server* key: POST /api-keys with "kind": "server")
import { OpenFeature, ProviderEvents } from '@openfeature/server-sdk'
import { SwitchyardProvider } from '../src/sdk/index.js' // in your service: from 'switchyard/openfeature'

const apiKey = process.env.SWITCHYARD_API_KEY
if (apiKey === undefined) {
  console.error('Set SWITCHYARD_API_KEY to a server API key (POST /api-keys with "kind": "server").')
  process.exit(1)
}
const provider = new SwitchyardProvider({
  baseUrl: process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:3000',
  apiKey,
  snapshotFile: '.switchyard-rules.json' // serves these rules if Switchyard is down when we start
})
await OpenFeature.setProviderAndWait(provider)
const client = OpenFeature.getClient()
client.addHandler(ProviderEvents.ConfigurationChanged, (e) => { console.log('changed:', e?.flagsChanged) })
client.addHandler(ProviderEvents.Stale, (e) => { console.warn('stale:', e?.message) })

for (const user of [{ targetingKey: 'user-1', plan: 'free' }, { targetingKey: 'vip-user', plan: 'pro' }]) {
  const banner = await client.getStringDetails('banner-color', 'blue', user)
  console.log(user.targetingKey, banner.value, banner.reason, banner.flagMetadata)
}
console.log('watching for changes for 30 s (edit a flag in the console or the API)…')
setTimeout(() => { void OpenFeature.close() }, 30_000)
