// scripts/template/operations.ts: template.yaml gives an operator what issue 23 asks for, and the
// check is not a rubber stamp: each point fails on a copy of the template mutated to break it, and
// a function or queue added later is held to the same rules.
import t from 'tap'
import { loadTemplate } from '../../scripts/build-lambda.js'
import { checkOperations, checkSpecification } from '../../scripts/check-template.js'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const template = await loadTemplate() as Json
// A fixed day, so that the runtime rule gives the same answer whenever the suite runs.
const today = new Date('2026-12-06T00:00:00Z')
const mutate = (change: (m: Json) => void): Json => {
  const m = structuredClone(template)
  change(m)
  return m
}
const r = (m: Json) => m.Resources

t.test('template.yaml passes every operations rule', async (t) => {
  t.same(await checkOperations(template, { today }), [])
  t.same(checkSpecification(template), [], 'and stays valid against the current CloudFormation and SAM specifications')
})

t.test('alarms reach someone: the topic CloudWatch publishes to is usable by CloudWatch', async (t) => {
  const managed = await checkOperations(mutate((m) => { r(m).AlarmTopic.Properties.KmsMasterKeyId = 'alias/aws/sns' }), { today })
  t.match(managed.join('\n'), /AlarmTopic: encrypted with "alias\/aws\/sns", whose key policy cannot let cloudwatch\.amazonaws\.com use it/)
  const key = (statement: Json) => (m: Json) => {
    r(m).AlarmKey = { Type: 'AWS::KMS::Key', Properties: { KeyPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: { 'Fn::Sub': 'arn:$' + '{AWS::Partition}:iam::$' + '{AWS::AccountId}:root' } }, Action: 'kms:*', Resource: '*' }, statement] } } }
    r(m).AlarmTopic.Properties.KmsMasterKeyId = { Ref: 'AlarmKey' }
  }
  const ungranted = await checkOperations(mutate(key({ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: '*' })), { today })
  t.match(ungranted.join('\n'), /AlarmTopic: its key AlarmKey does not grant cloudwatch\.amazonaws\.com/)
  const granted = mutate(key({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: '*' }))
  t.same(await checkOperations(granted, { today }), [], 'a customer-managed key granting CloudWatch is accepted')
  t.same(checkSpecification(granted), [])
  const silent = await checkOperations(mutate((m) => { delete r(m).ApiLatencyAlarm.Properties.AlarmActions }), { today })
  t.match(silent.join('\n'), /ApiLatencyAlarm: no AlarmActions/)
})

t.test('the API is throttled, sign-in and sign-up more strictly, from parameters', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['no default route throttle', (m) => { delete r(m).HttpApi.Properties.DefaultRouteSettings }, /HttpApi: DefaultRouteSettings needs ThrottlingRateLimit and ThrottlingBurstLimit/],
    ['no login route of its own', (m) => { delete r(m).ApiFunction.Properties.Events.Login }, /POST \/auth\/login: needs its own HttpApi event with RouteSettings throttling/],
    ['a literal signup limit', (m) => { r(m).ApiFunction.Properties.Events.Signup.Properties.RouteSettings.ThrottlingRateLimit = 5 }, /POST \/auth\/signup: needs its own HttpApi event/],
    ['sign-in no stricter than the rest', (m) => { m.Parameters.AuthThrottleRateLimit.Default = 500 }, /POST \/auth\/login: its throttle \(500\/s, burst 10\) is not stricter than the default route's \(200\/s, burst 400\)/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = await checkOperations(mutate(change), { today })
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
})

t.test('every function, queue, the API and the table are alarmed, and the docs explain each alarm', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['a function without its errors alarm', (m) => { delete r(m).EvaluateFunctionErrorsAlarm }, /EvaluateFunction: no alarm on AWS\/Lambda Errors/],
    ['a function without its throttles alarm', (m) => { delete r(m).AuditConsumerFunctionThrottlesAlarm }, /AuditConsumerFunction: no alarm on AWS\/Lambda Throttles/],
    ['an alarm on the wrong function', (m) => { r(m).ApiFunctionErrorsAlarm.Properties.Dimensions[0].Value = { Ref: 'EvaluateFunction' } }, /ApiFunction: no alarm on AWS\/Lambda Errors/],
    ['a schedule nobody watches', (m) => { delete r(m).MaintenanceHeartbeatAlarm }, /MaintenanceFunction: runs on a schedule but no alarm fires when it stops running/],
    ['a heartbeat that ignores missing data', (m) => { r(m).MaintenanceHeartbeatAlarm.Properties.TreatMissingData = 'notBreaching' }, /MaintenanceFunction: runs on a schedule but no alarm/],
    ['the audit queue\'s age unwatched', (m) => { delete r(m).AuditQueueAgeAlarm }, /AuditQueue: no alarm on ApproximateAgeOfOldestMessage/],
    ['the DLQ unwatched', (m) => { delete r(m).AuditDLQAlarm }, /AuditDLQ: nothing consumes it .* needs an alarm/],
    ['the failure destination unwatched', (m) => { delete r(m).MaintenanceFailuresAlarm }, /MaintenanceFailures: nothing consumes it/],
    ['no 5xx alarm', (m) => { delete r(m).Api5xxAlarm }, /HttpApi: no alarm on AWS\/ApiGateway 5xx/],
    ['no latency alarm', (m) => { delete r(m).ApiLatencyAlarm }, /HttpApi: no alarm on AWS\/ApiGateway Latency/],
    ['the index\'s throttling unwatched', (m) => { r(m).TableThrottleAlarm.Properties.Metrics = r(m).TableThrottleAlarm.Properties.Metrics.slice(0, 3) }, /Table: no alarm on ReadThrottleEvents of index GSI1/],
    ['no table throttling alarm', (m) => { delete r(m).TableThrottleAlarm }, /Table: no alarm on WriteThrottleEvents of the table/],
    ['the outbox backlog unwatched', (m) => { delete r(m).OutboxBacklogAlarm }, /MaintenanceFunction: no alarm on the outbox backlog/],
    ['an alarm the docs do not explain', (m) => { r(m).SurpriseAlarm = structuredClone(r(m).Api5xxAlarm) }, /SurpriseAlarm: docs\/DEPLOY\.md does not explain it/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = await checkOperations(mutate(change), { today })
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
  const docs = await checkOperations(template, { today, docs: 'an empty guide' })
  t.ok(docs.some((p) => /ApiFunctionErrorsAlarm: docs\/DEPLOY\.md does not explain it/.test(p)), 'docs/DEPLOY.md is what is checked')
})

t.test('a function or queue added later is held to the same rules', async (t) => {
  // As another feature would add them: a delivery queue with its DLQ and a function consuming it.
  const added = mutate((m) => {
    r(m).DeliveryQueue = { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 180, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['DeliveryDLQ', 'Arn'] }, maxReceiveCount: 5 } } }
    r(m).DeliveryDLQ = { Type: 'AWS::SQS::Queue', Properties: {} }
    r(m).DeliveryFunction = structuredClone(r(m).AuditConsumerFunction)
    r(m).DeliveryFunction.Properties.Events.AuditQueue.Properties.Queue = { 'Fn::GetAtt': ['DeliveryQueue', 'Arn'] }
    delete r(m).DeliveryFunction.Properties.Events.AuditQueue.Properties.ScalingConfig
  })
  const problems = (await checkOperations(added, { today })).join('\n')
  t.match(problems, /DeliveryFunction: no alarm on AWS\/Lambda Errors/)
  t.match(problems, /DeliveryFunction: no alarm on AWS\/Lambda Throttles/)
  t.match(problems, /DeliveryFunction: SQS event source without ScalingConfig\.MaximumConcurrency/)
  t.match(problems, /DeliveryQueue: no alarm on ApproximateAgeOfOldestMessage/)
  t.match(problems, /DeliveryDLQ: nothing consumes it/)
  t.match(problems, /DeliveryDLQ: keeps messages 345600 s, not longer than its source DeliveryQueue \(345600 s\)/)
  t.match(problems, /DeliveryDLQ: no RedriveAllowPolicy naming its source queue/)
  t.match(problems, /DeliveryDLQ: no output of its ARN/)
})

t.test('async work is retried and its failures kept; concurrency and throughput are capped', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['no retries', (m) => { r(m).MaintenanceFunction.Properties.EventInvokeConfig.MaximumRetryAttempts = 0 }, /MaintenanceFunction: invoked asynchronously without retries/],
    ['no failure destination', (m) => { delete r(m).MaintenanceFunction.Properties.EventInvokeConfig.DestinationConfig }, /MaintenanceFunction: no failure destination/],
    ['overlapping runs', (m) => { delete r(m).MaintenanceFunction.Properties.ReservedConcurrentExecutions }, /MaintenanceFunction: a scheduled job needs ReservedConcurrentExecutions 1/],
    ['an uncapped consumer', (m) => { delete r(m).AuditConsumerFunction.Properties.Events.AuditQueue.Properties.ScalingConfig }, /AuditConsumerFunction: SQS event source without ScalingConfig\.MaximumConcurrency/],
    ['no throughput caps', (m) => { delete r(m).Table.Properties.OnDemandThroughput }, /Table: on-demand without OnDemandThroughput/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = await checkOperations(mutate(change), { today })
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
  t.equal(r(template).MaintenanceFunction.Properties.ReservedConcurrentExecutions, 1)
  t.same(template.Conditions.HasThroughputCap, { 'Fn::Or': [{ Condition: 'HasReadCap' }, { Condition: 'HasWriteCap' }] }, 'caps are optional: 0 leaves OnDemandThroughput out')
})

t.test('the runtime has a future, and bundles and layers follow it', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['a runtime deprecated within six months', (m) => { m.Globals.Function.Runtime = 'nodejs22.x' }, /ApiFunction: runtime nodejs22\.x is deprecated on 2027-04-30, 145 days from now/],
    ['a runtime Lambda does not have', (m) => { m.Globals.Function.Runtime = 'nodejs23.x' }, /runtime nodejs23\.x is not a Node\.js runtime Lambda supports/],
    ['a bundle built for another Node', (m) => { r(m).EvaluateFunction.Metadata.BuildProperties.Target = 'node22' }, /EvaluateFunction: esbuild Target node22 differs from its runtime nodejs24\.x/],
    ['a layer for another runtime', (m) => { r(m).BcryptLayer.Properties.CompatibleRuntimes = ['nodejs22.x'] }, /BcryptLayer: CompatibleRuntimes lacks nodejs24\.x/],
    ['a layer built with another runtime', (m) => { r(m).BcryptLayer.Metadata.BuildMethod = 'nodejs22.x' }, /BcryptLayer: built with nodejs22\.x, ApiFunction runs nodejs24\.x/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = await checkOperations(mutate(change), { today })
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
})

t.test('dead-letter queues outlive their sources, accept only them, and are in the outputs', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['the DLQ keeps messages no longer than its source', (m) => { r(m).AuditQueue.Properties.MessageRetentionPeriod = 1209600 }, /AuditDLQ: keeps messages 1209600 s, not longer than its source AuditQueue \(1209600 s\)/],
    ['no RedriveAllowPolicy', (m) => { delete r(m).AuditDLQ.Properties.RedriveAllowPolicy }, /AuditDLQ: no RedriveAllowPolicy naming its source queue/],
    ['a RedriveAllowPolicy naming another queue', (m) => { r(m).AuditDLQ.Properties.RedriveAllowPolicy.sourceQueueArns = ['arn:aws:sqs:us-east-1:123456789012:other'] }, /AuditDLQ: RedriveAllowPolicy does not name AuditQueue/],
    ['no ARN output', (m) => { delete m.Outputs.AuditDLQArn }, /AuditDLQ: no output of its ARN/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = await checkOperations(mutate(change), { today })
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
})

t.test('CORS: API Gateway and the app agree', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['a header only the app allows', (m) => { r(m).HttpApi.Properties.CorsConfiguration.AllowHeaders.pop() }, /HttpApi\.CorsConfiguration\.AllowHeaders .* differs from the app's/],
    ['a header only the API exposes', (m) => { r(m).HttpApi.Properties.CorsConfiguration.ExposeHeaders.push('x-secret') }, /HttpApi\.CorsConfiguration\.ExposeHeaders .* differs/],
    ['another max age', (m) => { r(m).HttpApi.Properties.CorsConfiguration.MaxAge = 3600 }, /MaxAge 3600 differs from the app's 600/],
    ['functions told other origins', (m) => { r(m).ApiFunction.Properties.Environment.Variables.CORS_ORIGINS = 'https://elsewhere.example' }, /ApiFunction: CORS_ORIGINS "https:\/\/elsewhere\.example" is not where HttpApi's AllowOrigins come from/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = await checkOperations(mutate(change), { today })
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
})

t.test('audit retention: TTL on the attribute the code writes, a parameter defaulting to forever', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['no TTL', (m) => { delete r(m).Table.Properties.TimeToLiveSpecification }, /Table: TimeToLiveSpecification must be enabled on expiresAt/],
    ['TTL on another attribute', (m) => { r(m).Table.Properties.TimeToLiveSpecification.AttributeName = 'ttl' }, /Table: TimeToLiveSpecification must be enabled on expiresAt/],
    ['a retention by default', (m) => { m.Parameters.AuditRetentionDays.Default = 90 }, /Parameters\.AuditRetentionDays: the default must be 0/],
    ['the consumer not told', (m) => { delete r(m).AuditConsumerFunction.Properties.Environment }, /AuditConsumerFunction: writes audit records but is not given AUDIT_RETENTION_DAYS/],
    ['a literal retention', (m) => { r(m).AuditConsumerFunction.Properties.Environment.Variables.AUDIT_RETENTION_DAYS = '30' }, /AuditConsumerFunction: AUDIT_RETENTION_DAYS must come from a parameter/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = await checkOperations(mutate(change), { today })
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
})
