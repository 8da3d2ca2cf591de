// Operations: what an operator relies on once the stack runs (issue 23), checked on the whole
// template rather than on a list of names, so that a function, queue or route added later is held
// to the same rules: every alarm reaches someone, every function and queue is alarmed, the API is
// throttled, async work is retried and its failures kept, concurrency and throughput are capped,
// the runtime has a future, dead-letter queues outlive their sources, CORS agrees with the app, and
// audit retention is a parameter. docs/DEPLOY.md must explain every alarm.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ROOT } from '../build-lambda.js'
import { propsOf, resourcesOf, type Json } from './json.js'
import { alarmsOf, deadLetterPairs, findAlarm, functionsOf, queueConsumers, queueNameOf, refTo } from './operations-support.js'

/** Lambda's Node.js runtimes and the day each is deprecated (AWS Lambda runtimes page). */
export const NODE_RUNTIMES: Record<string, string> = {
  'nodejs18.x': '2025-09-01',
  'nodejs20.x': '2026-04-30',
  'nodejs22.x': '2027-04-30',
  'nodejs24.x': '2028-04-30'
}
/** A runtime deprecated sooner than this is refused: a deploy must not start on one about to expire. */
const RUNTIME_NOTICE_DAYS = 180

function checkAlarmTopics (template: Json, problems: string[]) {
  const resources = resourcesOf(template)
  for (const [name, alarm] of alarmsOf(template)) {
    const actions = (alarm.AlarmActions ?? []) as unknown[]
    if (actions.length === 0) problems.push(`${name}: no AlarmActions; an alarm nobody hears is not an alarm`)
    for (const a of actions) {
      const topicName = refTo(a)
      const topic = topicName === undefined ? undefined : resources[topicName]
      if (topic?.Type !== 'AWS::SNS::Topic') {
        problems.push(`${name}: AlarmActions ${JSON.stringify(a)} is not an SNS topic of this template`)
        continue
      }
      const key = propsOf(topic).KmsMasterKeyId
      if (key === undefined) continue
      const keyResource = refTo(key) === undefined ? undefined : resources[refTo(key)!]
      if (keyResource?.Type !== 'AWS::KMS::Key') {
        problems.push(`${topicName}: encrypted with ${JSON.stringify(key)}, whose key policy cannot let cloudwatch.amazonaws.com use it (CloudWatch could not publish ${name}); use a customer-managed key that grants it, or no encryption`)
        continue
      }
      const statements = ((propsOf(keyResource).KeyPolicy as Json | undefined)?.Statement ?? []) as Json[]
      const grants = statements.some((s) => s.Effect === 'Allow' &&
        ([] as unknown[]).concat((s.Principal as Json | undefined)?.Service ?? []).includes('cloudwatch.amazonaws.com') &&
        ['kms:Decrypt', 'kms:GenerateDataKey*'].every((act) => ([] as unknown[]).concat(s.Action).some((x) => x === act || x === 'kms:*')))
      if (!grants) problems.push(`${topicName}: its key ${refTo(key)} does not grant cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*; CloudWatch could not publish ${name}`)
    }
  }
}

function checkThrottling (template: Json, problems: string[]) {
  const params = (template.Parameters ?? {}) as Record<string, Json>
  const limit = (v: unknown) => {
    const p = refTo(v)
    return p !== undefined && params[p] !== undefined ? Number(params[p].Default) : typeof v === 'number' ? v : undefined
  }
  for (const [name, api] of Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === 'AWS::Serverless::HttpApi')) {
    const d = propsOf(api).DefaultRouteSettings as Json | undefined
    const rate = limit(d?.ThrottlingRateLimit)
    const burst = limit(d?.ThrottlingBurstLimit)
    if (rate === undefined || burst === undefined) {
      problems.push(`${name}: DefaultRouteSettings needs ThrottlingRateLimit and ThrottlingBurstLimit (parameters): without them only the app's per-container limits apply`)
      continue
    }
    for (const path of ['/auth/login', '/auth/signup']) {
      const event = functionsOf(template).flatMap(([, fn]) => Object.values((propsOf(fn).Events ?? {}) as Record<string, Json>))
        .find((e) => e.Type === 'HttpApi' && propsOf(e).Path === path && propsOf(e).Method === 'POST')
      const rs = event === undefined ? undefined : propsOf(event).RouteSettings as Json | undefined
      const r = limit(rs?.ThrottlingRateLimit)
      const b = limit(rs?.ThrottlingBurstLimit)
      if (refTo(rs?.ThrottlingRateLimit) === undefined || refTo(rs?.ThrottlingBurstLimit) === undefined || r === undefined || b === undefined) problems.push(`POST ${path}: needs its own HttpApi event with RouteSettings throttling from parameters (each attempt costs a bcrypt hash)`)
      else if (r >= rate || b >= burst) problems.push(`POST ${path}: its throttle (${r}/s, burst ${b}) is not stricter than the default route's (${rate}/s, burst ${burst})`)
    }
  }
}

function checkAlarmCoverage (template: Json, problems: string[]) {
  const resources = resourcesOf(template)
  for (const [fn, r] of functionsOf(template)) {
    for (const metric of ['Errors', 'Throttles']) {
      if (findAlarm(template, 'AWS/Lambda', metric, { FunctionName: fn }) === undefined) problems.push(`${fn}: no alarm on AWS/Lambda ${metric} (add ${fn}${metric}Alarm)`)
    }
    const events = Object.values((propsOf(r).Events ?? {}) as Record<string, Json>)
    if (events.some((e) => e.Type === 'Schedule' || e.Type === 'ScheduleV2')) {
      const beat = findAlarm(template, 'AWS/Lambda', 'Invocations', { FunctionName: fn })
      if (beat === undefined || beat.props.ComparisonOperator !== 'LessThanThreshold' || beat.props.TreatMissingData !== 'breaching') problems.push(`${fn}: runs on a schedule but no alarm fires when it stops running (Invocations LessThanThreshold, TreatMissingData breaching)`)
    }
  }
  const consumed = queueConsumers(template)
  for (const [q, r] of Object.entries(resources).filter(([, x]) => x.Type === 'AWS::SQS::Queue')) {
    if (consumed.has(q)) {
      if (propsOf(r).RedrivePolicy === undefined) problems.push(`${q}: consumed by ${consumed.get(q)!.join(', ')} but has no RedrivePolicy (dead-letter queue)`)
      if (findAlarm(template, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', { QueueName: q }) === undefined) problems.push(`${q}: no alarm on ApproximateAgeOfOldestMessage (messages waiting unprocessed)`)
    } else {
      const visible = findAlarm(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: q })
      if (visible === undefined || Number(visible.props.Threshold) !== 0 || visible.props.ComparisonOperator !== 'GreaterThanThreshold') problems.push(`${q}: nothing consumes it (a dead-letter queue or failure destination), so any message in it needs an alarm: ApproximateNumberOfMessagesVisible > 0`)
    }
  }
  for (const api of Object.keys(resources).filter((k) => resources[k]!.Type === 'AWS::Serverless::HttpApi')) {
    if (findAlarm(template, 'AWS/ApiGateway', '5xx', { ApiId: api }) === undefined) problems.push(`${api}: no alarm on AWS/ApiGateway 5xx`)
    if (findAlarm(template, 'AWS/ApiGateway', 'Latency', { ApiId: api }) === undefined) problems.push(`${api}: no alarm on AWS/ApiGateway Latency`)
  }
  for (const [t, r] of Object.entries(resources).filter(([, x]) => x.Type === 'AWS::DynamoDB::Table')) {
    const indexes = ((propsOf(r).GlobalSecondaryIndexes ?? []) as Json[]).map((g) => String(g.IndexName))
    for (const metric of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      if (findAlarm(template, 'AWS/DynamoDB', metric, { TableName: t }) === undefined) problems.push(`${t}: no alarm on ${metric} of the table`)
      for (const index of indexes) if (findAlarm(template, 'AWS/DynamoDB', metric, { TableName: t, GlobalSecondaryIndexName: index }) === undefined) problems.push(`${t}: no alarm on ${metric} of index ${index}`)
    }
  }
  const maintenance = functionsOf(template).find(([, r]) => ((r.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints?.toString().includes('src/lambda/maintenance.ts'))
  if (maintenance !== undefined && findAlarm(template, 'Switchyard', 'OutboxBacklog', { FunctionName: maintenance[0] }) === undefined) problems.push(`${maintenance[0]}: no alarm on the outbox backlog it publishes (Switchyard OutboxBacklog, FunctionName)`)
}

function checkAsyncAndConcurrency (template: Json, problems: string[]) {
  const resources = resourcesOf(template)
  for (const [fn, r] of functionsOf(template)) {
    const props = propsOf(r)
    const events = Object.values((props.Events ?? {}) as Record<string, Json>)
    if (events.some((e) => e.Type === 'Schedule' || e.Type === 'ScheduleV2' || e.Type === 'EventBridgeRule')) {
      const eic = (props.EventInvokeConfig ?? {}) as Json
      if (!(Number(eic.MaximumRetryAttempts) >= 1)) problems.push(`${fn}: invoked asynchronously without retries (EventInvokeConfig.MaximumRetryAttempts ${String(eic.MaximumRetryAttempts)})`)
      const dest = (eic.DestinationConfig as Json | undefined)?.OnFailure as Json | undefined
      const target = refTo(dest?.Destination)
      if (target === undefined || resources[target] === undefined) problems.push(`${fn}: no failure destination of this template (EventInvokeConfig.DestinationConfig.OnFailure): a failed run would leave no trace`)
      if (Number(props.ReservedConcurrentExecutions) !== 1) problems.push(`${fn}: a scheduled job needs ReservedConcurrentExecutions 1, so that a slow run is never joined by the next`)
    }
    for (const e of events.filter((x) => x.Type === 'SQS')) {
      const max = (propsOf(e).ScalingConfig as Json | undefined)?.MaximumConcurrency
      if (max === undefined) problems.push(`${fn}: SQS event source without ScalingConfig.MaximumConcurrency (a burst could take the account's concurrency)`)
    }
  }
  for (const [t, r] of Object.entries(resources).filter(([, x]) => x.Type === 'AWS::DynamoDB::Table')) {
    const p = propsOf(r)
    if (p.BillingMode === 'PAY_PER_REQUEST' && p.OnDemandThroughput === undefined) problems.push(`${t}: on-demand without OnDemandThroughput (TableMaxReadRequestUnits / TableMaxWriteRequestUnits parameters, 0 for no cap)`)
  }
}

function checkRuntime (template: Json, problems: string[], today: Date) {
  const globalRuntime = ((template.Globals as Json | undefined)?.Function as Json | undefined)?.Runtime
  const layers = Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === 'AWS::Serverless::LayerVersion')
  for (const [fn, r] of functionsOf(template)) {
    const runtime = String(propsOf(r).Runtime ?? globalRuntime)
    const deprecated = NODE_RUNTIMES[runtime]
    if (deprecated === undefined) {
      problems.push(`${fn}: runtime ${runtime} is not a Node.js runtime Lambda supports (${Object.keys(NODE_RUNTIMES).join(', ')})`)
      continue
    }
    const daysLeft = (Date.parse(deprecated) - today.getTime()) / 86_400_000
    if (daysLeft < RUNTIME_NOTICE_DAYS) problems.push(`${fn}: runtime ${runtime} is deprecated on ${deprecated}, ${Math.round(daysLeft)} days from now (at least ${RUNTIME_NOTICE_DAYS} needed)`)
    const major = /^nodejs(\d+)\.x$/.exec(runtime)![1]
    const target = ((r.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.Target
    if (target !== undefined && target !== `node${major}`) problems.push(`${fn}: esbuild Target ${String(target)} differs from its runtime ${runtime}`)
    for (const layer of ((propsOf(r).Layers ?? []) as unknown[]).map(refTo)) {
      const l = layers.find(([n]) => n === layer)?.[1]
      if (l === undefined) continue
      if (!((propsOf(l).CompatibleRuntimes ?? []) as string[]).includes(runtime)) problems.push(`${layer}: CompatibleRuntimes lacks ${runtime}, which ${fn} runs`)
      const build = (l.Metadata as Json | undefined)?.BuildMethod
      if (typeof build === 'string' && build.startsWith('nodejs') && build !== runtime) problems.push(`${layer}: built with ${build}, ${fn} runs ${runtime}`)
    }
  }
}

function checkDeadLetterQueues (template: Json, problems: string[]) {
  const resources = resourcesOf(template)
  const outputs = Object.values((template.Outputs ?? {}) as Record<string, Json>)
  for (const { source, dlq } of deadLetterPairs(template)) {
    const s = propsOf(resources[source])
    const d = propsOf(resources[dlq])
    const retention = (p: Json) => Number(p.MessageRetentionPeriod ?? 345_600)
    if (!(retention(d) > retention(s))) problems.push(`${dlq}: keeps messages ${retention(d)} s, not longer than its source ${source} (${retention(s)} s); a moved message keeps its first enqueue time, so it would expire early`)
    const allow = d.RedriveAllowPolicy as Json | undefined
    const sources = (allow?.sourceQueueArns ?? []) as unknown[]
    const sourceName = queueNameOf(s)
    if (allow?.redrivePermission !== 'byQueue' || sources.length === 0) problems.push(`${dlq}: no RedriveAllowPolicy naming its source queue (redrivePermission byQueue)`)
    else if (sourceName !== undefined && !sources.some((a) => JSON.stringify(a).includes(sourceName))) problems.push(`${dlq}: RedriveAllowPolicy does not name ${source}`)
    if (!outputs.some((o) => JSON.stringify(o.Value) === JSON.stringify({ 'Fn::GetAtt': [dlq, 'Arn'] }) || o.Value === `${dlq}.Arn`)) problems.push(`${dlq}: no output of its ARN (the redrive command in docs/DEPLOY.md needs it)`)
  }
}

async function checkCors (template: Json, problems: string[]) {
  const { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, CORS_METHODS, CORS_MAX_AGE_SECONDS } = await import('../../src/core.js')
  const norm = (xs: unknown) => (Array.isArray(xs) ? xs : String(xs ?? '').split(',')).map((x) => String(x).trim().toLowerCase()).filter((x) => x !== '').sort().join(', ')
  for (const [name, api] of Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === 'AWS::Serverless::HttpApi')) {
    const cors = propsOf(api).CorsConfiguration as Json | undefined
    if (cors === undefined) continue
    const pairs: Array<[string, unknown, unknown]> = [
      ['AllowMethods', cors.AllowMethods, CORS_METHODS], ['AllowHeaders', cors.AllowHeaders, CORS_ALLOWED_HEADERS], ['ExposeHeaders', cors.ExposeHeaders, CORS_EXPOSED_HEADERS]
    ]
    for (const [key, mine, app] of pairs) if (norm(mine) !== norm(app)) problems.push(`${name}.CorsConfiguration.${key} (${norm(mine)}) differs from the app's (${norm(app)}, src/core.ts)`)
    if (Number(cors.MaxAge) !== CORS_MAX_AGE_SECONDS) problems.push(`${name}.CorsConfiguration.MaxAge ${String(cors.MaxAge)} differs from the app's ${CORS_MAX_AGE_SECONDS}`)
    const origins = JSON.stringify(cors.AllowOrigins)
    for (const [fn, r] of functionsOf(template)) {
      const set = ((propsOf(r).Environment as Json | undefined)?.Variables as Json | undefined)?.CORS_ORIGINS
      if (set !== undefined && !origins.includes(JSON.stringify(set))) problems.push(`${fn}: CORS_ORIGINS ${JSON.stringify(set)} is not where ${name}'s AllowOrigins come from (${origins})`)
    }
  }
}

async function checkAuditRetention (template: Json, problems: string[]) {
  const { TTL_ATTRIBUTE } = await import('../../src/repositories/keys.js')
  const params = (template.Parameters ?? {}) as Record<string, Json>
  for (const [t, r] of Object.entries(resourcesOf(template)).filter(([, x]) => x.Type === 'AWS::DynamoDB::Table')) {
    const ttl = propsOf(r).TimeToLiveSpecification as Json | undefined
    if (ttl?.Enabled !== true || ttl.AttributeName !== TTL_ATTRIBUTE) problems.push(`${t}: TimeToLiveSpecification must be enabled on ${TTL_ATTRIBUTE}, the attribute audit records and webhook deliveries carry (src/repositories/keys.ts)`)
  }
  const setters = functionsOf(template).filter(([, r]) => ((propsOf(r).Environment as Json | undefined)?.Variables as Json | undefined)?.AUDIT_RETENTION_DAYS !== undefined)
  const consumers = functionsOf(template).filter(([, r]) => ((r.Metadata as Json | undefined)?.BuildProperties as Json | undefined)?.EntryPoints?.toString().includes('audit-consumer'))
  for (const [fn] of consumers) if (!setters.some(([s]) => s === fn)) problems.push(`${fn}: writes audit records but is not given AUDIT_RETENTION_DAYS`)
  for (const [fn, r] of setters) {
    const v = ((propsOf(r).Environment as Json).Variables as Json).AUDIT_RETENTION_DAYS
    const p = refTo(v)
    if (p === undefined || params[p] === undefined) problems.push(`${fn}: AUDIT_RETENTION_DAYS must come from a parameter`)
    else if (String(params[p].Default) !== '0') problems.push(`Parameters.${p}: the default must be 0 (audit records kept forever, as before)`)
  }
}

async function checkAlarmDocs (template: Json, problems: string[], docs?: string) {
  const text = docs ?? await readFile(join(ROOT, 'docs', 'DEPLOY.md'), 'utf8')
  for (const [name] of alarmsOf(template)) {
    const perFunction = /^\w+Function(Errors|Throttles)Alarm$/.exec(name)
    if (text.includes(name) || (perFunction !== null && text.includes(`<Function>${perFunction[1]}Alarm`))) continue
    problems.push(`${name}: docs/DEPLOY.md does not explain it (what it means, what to do)`)
  }
}

export async function checkOperations (template: Json, opts: { today?: Date; docs?: string } = {}): Promise<string[]> {
  const problems: string[] = []
  checkAlarmTopics(template, problems)
  checkThrottling(template, problems)
  checkAlarmCoverage(template, problems)
  checkAsyncAndConcurrency(template, problems)
  checkRuntime(template, problems, opts.today ?? new Date())
  checkDeadLetterQueues(template, problems)
  await checkCors(template, problems)
  await checkAuditRetention(template, problems)
  await checkAlarmDocs(template, problems, opts.docs)
  return problems
}
