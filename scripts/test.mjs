// npm test: typecheck and lint beside the test tiers, not before them. The suite is CPU-bound
// on two cores and tsc and eslint each keep one busy, so run one after the other ahead of tap
// they left the other core idle for ~25 s. The console is built first (if stale): some tiers
// serve it. The checks' output is printed after tap's, not mixed into it; any failure fails
// the whole command, and every part runs to its end either way. Arguments go to tap.
import { spawn } from 'node:child_process'

function run (command, args, { capture }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' })
    let out = ''
    if (capture) {
      child.stdout.on('data', (d) => { out += d })
      child.stderr.on('data', (d) => { out += d })
    }
    child.once('exit', (code, signal) => resolve({ name: [command, ...args].join(' '), code: code ?? 1, signal, out }))
  })
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const checks = [run(npm, ['run', '--silent', 'typecheck'], { capture: true }), run(npm, ['run', '--silent', 'lint'], { capture: true })]
const tiers = run(npm, ['run', '--silent', 'build:console', '--', '--if-stale'], { capture: false })
  .then((built) => built.code === 0 ? run('npx', ['tap', ...process.argv.slice(2)], { capture: false }) : built)

const tested = await tiers
let failed = tested.code !== 0
for (const r of await Promise.all(checks)) {
  process.stdout.write(`\n--- ${r.name}: ${r.code === 0 ? 'ok' : `FAILED (${r.signal ?? `exit ${r.code}`})`}\n${r.out}`)
  if (r.code !== 0) failed = true
}
if (tested.code !== 0) process.stdout.write(`\n--- ${tested.name}: FAILED (${tested.signal ?? `exit ${tested.code}`})\n`)
process.exit(failed ? 1 : 0)
