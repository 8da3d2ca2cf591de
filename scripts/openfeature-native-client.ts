// Benchmark only (npm run bench:provider, section 1). @openfeature/server-sdk 1.23's published
// build is compiled for ES2015 (`esbuild --target=es2015`, see its package.json): every async
// method — getStringValue, evaluate, beforeHooks, afterHooks, finallyHooks — runs as a generator
// driven by a promise helper (`__async`). This is OpenFeatureClient's evaluation path from that
// build, statement for statement, with its generators written back as the async functions of the
// SDK's TypeScript source. Measured beside the real client, it shows what the client costs with
// native async/await: the difference is the build target, not the work.
import {
  ErrorCode, ProviderFatalError, ProviderNotReadyError, ServerProviderStatus, StandardResolutionReasons,
  type EvaluationContext, type EvaluationDetails, type FlagValue, type Hook, type HookContext, type Logger, type Provider, type ResolutionDetails
} from '@openfeature/server-sdk'
import { instantiateErrorByErrorCode, MapHookData } from '@openfeature/core'

type Resolver = (flagKey: string, defaultValue: FlagValue, context: EvaluationContext, logger: Logger) => Promise<ResolutionDetails<FlagValue>>
interface Options { hooks?: Hook[]; hookHints?: Record<string, unknown> }

const silent: Logger = { error () {}, warn () {}, info () {}, debug () {} }

export class NativeAsyncClient {
  private readonly apiHooks: Hook[] = []
  private readonly hooks: Hook[] = []
  private readonly apiContext: EvaluationContext = {}
  private readonly context: EvaluationContext = {}

  constructor (private readonly provider: Provider, private readonly status: () => ServerProviderStatus = () => ServerProviderStatus.READY) {}

  async getStringValue (flagKey: string, defaultValue: string, context?: EvaluationContext, options?: Options): Promise<string> {
    return (await this.getStringDetails(flagKey, defaultValue, context, options)).value
  }

  getStringDetails (flagKey: string, defaultValue: string, context?: EvaluationContext, options?: Options): Promise<EvaluationDetails<string>> {
    return this.evaluate(flagKey, this.provider.resolveStringEvaluation as Resolver, defaultValue, 'string', context, options) as Promise<EvaluationDetails<string>>
  }

  private get metadata () {
    return { name: 'native', domain: 'native', version: undefined, sdk: 'js-server', paradigm: 'server', providerMetadata: this.provider.metadata }
  }

  private async evaluate (flagKey: string, resolver: Resolver, defaultValue: FlagValue, flagType: string, invocationContext: EvaluationContext = {}, options: Options = {}): Promise<EvaluationDetails<FlagValue>> {
    const allHooks = [...this.apiHooks, ...this.hooks, ...(options.hooks ?? []), ...(this.provider.hooks ?? [])]
    const allHooksReversed = [...allHooks].reverse()
    const mergedContext = this.mergeContexts(invocationContext)
    const hookContexts = allHooksReversed.map(() => Object.freeze({
      flagKey, defaultValue, flagValueType: flagType, clientMetadata: this.metadata, providerMetadata: this.provider.metadata, context: mergedContext, logger: silent, hookData: new MapHookData()
    }) as unknown as HookContext)
    let evaluationDetails: EvaluationDetails<FlagValue>
    try {
      const frozenContext = await this.beforeHooks(allHooks, hookContexts, mergedContext, options)
      this.shortCircuitIfNotReady()
      const resolution = await resolver.call(this.provider, flagKey, defaultValue, frozenContext, silent)
      const resolutionDetails = { ...resolution, flagMetadata: Object.freeze(resolution.flagMetadata ?? {}), flagKey }
      if (resolutionDetails.errorCode !== undefined) {
        const err = instantiateErrorByErrorCode(resolutionDetails.errorCode, resolutionDetails.errorMessage)
        await this.errorHooks(allHooksReversed, hookContexts, err, options)
        evaluationDetails = this.errorDetails(flagKey, defaultValue, err, resolutionDetails.flagMetadata)
      } else {
        await this.afterHooks(allHooksReversed, hookContexts, resolutionDetails, options)
        evaluationDetails = resolutionDetails
      }
    } catch (err) {
      await this.errorHooks(allHooksReversed, hookContexts, err, options)
      evaluationDetails = this.errorDetails(flagKey, defaultValue, err)
    }
    await this.finallyHooks(allHooksReversed, hookContexts, evaluationDetails, options)
    return evaluationDetails
  }

  private async beforeHooks (hooks: Hook[], hookContexts: HookContext[], mergedContext: EvaluationContext, options: Options): Promise<EvaluationContext> {
    const accumulated = mergedContext
    for (const [index, hook] of hooks.entries()) {
      const hookContext = hookContexts[hooks.length - 1 - index]
      Object.assign(hookContext.context, accumulated)
      const result = await hook?.before?.(hookContext, Object.freeze(options.hookHints))
      if (result) {
        Object.assign(accumulated, result)
        Object.assign(hookContext.context, accumulated)
      }
    }
    return Object.freeze(accumulated)
  }

  private async afterHooks (hooks: Hook[], hookContexts: HookContext[], details: EvaluationDetails<FlagValue>, options: Options): Promise<void> {
    for (const [index, hook] of hooks.entries()) await hook?.after?.(hookContexts[index], details, options.hookHints)
  }

  private async errorHooks (hooks: Hook[], hookContexts: HookContext[], err: unknown, options: Options): Promise<void> {
    for (const [index, hook] of hooks.entries()) {
      try { await hook?.error?.(hookContexts[index], err, options.hookHints) } catch {}
    }
  }

  private async finallyHooks (hooks: Hook[], hookContexts: HookContext[], details: EvaluationDetails<FlagValue>, options: Options): Promise<void> {
    for (const [index, hook] of hooks.entries()) {
      try { await hook?.finally?.(hookContexts[index], details, options.hookHints) } catch {}
    }
  }

  private mergeContexts (invocationContext: EvaluationContext): EvaluationContext {
    return { ...this.apiContext, ...{}, ...this.context, ...invocationContext } // {}: the no-op transaction context
  }

  private shortCircuitIfNotReady (): void {
    if (this.status() === ServerProviderStatus.NOT_READY) throw new ProviderNotReadyError('provider has not yet initialized')
    if (this.status() === ServerProviderStatus.FATAL) throw new ProviderFatalError('provider is in an irrecoverable error state')
  }

  private errorDetails (flagKey: string, defaultValue: FlagValue, err: unknown, flagMetadata = {}): EvaluationDetails<FlagValue> {
    return {
      errorCode: (err as { code?: ErrorCode } | undefined)?.code ?? ErrorCode.GENERAL,
      errorMessage: (err as Error | undefined)?.message,
      value: defaultValue,
      reason: StandardResolutionReasons.ERROR,
      flagMetadata: Object.freeze(flagMetadata),
      flagKey
    }
  }
}
