// An independent second opinion: AWS's own linter, cfn-lint (Python; on this project's machines it
// comes with the image, it is not an npm package). It runs the SAM translator first and then checks
// the result against CloudFormation's current resource schemas, value ranges, deprecated runtimes
// and its best-practice rules. When it is not installed the check says so and goes on without it.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Json } from './json.js'

interface Finding { Level: string; Message: string; Rule: { Id: string }; Location: { Path: Array<string | number> } }

/** cfn-lint's errors and warnings on the template, or undefined when cfn-lint is not on the PATH. */
export async function runCfnLint (template: Json): Promise<string[] | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-cfn-lint-'))
  try {
    const file = join(dir, 'template.json')
    await writeFile(file, JSON.stringify(template))
    const out = await new Promise<string | undefined>((resolve, reject) => {
      execFile('cfn-lint', ['--format', 'json', file], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve(undefined)
        // Exit codes 2, 4, 6, 8, ... mean findings (errors, warnings, informational); the JSON says which.
        if (stdout.trim().startsWith('[')) return resolve(stdout)
        reject(new Error(`cfn-lint failed: ${stderr || stdout || String(err)}`))
      })
    })
    if (out === undefined) return undefined
    return (JSON.parse(out) as Finding[])
      .filter((f) => f.Level === 'Error' || f.Level === 'Warning')
      .map((f) => `cfn-lint ${f.Rule.Id} ${f.Location.Path.join('.')}: ${f.Message}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
