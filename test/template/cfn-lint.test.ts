// AWS's own linter agrees: cfn-lint (SAM translator + CloudFormation's current schemas) finds no error
// or warning in template.yaml, and it does find them in a broken copy, so the agreement means
// something. cfn-lint is a Python tool that comes with this project's machine image; where it is
// missing the test says so and skips (`npm run check:template` does the same).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { loadTemplate } from '../../scripts/build-lambda.js'
import { runCfnLint } from '../../scripts/template/cfn-lint.js'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const installed = (() => {
  try {
    return execFileSync('cfn-lint', ['--version'], { encoding: 'utf8' }).trim()
  } catch {
    return undefined
  }
})()

if (installed === undefined) {
  t.test('cfn-lint', { skip: 'cfn-lint is not installed on this machine (pip install cfn-lint)' }, async () => {})
} else {
  // cfn-lint takes ~10 s a run on an idle machine, much longer on a loaded one.
  t.setTimeout(300_000)
  const template = await loadTemplate() as Json
  const broken = structuredClone(template)
  broken.Globals.Function.Runtime = 'nodejs16.x'
  broken.Resources.AuditDLQ.Properties.MessageRetentionPeriod = 1209601
  // Both runs at once: each takes a CPU for several seconds.
  const [onTemplate, onBroken] = await Promise.all([runCfnLint(template), runCfnLint(broken)])
  t.test(`${installed}: no error or warning in template.yaml`, async (t) => {
    t.same(onTemplate, [])
  })
  t.test(`${installed}: a broken copy is refused`, async (t) => {
    const problems = onBroken!.join('\n')
    t.match(problems, /cfn-lint E2533 Resources\.ApiFunction\.Properties\.Runtime: Runtime 'nodejs16\.x' was deprecated/)
    t.match(problems, /cfn-lint E3034 Resources\.AuditDLQ\.Properties\.MessageRetentionPeriod: 1209601 is greater than the maximum of 1209600/)
  })
}
