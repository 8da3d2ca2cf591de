// npm run check:template
//
// Checks template.yaml offline, as far as that can go without an AWS account:
//
// 1. Specification (scripts/template/spec-check.ts): every resource against the current
//    CloudFormation resource specification (@aws-cdk/aws-service-spec) and, for the SAM types,
//    against the hand-written SAM_SPEC (scripts/template/sam-spec.ts).
// 2. The code (scripts/template/code-check.ts): routes, configuration, table and queues, bundles;
//    the console layer on ApiFunction (scripts/template/console-check.ts).
// 3. Operations (scripts/template/operations.ts): what an operator relies on: alarms that reach
//    someone, throttles, concurrency and cost guards, queues and outputs, runtime, retention.
// 4. cfn-lint (scripts/template/cfn-lint.ts), AWS's own linter, when it is installed.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadTemplate } from './build-lambda.js'
import { checkConsole } from './template/console-check.js'
import { checkBuild, checkCrossReference, checkInfrastructure, collectCodeFacts } from './template/code-check.js'
import type { Json } from './template/json.js'
import { runCfnLint } from './template/cfn-lint.js'
import { checkOperations } from './template/operations.js'
import { httpApiRoutes } from './template/routes.js'
import { checkSpecification } from './template/spec-check.js'

export { SAM_SPEC, type PropSpec, type Specification, type TypeSpec } from './template/sam-spec.js'
export { specification } from './template/cfn-spec.js'
export { isIntrinsic } from './template/json.js'
export { checkSpecification } from './template/spec-check.js'
export { httpApiRoutes, matchRoutePath, samplePath, selectRoute, type HttpRoute } from './template/routes.js'
export { checkConsole } from './template/console-check.js'
export { checkOperations, NODE_RUNTIMES } from './template/operations.js'
export { checkBuild, checkCrossReference, checkInfrastructure, collectCodeFacts, ENTRY_SURFACES, ENTRY_VARIABLES, type CodeFacts, type RouteTable, type Surface } from './template/code-check.js'

let cfnLintRan = false

export async function checkTemplate (opts: { template?: Json; build?: boolean; cfnLint?: boolean } = {}): Promise<string[]> {
  const template = opts.template ?? await loadTemplate()
  const problems = checkSpecification(template)
  problems.push(...checkCrossReference(template, await collectCodeFacts()))
  problems.push(...await checkInfrastructure(template))
  problems.push(...checkConsole(template))
  problems.push(...await checkOperations(template))
  if (opts.build !== false) problems.push(...await checkBuild(template))
  if (opts.cfnLint !== false) {
    const lint = await runCfnLint(template)
    if (lint === undefined) process.stderr.write('cfn-lint is not installed: skipped AWS\'s own linter (pip install cfn-lint)\n')
    else {
      cfnLintRan = true
      problems.push(...lint)
    }
  }
  return problems
}

async function main () {
  const problems = await checkTemplate()
  if (problems.length > 0) {
    process.stderr.write(`template.yaml: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
    process.exit(1)
  }
  const template = await loadTemplate()
  const n = Object.keys(template.Resources as Json).length
  process.stdout.write(`template.yaml: ${n} resources conform to the CloudFormation/SAM specification; ${httpApiRoutes(template).length} HttpApi routes reach every app route; config, table, queues and bundles agree with the code; ${n - Object.keys(template.Resources as Json).filter((k) => (template.Resources as Record<string, Json>)[k]!.Type !== 'AWS::CloudWatch::Alarm').length} alarms cover every function, queue, the API and the table, and reach AlarmTopic${cfnLintRan ? '; cfn-lint finds nothing' : ''}\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`check:template failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    process.exit(1)
  })
}
