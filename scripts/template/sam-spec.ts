// The SAM resource types this project uses, and the specification shape both the CloudFormation and
// the SAM parts are held in (cfn-spec.ts converts CloudFormation's to it).
export interface PropSpec {
  Required?: boolean
  PrimitiveType?: string
  PrimitiveTypes?: string[]
  Type?: string
  Types?: string[]
  ItemType?: string
  PrimitiveItemType?: string
  PrimitiveItemTypes?: string[]
  ItemTypes?: string[]
}
export interface TypeSpec { Properties?: Record<string, PropSpec>; Attributes?: Record<string, unknown> }
export interface Specification { ResourceTypes: Record<string, TypeSpec>; PropertyTypes: Record<string, TypeSpec & PropSpec> }

const S = (required = false): PropSpec => ({ PrimitiveType: 'String', Required: required })
const I: PropSpec = { PrimitiveType: 'Integer' }
const B: PropSpec = { PrimitiveType: 'Boolean' }
const D: PropSpec = { PrimitiveType: 'Double' }
const J = (required = false): PropSpec => ({ PrimitiveType: 'Json', Required: required })
const LS: PropSpec = { Type: 'List', PrimitiveItemType: 'String' }
const MS: PropSpec = { Type: 'Map', PrimitiveItemType: 'String' }
const T = (name: string, required = false): PropSpec => ({ Type: name, Required: required })

/**
 * The SAM resource types this project uses, written from the SAM specification
 * (github.com/aws/serverless-application-model, docs/*, samtranslator/model/sam_resources.py and
 * eventsources/*). Properties SAM passes through to CloudFormation unchanged are typed as Json
 * where their inner shape is CloudFormation's business.
 */
export const SAM_SPEC: Specification = {
  ResourceTypes: {
    'AWS::Serverless::Function': {
      Attributes: { Arn: {} },
      Properties: {
        Architectures: LS,
        AssumeRolePolicyDocument: J(),
        AutoPublishAlias: S(),
        AutoPublishAliasAllProperties: B,
        AutoPublishCodeSha256: S(),
        CodeSigningConfigArn: S(),
        CodeUri: { PrimitiveTypes: ['String', 'Json'] },
        DeadLetterQueue: T('DeadLetterQueue'),
        DeploymentPreference: J(),
        Description: S(),
        Environment: T('FunctionEnvironment'),
        EphemeralStorage: T('EphemeralStorage'),
        EventInvokeConfig: T('EventInvokeConfig'),
        Events: { Type: 'Map', ItemType: 'EventSource' },
        FileSystemConfigs: { Type: 'List', PrimitiveItemType: 'Json' },
        FunctionName: S(),
        FunctionUrlConfig: J(),
        Handler: S(),
        ImageConfig: J(),
        ImageUri: S(),
        InlineCode: S(),
        KmsKeyArn: S(),
        Layers: LS,
        LoggingConfig: T('LoggingConfig'),
        MemorySize: I,
        PackageType: S(),
        PermissionsBoundary: S(),
        Policies: { PrimitiveTypes: ['String', 'Json'] },
        PropagateTags: B,
        ProvisionedConcurrencyConfig: J(),
        RecursiveLoop: S(),
        ReservedConcurrentExecutions: I,
        Role: S(),
        RolePath: S(),
        Runtime: S(),
        RuntimeManagementConfig: J(),
        SnapStart: J(),
        SourceKMSKeyArn: S(),
        Tags: MS,
        Timeout: I,
        Tracing: S(),
        VersionDescription: S(),
        VpcConfig: J()
      }
    },
    'AWS::Serverless::HttpApi': {
      Attributes: { ApiEndpoint: {} },
      Properties: {
        AccessLogSettings: T('AccessLogSettings'),
        Auth: J(),
        CorsConfiguration: { PrimitiveTypes: ['Boolean'], Types: ['CorsConfiguration'] },
        DefaultRouteSettings: T('RouteSettings'),
        DefinitionBody: J(),
        DefinitionUri: { PrimitiveTypes: ['String', 'Json'] },
        Description: S(),
        DisableExecuteApiEndpoint: B,
        Domain: J(),
        FailOnWarnings: B,
        Name: S(),
        PropagateTags: B,
        RouteSettings: J(),
        StageName: S(),
        StageVariables: MS,
        Tags: MS
      }
    },
    'AWS::Serverless::LayerVersion': {
      Properties: {
        CompatibleArchitectures: LS,
        CompatibleRuntimes: LS,
        ContentUri: { PrimitiveTypes: ['String', 'Json'], Required: true },
        Description: S(),
        LayerName: S(),
        LicenseInfo: S(),
        PublishLambdaVersion: B,
        RetentionPolicy: S()
      }
    }
  },
  PropertyTypes: {
    'AWS::Serverless::Function.FunctionEnvironment': { Properties: { Variables: MS } },
    'AWS::Serverless::Function.DeadLetterQueue': { Properties: { TargetArn: S(true), Type: S(true) } },
    'AWS::Serverless::Function.EphemeralStorage': { Properties: { Size: { ...I, Required: true } } },
    'AWS::Serverless::Function.EventInvokeConfig': { Properties: { DestinationConfig: J(), MaximumEventAgeInSeconds: I, MaximumRetryAttempts: I } },
    'AWS::Serverless::Function.LoggingConfig': { Properties: { ApplicationLogLevel: S(), LogFormat: S(), LogGroup: S(), SystemLogLevel: S() } },
    'AWS::Serverless::Function.EventSource': { Properties: { Type: S(true), Properties: J() } },
    // Event source properties, chosen by the event's Type (see EVENT_TYPES).
    'AWS::Serverless::Function.HttpApiEvent': { Properties: { ApiId: S(), Auth: J(), Method: S(), Path: S(), PayloadFormatVersion: S(), RouteSettings: J(), Stage: S(), TimeoutInMillis: I } },
    'AWS::Serverless::Function.ApiEvent': { Properties: { Auth: J(), Method: S(true), Path: S(true), RequestModel: J(), RequestParameters: J(), RestApiId: S(), TimeoutInMillis: I } },
    'AWS::Serverless::Function.SQSEvent': { Properties: { BatchSize: I, Enabled: B, FilterCriteria: J(), FunctionResponseTypes: LS, KmsKeyArn: S(), MaximumBatchingWindowInSeconds: I, MetricsConfig: J(), Queue: S(true), ScalingConfig: J() } },
    'AWS::Serverless::Function.ScheduleEvent': { Properties: { DeadLetterConfig: J(), Description: S(), Enabled: B, Input: S(), Name: S(), RetryPolicy: J(), Schedule: S(true), State: S() } },
    'AWS::Serverless::Function.ScheduleV2Event': { Properties: { DeadLetterConfig: J(), Description: S(), EndDate: S(), FlexibleTimeWindow: J(), GroupName: S(), Input: S(), KmsKeyArn: S(), Name: S(), OmitName: B, PermissionsBoundary: S(), RetryPolicy: J(), RoleArn: S(), ScheduleExpression: S(true), ScheduleExpressionTimezone: S(), StartDate: S(), State: S() } },
    'AWS::Serverless::Function.EventBridgeRuleEvent': { Properties: { DeadLetterConfig: J(), EventBusName: S(), Input: S(), InputPath: S(), InputTransformer: J(), Pattern: J(true), RetryPolicy: J(), RuleName: S(), State: S(), Target: J() } },
    'AWS::Serverless::HttpApi.AccessLogSettings': { Properties: { DestinationArn: S(true), Format: S(true) } },
    'AWS::Serverless::HttpApi.CorsConfiguration': { Properties: { AllowCredentials: B, AllowHeaders: LS, AllowMethods: LS, AllowOrigins: LS, ExposeHeaders: LS, MaxAge: I } },
    'AWS::Serverless::HttpApi.RouteSettings': { Properties: { DataTraceEnabled: B, DetailedMetricsEnabled: B, LoggingLevel: S(), ThrottlingBurstLimit: I, ThrottlingRateLimit: D } }
  }
}

/** Event source Type → its property type in SAM_SPEC. */
export const EVENT_TYPES: Record<string, string> = { HttpApi: 'HttpApiEvent', Api: 'ApiEvent', SQS: 'SQSEvent', Schedule: 'ScheduleEvent', ScheduleV2: 'ScheduleV2Event', EventBridgeRule: 'EventBridgeRuleEvent' }

/** Globals sections SAM accepts, and the properties it does not allow there. */
export const GLOBALS: Record<string, { type: string; notGlobal: string[] }> = {
  Function: { type: 'AWS::Serverless::Function', notGlobal: ['Events', 'FunctionName', 'Role', 'Policies', 'InlineCode', 'ImageUri', 'ImageConfig', 'AutoPublishCodeSha256', 'VersionDescription'] },
  HttpApi: { type: 'AWS::Serverless::HttpApi', notGlobal: ['DefinitionBody', 'DefinitionUri', 'StageName', 'StageVariables', 'Description', 'CorsConfiguration', 'FailOnWarnings', 'DisableExecuteApiEndpoint', 'Domain', 'RouteSettings'] },
  Api: { type: 'AWS::Serverless::Api', notGlobal: [] },
  SimpleTable: { type: 'AWS::Serverless::SimpleTable', notGlobal: [] },
  LayerVersion: { type: 'AWS::Serverless::LayerVersion', notGlobal: ['ContentUri', 'LayerName'] }
}
