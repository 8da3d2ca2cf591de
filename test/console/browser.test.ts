// The console as its users use it, in Chromium against `npm run dev` (one dev server and one
// browser for the whole file: each costs seconds of CPU to start). As an admin: sign in, create a
// flag, toggle it in prod, see the evaluation change in "Why this value?", both changes in the
// history; an invalid regex refused at its field; an API key's secret shown once, then revoked; the
// main flow by keyboard alone; axe-core on every page. Then roles and sessions: two admins in two
// browser windows editing the same flag (the second gets the conflict, sees the other's change and
// succeeds on retry without undoing it); a CLIENT user sees everything the API lets them read, with
// no control that would change anything; a refused or expired token sends the user back to sign in.
// The admin tests run first: the first one sees the empty flag list.
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { eventually } from '../eventually.js'
import { ADMIN, axeViolations, call, createUser, launchBrowser, newPage, signIn, startDev, tokenFor } from './support.js'

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

// ---- roles and sessions ------------------------------------------------------------------------

t.test('two admins edit the same flag: conflict, the other change shown, retry succeeds', async (t) => {
  const created = await call(dev, 'POST', '/features', { name: 'shared-flag', description: 'edited by two', environments: { prod: false } }, token)
  t.equal(created.status, 201)
  const second = await createUser(dev, 'second-admin@example.com', 'ADMIN')
  const a = await newPage(browser, dev)
  const b = await newPage(browser, dev)
  t.teardown(async () => { await a.context().close(); await b.context().close() })
  await signIn(a, ADMIN)
  await signIn(b, second)
  await a.goto('/console/flags/shared-flag?env=prod')
  await b.goto('/console/flags/shared-flag?env=prod')

  // A turns prod on and saves.
  await a.getByRole('switch', { name: 'Enabled in prod' }).click()
  await a.getByRole('button', { name: 'Save prod' }).click()
  await a.getByText('Saved: shared-flag is at version 2.').waitFor()

  // B, still on version 1, adds a rule and saves.
  await b.getByRole('button', { name: 'Add rule' }).click()
  await b.getByLabel('Attribute (clause 1.1)').fill('country')
  await b.getByLabel('Values').fill('FR')
  await b.getByRole('button', { name: 'Save prod' }).click()
  const conflict = b.getByRole('alert').filter({ hasText: 'Someone changed shared-flag meanwhile' })
  await conflict.waitFor()
  t.match(await conflict.innerText(), /admin@example\.com saved version 2/, 'says who changed it')
  const row = conflict.getByRole('row', { name: /enabled/ })
  t.equal(await row.locator('del').innerText(), 'false', 'shows the other change: enabled false → true')
  t.equal(await row.locator('ins').innerText(), 'true')
  t.match(await conflict.innerText(), /keeps all of theirs/)
  t.same(await axeViolations(b), [], 'axe: the conflict panel')
  t.equal((await call(dev, 'GET', '/features/shared-flag', undefined, token)).headers.get('etag'), '"2"', 'nothing written by the stale save')

  await conflict.getByRole('button', { name: 'Apply my changes on the new version' }).click()
  await b.getByText('Saved: shared-flag is at version 3.').waitFor()
  const flag = await call(dev, 'GET', '/features/shared-flag', undefined, token)
  t.equal(flag.body.environments.prod.enabled, true, 'the first admin\'s change is kept')
  t.match(flag.body.environments.prod.rules, [{ clauses: [{ attribute: 'country', operator: 'in', values: ['FR'] }] }], 'the second admin\'s rule is added')
  t.equal(flag.body.environments.prod.updatedBy, second.email)
})

t.test('the flag list: a toggle on a stale row gets the conflict and retries on the new version', async (t) => {
  const a = await newPage(browser, dev)
  t.teardown(() => a.context().close())
  await call(dev, 'POST', '/features', { name: 'list-flag', environments: { dev: false, prod: false } }, token)
  await signIn(a, ADMIN)
  const prod = a.getByRole('switch', { name: 'list-flag in prod' })
  await prod.waitFor()
  // Someone else changes the flag meanwhile.
  t.equal((await call(dev, 'PUT', '/features/list-flag/env/dev', { enabled: true }, token, { 'if-match': '"1"' })).status, 200)
  await prod.click()
  const conflict = a.getByRole('alert').filter({ hasText: 'list-flag changed since you loaded it' })
  await conflict.waitFor()
  t.match(await conflict.innerText(), /Nothing was written/)
  t.ok(await conflict.getByRole('row', { name: /environments\.dev\.enabled/ }).isVisible(), 'the other change is shown')
  await conflict.getByRole('button', { name: 'Turn on in prod on the new version' }).click()
  await a.waitForFunction(() => document.querySelector('[aria-label="list-flag in prod"]')?.getAttribute('aria-checked') === 'true')
  const flag = await call(dev, 'GET', '/features/list-flag', undefined, token)
  t.same([flag.body.environments.dev.enabled, flag.body.environments.prod.enabled], [true, true], 'both changes stand')
})

t.test('a CLIENT user sees no admin control', async (t) => {
  const client = await createUser(dev, 'reader@example.com', 'CLIENT')
  await call(dev, 'POST', '/segments', { key: 'beta', included: ['u1'], excluded: [], rules: [] }, token)
  const page = await newPage(browser, dev)
  t.teardown(() => page.context().close())
  await signIn(page, client)
  const ADMIN_CONTROLS = /^(New flag|New segment|Save|Save .*|Add .*|Edit .*|Delete .*|Revoke .*|Create .*|Revert|Set role)$/
  async function noAdminControls (where: string) {
    await page.waitForLoadState('networkidle')
    t.equal(await page.getByRole('switch').count(), 0, `${where}: no switch`)
    t.equal(await page.getByRole('button', { name: ADMIN_CONTROLS }).count(), 0, `${where}: no admin button`)
    t.same(await axeViolations(page), [], `${where}: axe`)
  }
  await page.getByText('shared-flag in prod: on').waitFor()
  t.ok(await page.getByText('shared-flag in dev: not set').count(), 'each environment\'s state shown as text')
  await noAdminControls('flag list')
  const nav = page.getByRole('navigation', { name: 'Main' })
  t.equal(await nav.getByRole('link', { name: 'API keys' }).count(), 0, 'no API keys page')
  t.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0, 'no users page')

  await page.getByRole('link', { name: 'shared-flag' }).click()
  await page.getByText('On in prod').waitFor()
  t.match(await page.locator('dl.readonly').innerText(), /country in \["FR"\]/, 'the targeting, read-only')
  t.equal(await page.getByRole('link', { name: 'History' }).count(), 0, 'no admin-only tabs')
  t.equal(await page.locator('main input, main select, main textarea').count(), 0, 'no editable field')
  await noAdminControls('flag page')
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByRole('definition').filter({ hasText: 'edited by two' }).waitFor()
  await noAdminControls('flag settings')
  await page.getByRole('link', { name: 'Segments', exact: true }).click()
  await page.getByText('beta', { exact: true }).waitFor()
  await noAdminControls('segments')
  await page.getByRole('link', { name: 'Environments', exact: true }).click()
  await page.getByRole('cell', { name: 'prod', exact: true }).waitFor()
  t.equal(await page.getByRole('heading', { name: 'Add an environment' }).count(), 0)
  await noAdminControls('environments')
  await page.goto('/console/api-keys')
  await page.getByText('Nothing here.').waitFor()
})

t.test('an expired or revoked token sends the user back to sign in', async (t) => {
  const page = await newPage(browser, dev)
  t.teardown(() => page.context().close())
  await signIn(page, ADMIN)
  // The server no longer accepts the token (as after expiry or a secret rotation): the next call
  // answers 401 and the console forgets the token.
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('switchyard.session') ?? '{}')
    sessionStorage.setItem('switchyard.session', JSON.stringify({ ...s, token: s.token.slice(0, -4) + 'AAAA' }))
  })
  await page.reload()
  await page.getByRole('status').filter({ hasText: 'Your session expired or was revoked. Sign in again.' }).waitFor()
  await page.getByRole('button', { name: 'Sign in' }).waitFor()
  t.equal(await page.evaluate(() => sessionStorage.length), 0, 'the token is forgotten')

  // Past its expiry the console does not even try: the timer signs the user out.
  await signIn(page, ADMIN)
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('switchyard.session') ?? '{}')
    sessionStorage.setItem('switchyard.session', JSON.stringify({ ...s, expiresAt: Date.now() - 1 }))
  })
  await page.reload()
  await page.getByRole('button', { name: 'Sign in' }).waitFor()
  t.equal(await page.evaluate(() => sessionStorage.length), 0)
})
