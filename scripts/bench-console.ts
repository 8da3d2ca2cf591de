// npm run bench:console [-- --runs 5]
//
// The console's weight and speed, measured on the real thing:
// - initial JS and CSS, gzipped: the files index.html loads (the entry chunk and its stylesheet),
//   and the lazily loaded chunks beside them;
// - time to an interactive flag list with 1 000 flags: `npm run dev` on a temporary DATA_DIR,
//   1 000 flags created through the API, Chromium (Debian's, via playwright-core) opening
//   /console/flags signed in; measured in the page from navigation start until every switch of the
//   first page (50 flags × 4 environments) is rendered and enabled. Median of --runs cold loads
//   (a fresh browser context each, so nothing is cached).
import { readFile, readdir } from 'node:fs/promises'
import { gzipSync } from 'node:zlib'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildConsole, CONSOLE_OUT } from './build-console.js'
import { ADMIN, call, launchBrowser, newPage, signIn, startDev, tokenFor } from '../test/console/support.js'

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } })
const cleanups: Array<() => unknown> = []
const scope = { teardown (fn: () => unknown) { cleanups.push(fn) } }
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`

async function sizes () {
  await buildConsole()
  const html = await readFile(join(CONSOLE_OUT, 'index.html'), 'utf8')
  const initial = [...html.matchAll(/(?:src|href)="\/console\/assets\/([^"]+)"/g)].map((m) => m[1])
  const all = await readdir(join(CONSOLE_OUT, 'assets'))
  const gz = async (f: string) => gzipSync(await readFile(join(CONSOLE_OUT, 'assets', f)), { level: 9 }).length
  const sum = async (files: string[]) => (await Promise.all(files.map(gz))).reduce((a, b) => a + b, 0)
  const js = initial.filter((f) => f.endsWith('.js'))
  const css = initial.filter((f) => f.endsWith('.css'))
  const lazy = all.filter((f) => f.endsWith('.js') && !js.includes(f))
  process.stdout.write(`initial JS  ${kb(await sum(js))} gzipped (${js.join(', ')}; budget 60 KB)\n`)
  process.stdout.write(`initial CSS ${kb(await sum(css))} gzipped (${css.join(', ')})\n`)
  for (const f of lazy) process.stdout.write(`  lazy ${f.padEnd(32)} ${kb(await gz(f))} gzipped\n`)
}

async function main () {
  await sizes()
  const dev = await startDev(scope)
  const token = await tokenFor(dev, ADMIN)
  const started = performance.now()
  const tags = ['checkout', 'search', 'growth', 'mobile', 'billing']
  for (let i = 0; i < 1000; i += 20) {
    await Promise.all(Array.from({ length: 20 }, async (_, j) => {
      const n = i + j
      const res = await call(dev, 'POST', '/features', {
        name: `flag-${String(n).padStart(4, '0')}`,
        description: `Flag number ${n}`,
        tags: [tags[n % tags.length]],
        environments: { dev: n % 2 === 0, qa: n % 3 === 0, staging: false, prod: n % 7 === 0 }
      }, token)
      if (res.status !== 201) throw new Error(`create flag ${n}: ${res.status} ${JSON.stringify(res.body)}`)
    }))
  }
  process.stdout.write(`1 000 flags created in ${Math.round(performance.now() - started)} ms\n`)

  const browser = await launchBrowser(scope)
  const runs = Number(args.runs)
  const rows: number[] = []
  const times: number[] = []
  for (let r = 0; r < runs; r++) {
    const page = await newPage(browser, dev)
    await signIn(page, ADMIN)
    await page.goto('/console/flags')
    // A string, not a function: tsx would wrap a named inner function in a helper the page lacks.
    const [listed, interactive] = await page.evaluate(`(async () => {
      const frame = () => new Promise((resolve) => requestAnimationFrame(resolve))
      while (document.querySelectorAll('a.flag-name').length < 50) await frame()
      const listedAt = performance.now()
      while (document.querySelectorAll('[role="switch"]:not([disabled])').length < 200) await frame()
      return [listedAt, performance.now()]
    })()`) as [number, number]
    rows.push(listed)
    times.push(interactive)
    await page.context().close()
  }
  const summary = (xs: number[]) => {
    xs.sort((a, b) => a - b)
    return `median ${Math.round(xs[Math.floor(xs.length / 2)])} ms (min ${Math.round(xs[0])}, max ${Math.round(xs[xs.length - 1])})`
  }
  process.stdout.write(`flag list, 50 of 1 000 names shown: ${summary(rows)} over ${runs} cold loads\n`)
  process.stdout.write(`flag list interactive, 200 switches (50 flags × 4 environments): ${summary(times)}\n`)
}

try {
  await main()
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
