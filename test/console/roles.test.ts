// Two admins in two browser windows editing the same flag: the second gets the conflict, sees the
// other's change and succeeds on retry without undoing it. A CLIENT user sees everything the API
// lets them read, with no control that would change anything.
import t from 'tap'
import { axeViolations, ADMIN, call, createUser, launchBrowser, newPage, signIn, startDev, tokenFor } from './support.js'

// A dev server (and, on a fresh clone, the console build) and a browser: ~50 s alone, more on a
// loaded shared machine, past tap's 120 s default.
t.setTimeout(300_000)

const dev = await startDev(t)
const browser = await launchBrowser(t)
const token = await tokenFor(dev, ADMIN)

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
