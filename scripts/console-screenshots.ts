// npm run console:screenshots
//
// The pictures in docs/CONSOLE.md: `npm run dev` on a temporary DATA_DIR, a few realistic flags,
// a segment and an API key created through the API, each main page shot in Debian's Chromium.
import { mkdir } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { ADMIN, call, createUser, launchBrowser, newPage, signIn, startDev, tokenFor } from '../test/console/support.js'

const OUT = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'docs/console')
const cleanups: Array<() => unknown> = []
const scope = { teardown (fn: () => unknown) { cleanups.push(fn) } }

async function seed (dev: Awaited<ReturnType<typeof startDev>>, token: string) {
  const post = async (path: string, body: unknown) => {
    const res = await call(dev, 'POST', path, body, token)
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`)
  }
  await post('/segments', { key: 'beta-testers', description: 'People who opted into early features', included: ['user-7', 'user-12'], excluded: [], rules: [{ clauses: [{ attribute: 'email', operator: 'endsWith', values: ['@example.com'] }] }] })
  await post('/features', {
    name: 'checkout-theme',
    type: 'string',
    description: 'Which checkout design a shopper sees',
    tags: ['checkout', 'web'],
    variants: [{ key: 'classic', value: 'classic' }, { key: 'modern', value: 'modern' }],
    environments: Object.fromEntries(['dev', 'qa', 'staging', 'prod'].map((env) => [env, {
      enabled: env !== 'staging',
      offVariant: 'classic',
      defaultServe: { variant: 'classic' },
      targets: [{ variant: 'modern', values: ['user-1', 'user-2'] }],
      rules: [
        { id: 'beta', description: 'Beta testers always get the new design', clauses: [{ attribute: 'targetingKey', operator: 'segmentMatch', values: ['beta-testers'] }], serve: { variant: 'modern' } },
        { id: 'france', clauses: [{ attribute: 'country', operator: 'in', values: ['FR', 'BE'] }, { attribute: 'appVersion', operator: 'semverGte', values: ['2.0.0'] }], serve: { rollout: { variants: [{ variant: 'classic', weight: 50000 }, { variant: 'modern', weight: 50000 }] } } }
      ]
    }]))
  })
  const flags: Array<[string, string, string[], Record<string, boolean>]> = [
    ['new-checkout', 'The new checkout flow', ['checkout'], { dev: true, qa: true, staging: true, prod: false }],
    ['search-v2', 'Semantic search on the catalogue', ['search'], { dev: true, qa: false, staging: false, prod: false }],
    ['dark-mode', 'Dark colour scheme in the web app', ['web', 'ui'], { dev: true, qa: true, staging: true, prod: true }],
    ['free-shipping-banner', 'Banner announcing free shipping over 50 €', ['growth'], { dev: true, qa: true, staging: false, prod: true }],
    ['recommendations', 'Product recommendations on the basket page', ['growth', 'checkout'], { dev: true, qa: false, staging: false, prod: false }]
  ]
  for (const [name, description, tags, environments] of flags) await post('/features', { name, description, tags, environments })
  const flag = await call(dev, 'GET', '/features/new-checkout', undefined, token)
  await call(dev, 'PUT', '/features/new-checkout/env/prod', { enabled: true }, token, { 'if-match': flag.headers.get('etag') ?? '' })
  await post('/api-keys', { name: 'checkout-service', environment: 'prod' })
}

async function shot (page: Page, name: string, fullPage = false) {
  await page.waitForLoadState('networkidle')
  // A whole page is shot through a viewport as tall as the page: a screenshot stitched from a
  // short viewport would leave the sticky save bar in the middle of the form, over its fields.
  const viewport = page.viewportSize()
  if (fullPage && viewport !== null) await page.setViewportSize({ width: viewport.width, height: await page.evaluate(() => document.documentElement.scrollHeight) })
  await page.screenshot({ path: join(OUT, `${name}.png`) })
  if (fullPage && viewport !== null) await page.setViewportSize(viewport)
  process.stdout.write(`wrote docs/console/${name}.png\n`)
}

async function main () {
  await mkdir(OUT, { recursive: true })
  const dev = await startDev(scope)
  const token = await tokenFor(dev, ADMIN)
  await seed(dev, token)
  const browser = await launchBrowser(scope)
  const page = await newPage(browser, dev)

  await page.goto('/console/')
  await shot(page, 'sign-in')
  await signIn(page, ADMIN)
  await page.getByRole('switch', { name: 'recommendations in prod' }).waitFor()
  await shot(page, 'flags')
  await page.goto('/console/flags/checkout-theme?env=prod')
  await page.getByRole('button', { name: 'Save prod' }).waitFor()
  await shot(page, 'flag-targeting', true)
  await page.goto('/console/flags/checkout-theme/why?env=prod')
  await page.getByLabel('targetingKey').fill('user-42')
  await page.getByRole('textbox', { name: 'Value', exact: true }).first().fill('FR')
  await page.getByRole('button', { name: 'Add attribute' }).click()
  await page.getByRole('textbox', { name: 'Attribute 2' }).fill('appVersion')
  await page.getByRole('textbox', { name: 'Value', exact: true }).nth(1).fill('2.3.0')
  await page.getByRole('button', { name: 'Explain' }).click()
  await page.getByTestId('why-result').waitFor()
  await shot(page, 'why')
  await page.goto('/console/flags/new-checkout/history')
  await page.locator('.events > li').nth(1).waitFor({ timeout: 15_000 }).catch(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click()
    await page.locator('.events > li').nth(1).waitFor()
  })
  await shot(page, 'history')
  await page.goto('/console/segments')
  await page.getByText('beta-testers').waitFor()
  await shot(page, 'segments')
  await page.goto('/console/api-keys')
  await page.getByLabel('What it is for').fill('search-service')
  await page.getByRole('button', { name: 'Create key' }).click()
  await page.getByTestId('api-key-secret').waitFor()
  await shot(page, 'api-keys')

  const reader = await createUser(dev, 'reader@example.com', 'CLIENT')
  const client = await newPage(browser, dev)
  await signIn(client, reader)
  await client.goto('/console/flags/checkout-theme?env=prod')
  await client.locator('dl.readonly').waitFor()
  await shot(client, 'client-read-only')
}

try {
  await main()
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
