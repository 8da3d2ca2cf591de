// The console as an admin uses it, in Chromium against `npm run dev`: sign in, create a flag,
// toggle it in prod, see the evaluation change in "Why this value?", both changes in the history
// (each naming the request that made it); an invalid regex refused at its field; an API key's
// secret shown once, then revoked; the main flow by keyboard alone; axe-core on every page.
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { eventually } from '../eventually.js'
import { ADMIN, axeViolations, call, launchBrowser, newPage, signIn, startDev, tokenFor } from './support.js'

// A dev server (and, on a fresh clone, the console build) and a browser: ~50 s alone, more on a
// loaded shared machine, past tap's 120 s default.
t.setTimeout(300_000)

const dev = await startDev(t)
const browser = await launchBrowser(t)
const page = await newPage(browser, dev)
const token = await tokenFor(dev, ADMIN)

async function accessible (t: Test, page: Page, what: string) {
  t.same(await axeViolations(page), [], `axe: no serious or critical violation on ${what}`)
}

async function explainProd (page: Page): Promise<string> {
  await page.getByRole('link', { name: 'Why this value?' }).click()
  await page.getByLabel('Environment').selectOption('prod')
  await page.getByRole('button', { name: 'Explain' }).click()
  return await page.getByTestId('why-result').innerText()
}

t.test('sign in, create a flag, toggle it in prod, explain it, read its history', async (t) => {
  await page.goto('/console/')
  await page.getByRole('heading', { name: 'Switchyard' }).waitFor()
  await accessible(t, page, 'the sign-in page')
  await page.getByLabel('Email').fill(ADMIN.email)
  await page.getByLabel('Password').fill('not the password at all')
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('alert').filter({ hasText: 'Invalid email or password' }).waitFor()
  t.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage')

  await signIn(page, ADMIN)
  t.equal(await page.evaluate(() => localStorage.length), 0, 'the token is not in localStorage')
  t.ok(await page.evaluate(() => sessionStorage.getItem('switchyard.session')), 'the token is in sessionStorage')
  await accessible(t, page, 'the empty flag list')

  await page.getByRole('button', { name: 'New flag' }).click()
  await page.getByLabel('Name', { exact: true }).fill('new-checkout')
  await page.getByLabel('Description').fill('The <b>new</b> checkout')
  await page.getByLabel('Tags').fill('checkout, web')
  await accessible(t, page, 'the new-flag form')
  await page.getByRole('button', { name: 'Create flag' }).click()
  await page.getByRole('heading', { name: 'new-checkout', level: 1 }).waitFor()
  t.ok(await page.getByText('The <b>new</b> checkout').isVisible(), 'API values are rendered as text, not HTML')
  await accessible(t, page, 'the flag targeting page')

  t.match(await explainProd(page), /Value false[\s\S]*Reason DISABLED/, 'off in prod: false, DISABLED')
  await accessible(t, page, '"Why this value?" with a trace')

  await page.getByRole('link', { name: 'Flags', exact: true }).click()
  const prod = page.getByRole('switch', { name: 'new-checkout in prod' })
  t.equal(await prod.getAttribute('aria-checked'), 'false')
  const toggled = page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === '/features/new-checkout/env/prod')
  await prod.click()
  await eventually(async () => (await prod.getAttribute('aria-checked')) === 'true', { what: 'the prod switch to turn on' })
  const toggleRequestId = await (await toggled).headerValue('x-request-id')
  const after = await call(dev, 'GET', '/features/new-checkout', undefined, token)
  t.equal(after.body.environments.prod.enabled, true, 'the toggle reached the API')
  t.equal(after.headers.get('etag'), '"2"')

  await page.getByRole('link', { name: 'new-checkout' }).click()
  t.match(await explainProd(page), /Value true[\s\S]*Reason STATIC/, 'on in prod: true, STATIC')

  await page.getByRole('link', { name: 'History' }).click()
  const events = page.locator('.events > li')
  await eventually(async () => {
    if (await events.count() === 2) return true
    await page.getByRole('button', { name: 'Refresh' }).click()
    return false
  }, { timeoutMs: 15_000, intervalMs: 300, what: 'both changes in the history' })
  const newest = events.nth(0)
  t.match(await newest.innerText(), /ENVIRONMENT_UPDATED[\s\S]*prod[\s\S]*admin@example\.com/)
  t.match(await newest.innerText(), `Request ${toggleRequestId ?? 'missing'}`, 'the record names the request the toggle was answered with')
  const row = newest.getByRole('row', { name: /enabled/ })
  t.equal(await row.locator('del').innerText(), 'false', 'the diff shows enabled before')
  t.equal(await row.locator('ins').innerText(), 'true', 'and after')
  t.match(await events.nth(1).innerText(), /FEATURE_CREATED/)
  await accessible(t, page, 'the history with diffs')

  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByLabel('Description').waitFor()
  await accessible(t, page, 'the flag settings')
})

t.test('a rule with an invalid regex: the API message at that field, nothing written', async (t) => {
  await page.goto('/console/flags/new-checkout?env=prod')
  await page.getByRole('button', { name: 'Add rule' }).click()
  await page.getByLabel('Attribute (clause 1.1)').fill('email')
  await page.getByLabel('Operator').selectOption('matches')
  await page.getByLabel('Values').fill('([a-z')
  await page.getByRole('button', { name: 'Save prod' }).click()
  const values = page.locator('.field', { has: page.getByLabel('Values') })
  const message = values.locator('.field-error')
  await message.waitFor()
  t.match(await message.innerText(), /regular expression|regex/i, 'the API\'s message, beside the values field')
  t.equal(await page.getByLabel('Values').getAttribute('aria-describedby').then((d) => d?.includes('err')), true, 'tied to the field for assistive tech')
  await accessible(t, page, 'the targeting editor with a field error')
  const flag = await call(dev, 'GET', '/features/new-checkout', undefined, token)
  t.equal(flag.headers.get('etag'), '"2"', 'nothing written')
  t.same(flag.body.environments.prod.rules, [])
})

t.test('an API key: the secret once, then revoked', async (t) => {
  await page.getByRole('link', { name: 'API keys' }).click()
  await page.getByLabel('What it is for').fill('checkout-service')
  await page.getByLabel('Environment').selectOption('prod')
  await page.getByRole('button', { name: 'Create key' }).click()
  const secret = await page.getByTestId('api-key-secret').innerText()
  t.match(secret, /^sy_prod_/)
  await accessible(t, page, 'the API keys page with a new secret')
  const evaluate = async () => (await call(dev, 'POST', '/features/evaluate', { feature: 'new-checkout', environment: 'prod' }, secret)).status
  t.equal(await evaluate(), 200, 'the secret works')
  await page.getByRole('button', { name: 'Copy' }).waitFor()

  await page.reload()
  await page.getByRole('cell', { name: 'checkout-service', exact: true }).waitFor()
  t.equal(await page.getByText(secret).count(), 0, 'shown once: not after a reload')
  await page.getByRole('button', { name: 'Revoke checkout-service' }).click()
  await page.getByRole('button', { name: /Confirm revoke of checkout-service/ }).click()
  await page.getByText(/^revoked /).waitFor()
  t.equal(await evaluate(), 401, 'the revoked key is refused')
})

t.test('segments, environments, users: each page passes axe', async (t) => {
  for (const [link, heading] of [['Segments', 'Segments'], ['Environments', 'Environments'], ['Users', 'Users and roles']]) {
    await page.getByRole('link', { name: link, exact: true }).click()
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor()
    await page.waitForLoadState('networkidle')
    await accessible(t, page, `the ${link} page`)
  }
  await page.getByRole('link', { name: 'Segments', exact: true }).click()
  await page.getByRole('button', { name: 'New segment' }).click()
  await page.getByRole('button', { name: 'Add rule' }).click()
  await accessible(t, page, 'the segment form')
})

t.test('the main flow with the keyboard alone', async (t) => {
  const kb = await newPage(browser, dev)
  t.teardown(() => kb.context().close())
  await kb.goto('/console/')
  /** Tab forward until the focused element matches, as a keyboard user would (bounded). */
  async function tabTo (what: string, test: () => boolean) {
    for (let i = 0; i < 80; i++) {
      await kb.keyboard.press('Tab')
      if (await kb.evaluate(test)) return
    }
    throw new Error(`could not tab to ${what}`)
  }
  await tabTo('email', () => document.activeElement?.id === 'email')
  await kb.keyboard.type(ADMIN.email)
  await kb.keyboard.press('Tab')
  await kb.keyboard.type(ADMIN.password)
  await kb.keyboard.press('Enter')
  await kb.getByRole('heading', { name: 'Flags', level: 1 }).waitFor()

  await tabTo('New flag', () => document.activeElement?.textContent === 'New flag')
  await kb.keyboard.press('Enter')
  await kb.keyboard.press('Tab') // the form's first field
  await tabTo('name', () => (document.activeElement as HTMLElement | null)?.closest('.field')?.querySelector('label')?.textContent === 'Name')
  await kb.keyboard.type('keyboard-flag')
  await kb.keyboard.press('Enter')
  await kb.getByRole('heading', { name: 'keyboard-flag', level: 1 }).waitFor()

  await tabTo('Flags link', () => document.activeElement?.textContent === 'Flags')
  await kb.keyboard.press('Enter')
  await kb.getByRole('switch', { name: 'keyboard-flag in prod' }).waitFor()
  await tabTo('the prod switch', () => document.activeElement?.getAttribute('aria-label') === 'keyboard-flag in prod')
  await kb.keyboard.press('Space')
  await eventually(async () => (await call(dev, 'GET', '/features/keyboard-flag', undefined, token)).body.environments.prod.enabled === true, { what: 'keyboard toggle to reach the API' })
  t.equal(await kb.getByRole('switch', { name: 'keyboard-flag in prod' }).getAttribute('aria-checked'), 'true')

  await tabTo('Sign out', () => document.activeElement?.textContent === 'Sign out')
  await kb.keyboard.press('Enter')
  await kb.getByRole('button', { name: 'Sign in' }).waitFor()
  t.equal(await kb.evaluate(() => sessionStorage.length), 0, 'signing out forgets the token')
})
