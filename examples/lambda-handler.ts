// AWS Lambda handler evaluating flags in-process with the Switchyard provider, frozen-container mode.
//
//   npm install @openfeature/server-sdk    (switchyard/openfeature: `npm run build:sdk` in this repository)
//   SWITCHYARD_URL=https://flags.example.com SWITCHYARD_API_KEY=sy_prod_… (a *server* key)
//
// Outside the handler (Lambda's init phase): one sync. No timer, no stream: a Lambda container is
// frozen between invocations, so anything running in the background would stop mid-way. Instead,
// the first evaluation that finds the rules older than `refreshIntervalMs` starts one conditional
// refetch (a 304 costs one small request when nothing changed) and answers from the rules it has;
// that invocation or a later one installs the result. A container that served nothing for an hour
// answers its first request from hour-old rules and refreshes on the way.
//
// Try it locally: SWITCHYARD_URL=http://127.0.0.1:3000 SWITCHYARD_API_KEY=sy_dev_… npx tsx examples/lambda-handler.ts
import { OpenFeature } from '@openfeature/server-sdk'
import { SwitchyardProvider } from '../src/sdk/index.js' // in your function: from 'switchyard/openfeature'

const provider = new SwitchyardProvider({
  baseUrl: process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:3000',
  apiKey: process.env.SWITCHYARD_API_KEY ?? '',
  mode: 'frozen',
  refreshIntervalMs: 10_000,
  // Lambda's /tmp survives between invocations of one container, and the package can ship a
  // snapshot (`curl -H "x-api-key: $KEY" $URL/sdk/v1/flags > rules.json`): a cold start while
  // Switchyard is unreachable then still has rules.
  snapshotFile: '/tmp/switchyard-rules.json'
})
await OpenFeature.setProviderAndWait(provider)
const flags = OpenFeature.getClient()

export async function handler (event: { userId?: string; plan?: string }) {
  const context = { targetingKey: event.userId ?? 'anonymous', plan: event.plan ?? 'free' }
  const newCheckout = await flags.getBooleanValue('new-checkout', false, context) // ~µs, no network
  return { statusCode: 200, body: JSON.stringify({ newCheckout }) }
}

// Local run: two invocations, like Lambda would make them.
if (process.argv[1]?.endsWith('lambda-handler.ts') === true) {
  console.log(await handler({ userId: 'user-1' }))
  console.log(await handler({ userId: 'vip-user', plan: 'pro' }))
  await OpenFeature.close()
}
