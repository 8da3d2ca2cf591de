// `switchyard/openfeature`: the in-process OpenFeature provider for Node servers and Lambda
// (docs/OPENFEATURE.md). It needs the engine, Node's http(s) and zlib, and @openfeature/server-sdk
// (a peer dependency), and nothing else of the service.
export { SwitchyardProvider, type SwitchyardProviderOptions } from './provider.js'
export { SYNC_FORMAT_VERSION, definitionsOf, type SyncDocument, type SyncFlag } from './format.js'
export type { HttpGet, Timers } from './sync-client.js'
