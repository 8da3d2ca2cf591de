// Browser tests of the console: the real `npm run dev` (port 0, temporary DATA_DIR; it builds the
// console first when the build is missing or stale) driven by Debian's Chromium through
// playwright-core. No browser is downloaded: .ci/run installs the `chromium` package.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Teardown } from '../helper.js'
import { eventually } from '../eventually.js'
import { serverEnv } from '../reliability/support.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const CHROMIUM = '/usr/bin/chromium'
export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' }

export interface Dev { url: string; output: () => string }

/** `npm run dev` in its own process group (npm → sh → tsx → node), stopped with SIGTERM at teardown. */
export async function startDev (t: Teardown): Promise<Dev> {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-console-'))
  const child = spawn('npm', ['run', 'dev'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...serverEnv(dataDir, ADMIN) }
  })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d })
  let alive = true
  const exited = new Promise<void>((resolve) => child.once('exit', () => { alive = false; resolve() }))
  t.teardown(async () => {
    if (alive) {
      try { process.kill(-child.pid!, 'SIGTERM') } catch {}
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch {} }, 10_000)
      await exited
      clearTimeout(timer)
    }
    await rm(dataDir, { recursive: true, force: true })
  })
  const url = await eventually(async () => {
    if (!alive) throw new Error(`npm run dev exited:\n${out}`)
    return /Switchyard is listening on (http:\/\/\S+)/.exec(out)?.[1]
  }, { timeoutMs: 120_000, intervalMs: 100, what: 'npm run dev to listen' }).catch((e: Error) => { throw new Error(`${e.message}\n${out}`) })
  return { url, output: () => out }
}

export async function launchBrowser (t: Teardown): Promise<Browser> {
  // playwright-core gives each launch a fresh temporary profile (its own --user-data-dir).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

export async function newPage (browser: Browser, dev: Dev): Promise<Page> {
  const context = await browser.newContext({ baseURL: dev.url, viewport: { width: 1280, height: 860 } })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  return page
}

export async function signIn (page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto('/console/')
  await page.getByLabel('Email').fill(who.email)
  await page.getByLabel('Password').fill(who.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Flags', level: 1 }).waitFor()
}

/** The REST API, for setting up what a test needs that is not what it tests. */
export async function call (dev: Dev, method: string, path: string, body?: unknown, token?: string, headers: Record<string, string> = {}) {
  const res = await fetch(dev.url + path, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text.length > 0 ? JSON.parse(text) : undefined) as any }
}

export async function tokenFor (dev: Dev, who: { email: string; password: string }): Promise<string> {
  const res = await call(dev, 'POST', '/auth/login', who)
  if (res.status !== 200) throw new Error(`login ${who.email}: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.access_token
}

/** A user with a role: signs up (CLIENT) and, for ADMIN, is promoted by the first admin. */
export async function createUser (dev: Dev, email: string, role: 'ADMIN' | 'CLIENT') {
  const who = { email, password: `a long passphrase, number ${email.length}` }
  const signup = await call(dev, 'POST', '/auth/signup', { username: email.split('@')[0], ...who })
  if (signup.status !== 201) throw new Error(`signup ${email}: ${signup.status} ${JSON.stringify(signup.body)}`)
  if (role === 'ADMIN') await call(dev, 'PUT', `/users/${encodeURIComponent(email)}/role`, { role }, await tokenFor(dev, ADMIN))
  return who
}

const require = createRequire(import.meta.url)
let axeSource: string | undefined

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function axeViolations (page: Page): Promise<string[]> {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8')
  // Evaluated through the DevTools protocol, not as a <script>: the console's CSP allows no inline script.
  await page.evaluate(axeSource)
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: unknown }> }> }> } }).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`)
  })
  return found
}
