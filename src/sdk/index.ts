// `switchyard/openfeature`: the in-process OpenFeature provider for Node servers and Lambda
// (docs/OPENFEATURE.md). It needs the engine, `fetch` and @openfeature/server-sdk (a peer
// dependency) and nothing else of the service.
export { SwitchyardProvider, type SwitchyardProviderOptions } from './provider.js'
export { SYNC_FORMAT_VERSION, definitionsOf, type SyncDocument, type SyncFlag } from './format.js'
export type { Timers } from './sync-client.js'
