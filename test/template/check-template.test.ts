// scripts/check-template.ts: template.yaml conforms to the CloudFormation/SAM specification and
// agrees with the code; and the checker is not a rubber stamp: each mutation below must be caught.
import t from 'tap'
import { loadTemplate } from '../../scripts/build-lambda.js'
import { checkConsole, checkCrossReference, checkInfrastructure, checkSpecification, collectCodeFacts, httpApiRoutes, selectRoute, matchRoutePath } from '../../scripts/check-template.js'

type Json = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const template = await loadTemplate() as Json
const facts = await collectCodeFacts()
const mutate = (change: (m: Json) => void): Json => {
  const m = structuredClone(template)
  change(m)
  return m
}

t.test('template.yaml conforms to the specification', async (t) => {
  t.same(checkSpecification(template), [])
})

t.test('the specification check catches what CloudFormation or SAM would reject', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['a misspelled property', (m) => { m.Resources.Table.Properties.BilingMode = m.Resources.Table.Properties.BillingMode; delete m.Resources.Table.Properties.BillingMode }, /Resources\.Table\.Properties\.BilingMode: unknown property \(did you mean BillingMode\?\)/],
    ['a missing required property', (m) => { delete m.Resources.Table.Properties.KeySchema }, /Resources\.Table\.Properties: missing required property KeySchema/],
    ['a missing required property of a nested type', (m) => { delete m.Resources.AuditDLQAlarm.Properties.Dimensions[0].Value }, /Dimensions\[0\]: missing required property Value/],
    ['a misspelled SAM property', (m) => { m.Resources.ApiFunction.Properties.MemmorySize = 512 }, /ApiFunction\.Properties\.MemmorySize: unknown property \(did you mean MemorySize\?\)/],
    ['a misspelled SAM Globals property', (m) => { m.Globals.Function.Runtme = 'nodejs22.x' }, /Globals\.Function\.Runtme: unknown property/],
    ['an event property SAM does not know', (m) => { m.Resources.AuditConsumerFunction.Properties.Events.AuditQueue.Properties.FunctionResponseType = ['ReportBatchItemFailures'] }, /AuditQueue\.Properties\.FunctionResponseType: unknown property \(did you mean FunctionResponseTypes\?\)/],
    ['an event missing its required property', (m) => { delete m.Resources.AuditConsumerFunction.Properties.Events.AuditQueue.Properties.Queue }, /AuditQueue\.Properties: missing required property Queue/],
    ['an unknown resource type', (m) => { m.Resources.Table.Type = 'AWS::DynamoDB::Tabel' }, /unknown resource type AWS::DynamoDB::Tabel/],
    ['a wrong primitive type', (m) => { m.Resources.AuditQueue.Properties.VisibilityTimeout = 'three minutes' }, /AuditQueue\.Properties\.VisibilityTimeout: expected an integer/],
    ['a list where a boolean belongs', (m) => { m.Resources.Table.Properties.DeletionProtectionEnabled = ['yes'] }, /DeletionProtectionEnabled: expected a boolean/],
    ['a Ref to nothing', (m) => { m.Globals.Function.Environment.Variables.TABLE_NAME = { Ref: 'Tabel' } }, /Ref to unknown Tabel/],
    ['a GetAtt of an attribute the type lacks', (m) => { m.Resources.AuditQueue.Properties.RedrivePolicy.deadLetterTargetArn = { 'Fn::GetAtt': ['AuditDLQ', 'Url'] } }, /AuditDLQ \(AWS::SQS::Queue\) has no attribute Url/],
    // eslint-disable-next-line no-template-curly-in-string -- CloudFormation's Fn::Sub syntax
    ['a Sub of an unknown name', (m) => { m.Outputs.ApiUrl.Value = { 'Fn::Sub': 'https://${HttpAPI}.execute-api.${AWS::Region}.amazonaws.com' } }, /Fn::Sub references unknown \$\{HttpAPI\}/],
    ['an unknown condition', (m) => { m.Resources.AlarmEmailSubscription.Condition = 'HasEmail' }, /unknown condition HasEmail/],
    ['an esbuild option SAM ignores', (m) => { m.Resources.EvaluateFunction.Metadata.BuildProperties.Minified = true }, /BuildProperties\.Minified: not an esbuild property SAM understands/],
    ['a function without a handler', (m) => { delete m.Resources.MaintenanceFunction.Properties.Handler }, /MaintenanceFunction\.Properties: missing Handler/],
    ['a malformed IAM statement', (m) => { m.Resources.EvaluateFunction.Properties.Policies[0].Statement[0].Effect = 'Permit' }, /Effect: must be Allow or Deny/],
    ['an unknown event source type', (m) => { m.Resources.MaintenanceFunction.Properties.Events.EveryMinute.Type = 'Cron' }, /unknown or unsupported event source type "Cron"/],
    ['a parameter default outside its allowed values', (m) => { m.Parameters.LogLevel.Default = 'verbose' }, /Parameters\.LogLevel\.Default: verbose is not among its AllowedValues/],
    ['an output without a value', (m) => { m.Outputs.ApiUrl = { Description: 'x' } }, /Outputs\.ApiUrl: missing Value/],
    ['an alarm on a metric the service does not publish', (m) => { m.Resources.Api5xxAlarm.Properties.MetricName = '5xxErrors' }, /Api5xxAlarm\.Properties: AWS\/ApiGateway publishes no metric 5xxErrors/],
    ['an alarm on dimensions the metric is not published with', (m) => { m.Resources.AuditQueueAgeAlarm.Properties.Dimensions = [{ Name: 'QueueUrl', Value: { Ref: 'AuditQueue' } }] }, /AWS\/SQS ApproximateAgeOfOldestMessage is not published with dimensions \[QueueUrl\] \(it is with: \[QueueName\]\)/],
    ['a metric-math alarm on an index metric without its table', (m) => { m.Resources.TableThrottleAlarm.Properties.Metrics[3].MetricStat.Metric.Dimensions.shift() }, /Metrics\[3\]\.MetricStat\.Metric: AWS\/DynamoDB ReadThrottleEvents is not published with dimensions \[GlobalSecondaryIndexName\]/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = checkSpecification(mutate(change))
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
})

t.test('HTTP API route selection follows API Gateway precedence', async (t) => {
  const routes = httpApiRoutes(template)
  const to = (method: string, path: string) => {
    const hit = selectRoute(routes, method, path)
    return hit === undefined ? undefined : `${hit.route.function} ${hit.route.method} ${hit.route.path}`
  }
  t.equal(to('POST', '/features/evaluate'), 'EvaluateFunction POST /features/evaluate', 'the exact route beats ANY /features/{proxy+}')
  t.equal(to('GET', '/features/evaluate'), 'ApiFunction ANY /features/{proxy+}', 'only POST is the evaluation route')
  t.equal(to('PUT', '/features/checkout/env/prod'), 'ApiFunction ANY /features/{proxy+}')
  t.equal(to('GET', '/features'), 'ApiFunction ANY /features', '{proxy+} needs at least one segment')
  t.equal(to('POST', '/ofrep/v1/evaluate/flags/checkout'), 'EvaluateFunction ANY /ofrep/v1/{proxy+}')
  t.equal(to('GET', '/nowhere'), undefined, 'API Gateway answers 404 itself')
  t.equal(to('POST', '/health'), undefined)
  t.same(matchRoutePath('/users/{proxy+}', '/users/a%40b.c/role'), { proxy: 'a%40b.c/role' })
  t.same(matchRoutePath('/features/{flag}', '/features/a/b'), undefined)
})

t.test('every route of the code is reachable, and the config the code needs is set', async (t) => {
  t.ok(facts.routes.api.length > 20, `the api app has ${facts.routes.api.length} routes`)
  t.ok(facts.routes.evaluate.some((r) => r.method === 'POST' && r.url === '/features/evaluate'))
  t.same(checkCrossReference(template, facts), [])
})

t.test('the cross-reference catches a template that disagrees with the code', async (t) => {
  const cases: Array<[string, (m: Json) => void, RegExp]> = [
    ['a route without an event', (m) => { delete m.Resources.ApiFunction.Properties.Events.Login }, /route POST \/auth\/login \(api\) is not reachable/],
    ['a route sent to a function that does not serve it', (m) => { m.Resources.EvaluateFunction.Properties.Events.Steal = { Type: 'HttpApi', Properties: { ApiId: { Ref: 'HttpApi' }, Method: 'GET', Path: '/features/{flag}' } } }, /route GET \/features\/:flag \(api\) is routed by "GET \/features\/\{flag\}" to EvaluateFunction, whose app \(evaluate\) does not serve it/],
    ['an event that reaches nothing', (m) => { m.Resources.ApiFunction.Properties.Events.Ghost = { Type: 'HttpApi', Properties: { ApiId: { Ref: 'HttpApi' }, Method: 'ANY', Path: '/ghosts/{proxy+}' } } }, /ApiFunction\.Events\.Ghost: "ANY \/ghosts\/\{proxy\+\}" reaches no route/],
    ['a required config value missing', (m) => { delete m.Globals.Function.Environment.Variables.AUDIT_QUEUE_URL }, /AuditConsumerFunction: the worker config requires AUDIT_QUEUE_URL/],
    ['the JWT secret not provided', (m) => { delete m.Resources.EvaluateFunction.Properties.Environment.Variables.JWT_SECRET_ARN }, /EvaluateFunction: the evaluate config requires JWT_SECRET/],
    ['a misspelled variable', (m) => { m.Globals.Function.Environment.Variables.TABLE_NAEM = 'x' }, /sets TABLE_NAEM, which neither the \w+ config schema nor its entry point knows/],
    ['a variable the runtime reserves', (m) => { m.Resources.ApiFunction.Properties.Environment.Variables.AWS_REGION = 'us-east-1' }, /ApiFunction: sets AWS_REGION, which the Lambda runtime reserves/],
    ['a parameter value the config refuses', (m) => { m.Parameters.LogLevel.AllowedValues.push('verbose') }, /LOG_LEVEL="verbose" fails the config schema/],
    ['a literal value the config refuses', (m) => { m.Resources.ApiFunction.Properties.Environment.Variables.BCRYPT_ROUNDS = 3 }, /BCRYPT_ROUNDS=3 fails the config schema/],
    ['the secret handed to a worker', (m) => { m.Resources.MaintenanceFunction.Properties.Environment = { Variables: { JWT_SECRET_ARN: { Ref: 'JwtSecret' } } } }, /MaintenanceFunction: sets JWT_SECRET_ARN, which its entry point \(worker\) does not read/]
  ]
  for (const [what, change, expected] of cases) {
    const problems = checkCrossReference(mutate(change), facts)
    t.ok(problems.some((p) => expected.test(p)), `${what}: ${problems.join(' | ') || 'no problem reported'}`)
  }
})

t.test('table and queues match the local stack; the layer carries the tested bcrypt', async (t) => {
  t.same(await checkInfrastructure(template), [])
  const short = await checkInfrastructure(mutate((m) => { m.Resources.AuditQueue.Properties.VisibilityTimeout = 60 }))
  t.match(short.join('\n'), /VisibilityTimeout 60 s is below 6 x AuditConsumerFunction's timeout \(30 s\)/)
  const redrive = await checkInfrastructure(mutate((m) => { m.Resources.AuditQueue.Properties.RedrivePolicy.maxReceiveCount = 3 }))
  t.match(redrive.join('\n'), /maxReceiveCount 3 differs/)
  const gsi = await checkInfrastructure(mutate((m) => { m.Resources.Table.Properties.GlobalSecondaryIndexes[0].IndexName = 'ByEnv' }))
  t.match(gsi.join('\n'), /Table\.GlobalSecondaryIndexes differs/)
  const partial = await checkInfrastructure(mutate((m) => { delete m.Resources.AuditConsumerFunction.Properties.Events.AuditQueue.Properties.FunctionResponseTypes }))
  t.match(partial.join('\n'), /without FunctionResponseTypes ReportBatchItemFailures/)
})

t.test('ApiFunction carries the console layer `npm run build` writes, and only it does', async (t) => {
  t.same(checkConsole(template), [])
  const noLayer = checkConsole(mutate((m) => { m.Resources.ApiFunction.Properties.Layers = [{ Ref: 'BcryptLayer' }] }))
  t.match(noLayer.join('\n'), /ApiFunction: serves \/console but does not carry ConsoleLayer/)
  const wrongDir = checkConsole(mutate((m) => { m.Resources.ApiFunction.Properties.Environment.Variables.CONSOLE_DIR = '/opt/nodejs/console' }))
  t.match(wrongDir.join('\n'), /ApiFunction: CONSOLE_DIR is "\/opt\/nodejs\/console", expected \/opt\/console/)
  const noDir = checkConsole(mutate((m) => { delete m.Resources.ApiFunction.Properties.Environment.Variables.CONSOLE_DIR }))
  t.match(noDir.join('\n'), /ApiFunction: CONSOLE_DIR is undefined/)
  const otherUri = checkConsole(mutate((m) => { m.Resources.ConsoleLayer.Properties.ContentUri = 'dist/console' }))
  t.match(otherUri.join('\n'), /one AWS::Serverless::LayerVersion with ContentUri dist\/console-layer .*found 0/)
  const evaluate = checkConsole(mutate((m) => { m.Resources.EvaluateFunction.Properties.Layers = [{ Ref: 'ConsoleLayer' }] }))
  t.match(evaluate.join('\n'), /EvaluateFunction: carries ConsoleLayer, but only the src\/lambda\/api\.ts function serves \/console/)
  const built = checkConsole(mutate((m) => { m.Resources.ConsoleLayer.Metadata = { BuildMethod: 'nodejs24.x' } }))
  t.match(built.join('\n'), /ConsoleLayer: has a BuildMethod/)
  // The config schema validates the value the template sets.
  const relative = checkCrossReference(mutate((m) => { m.Resources.ApiFunction.Properties.Environment.Variables.CONSOLE_DIR = 'console' }), facts)
  t.match(relative.join('\n'), /ApiFunction: CONSOLE_DIR="console" fails the config schema/)
})

t.test('least privilege and the operational settings the design asks for', async (t) => {
  const r = template.Resources
  const actions = (fn: string) => (r[fn].Properties.Policies as Json[]).flatMap((p) => (p.Statement as Json[]).flatMap((s) => ([] as string[]).concat(s.Action))).sort()
  t.same(actions('EvaluateFunction'), ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'secretsmanager:GetSecretValue'], 'evaluation reads, nothing else')
  t.same(actions('AuditConsumerFunction'), ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'sqs:SendMessage'],
    'the consumer writes audit records and clears outbox items (SQS receive comes from the event source); the webhook fan-out reads subscriptions, writes deliveries, sends wake-ups')
  t.same(actions('WebhookDeliveryFunction'), ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'sqs:SendMessage'], 'the delivery reads a subscription, updates its delivery, re-queues a wake-up')
  for (const [fn, sid] of [['AuditConsumerFunction', 'FanOutWebhooks'], ['WebhookDeliveryFunction', 'ReadSubscriptionsUpdateDeliveries']]) {
    const statement = (r[fn].Properties.Policies as Json[]).flatMap((p) => p.Statement as Json[]).find((s) => s.Sid === sid)
    t.ok(statement?.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'], `${fn}: its webhook reads are limited to the webhook partitions by leading key`)
  }
  t.ok(actions('ApiFunction').includes('dynamodb:TransactWriteItems') && actions('ApiFunction').includes('dynamodb:ConditionCheckItem') && actions('ApiFunction').includes('sqs:SendMessage'))
  t.notOk(actions('MaintenanceFunction').some((a) => a.startsWith('secretsmanager:')), 'maintenance never reads the secret')
  for (const fn of ['ApiFunction', 'EvaluateFunction', 'AuditConsumerFunction', 'MaintenanceFunction', 'WebhookDeliveryFunction']) {
    const statements = (r[fn].Properties.Policies as Json[]).flatMap((p) => p.Statement as Json[])
    for (const s of statements) {
      t.notOk(([] as unknown[]).concat(s.Action).some((a) => String(a).includes('*')), `${fn}: no wildcard actions`)
      t.notOk(([] as unknown[]).concat(s.Resource).some((x) => x === '*'), `${fn}: no wildcard resources`)
    }
    t.equal(r[fn].Metadata.BuildMethod, 'esbuild')
    t.same(r[fn].Properties.LoggingConfig, { LogGroup: { Ref: `${fn}Logs` } }, `${fn} logs to a group with retention`)
  }
  t.same(template.Globals.Function.Architectures, ['arm64'])
  t.equal(template.Globals.Function.Runtime, 'nodejs24.x')
  t.equal(template.Globals.Function.Environment.Variables.NODE_OPTIONS, '--enable-source-maps')
  const table = r.Table.Properties
  t.match(table, { BillingMode: 'PAY_PER_REQUEST', DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, SSESpecification: { SSEEnabled: true } })
  const secret = r.JwtSecret.Properties.GenerateSecretString
  t.ok(secret.PasswordLength >= 48 && secret.ExcludePunctuation === true, 'a long alphanumeric secret')
  t.match(r.AuditDLQAlarm.Properties, { MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' })
  t.same(Object.keys(template.Outputs).filter((k) => ['ApiUrl', 'TableName', 'AuditQueueUrl'].includes(k)).sort(), ['ApiUrl', 'AuditQueueUrl', 'TableName'])
})
