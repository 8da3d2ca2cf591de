// The Lambda handler tests again, on the Node major of the template's runtime (nodejs24.x: Node 24),
// when the suite itself runs on another: what Lambda runs must be tested on what Lambda runs. Here
// the entry points invoked in-process (handlers.test.ts); the built bundles are run by
// bundles.test.ts itself in fresh processes of both nodes, from one build. The binary is the npm
// registry's node-<platform>-<arch> package (scripts/runtime-node.ts), fetched once.
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '../../scripts/build-lambda.js'
import { resolveNode, runtimeMajor } from '../../scripts/runtime-node.js'

const FILES = ['test/lambda/handlers.test.ts']
const major = await runtimeMajor()
const running = process.versions.node.split('.')[0]

if (major === undefined) {
  t.fail('template.yaml names no nodejsNN.x runtime')
} else if (major === running) {
  t.pass(`this suite already runs on Node ${running}, the runtime's major: the handler tests ran on it`)
} else {
  // Fetching the binary the first time takes a while (about 30 MB from the registry).
  t.setTimeout(300_000)
  const node = await resolveNode(major)
  t.equal(node.version.split('.')[0], `v${major}`, `the binary is Node ${major} (${node.version})`)
  for (const file of FILES) {
    t.test(`${file} on Node ${node.version}`, async (t) => {
      const child = spawn(node.path, ['--import=tsx', join(ROOT, file)], {
        cwd: ROOT,
        env: { ...process.env, TAP: '1', NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe']
      })
      let out = ''
      child.stdout.on('data', (c: Buffer) => { out += c.toString() })
      child.stderr.on('data', (c: Buffer) => { out += c.toString() })
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      const failures = out.split('\n').filter((l) => /^\s*not ok /.test(l))
      t.equal(code, 0, `exit code ${String(code)}${failures.length > 0 ? `; failed:\n${failures.join('\n')}` : ''}\n${code === 0 ? '' : out.slice(-4000)}`)
      const summary = /# \{ total: (\d+), pass: (\d+)/.exec(out) ?? /# pass\s+(\d+)/.exec(out)
      t.ok(/^ok \d+ /m.test(out) && failures.length === 0, `every subtest passed on Node ${node.version}${summary !== null ? ` (${summary[0]})` : ''}`)
    })
  }
}
