// Isolation: an endpoint that hangs holds its own deliveries, never another endpoint's. The bound,
// stated structurally instead of in milliseconds: every delivery to the healthy endpoint arrives
// while the hanging endpoint's first attempts are still held open, i.e. before any of them has
// reached its deadline (WEBHOOK_TIMEOUT_MS, 20 s here), and the hanging endpoint never has more
// than WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT attempts open at once.
import t from 'tap'
import { eventually } from '../helper.js'
import { buildWithWebhooks, startReceiver } from './support.js'

const CHANGES = 12
const MAX_IN_FLIGHT = 2

t.test('a hanging endpoint does not delay another endpoint\'s deliveries', async (t) => {
  const ctx = await buildWithWebhooks(t, { env: { WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: String(MAX_IN_FLIGHT) } })
  const stuck = await startReceiver(t)
  stuck.mode = 'hang'
  const healthy = await startReceiver(t)
  await ctx.subscribe({ url: stuck.url, filter: { flags: ['isolated'] } })
  await ctx.subscribe({ url: healthy.url, filter: { flags: ['isolated'] } })
  // Let the hanging endpoint take its attempts first.
  let maxOpen = 0
  const watch = setInterval(() => { maxOpen = Math.max(maxOpen, stuck.hanging()) }, 5)
  t.teardown(() => clearInterval(watch))

  t.equal((await ctx.app.inject({ method: 'POST', url: '/features', headers: { authorization: ctx.admin }, payload: { name: 'isolated', environments: { dev: false } } })).statusCode, 201)
  for (let i = 1; i < CHANGES; i++) {
    const res = await ctx.app.inject({ method: 'PUT', url: '/features/isolated/env/dev', headers: { authorization: ctx.admin, 'if-match': `"${i}"` }, payload: { enabled: i % 2 === 1 } })
    t.equal(res.statusCode, 200)
  }
  const started = Date.now()
  await eventually(async () => healthy.received.length >= CHANGES, { timeoutMs: 15_000, what: 'every delivery to the healthy endpoint' })
  const took = Date.now() - started
  maxOpen = Math.max(maxOpen, stuck.hanging())
  t.ok(stuck.hanging() > 0, 'the hanging endpoint is still holding attempts open')
  const stuckDeliveries = await ctx.hooks.webhooks.deliveries.list((await ctx.hooks.webhooks.subscriptions.list()).find((s) => s.url === stuck.url)!.id, { limit: 100 })
  t.ok(stuckDeliveries.items.every((d) => d.status === 'pending' && d.attempts === 0), 'none of its attempts has reached its deadline yet')
  t.equal(healthy.received.length, CHANGES, 'the healthy endpoint got all of them meanwhile')
  t.ok(maxOpen <= MAX_IN_FLIGHT, `the hanging endpoint never had more than ${MAX_IN_FLIGHT} attempts open (${maxOpen})`)
  t.comment(`healthy endpoint: ${CHANGES} deliveries in ${took} ms after the last commit, while the other endpoint hung`)
})
