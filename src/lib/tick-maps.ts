// Imported first by the HTTP entry points (src/server.ts, src/lambda/api.ts, src/lambda/evaluate.ts),
// before anything else runs: it keeps one process.nextTick() object alive for the life of the process.
//
// Why: Node builds the object behind every process.nextTick() as a literal with computed symbol
// keys (`{ [async_id_symbol]: …, [trigger_async_id_symbol]: …, callback, args }`, Node 20; Node 22
// and 24 add a third symbol, the async context frame; test/lib/tick-maps.test.ts checks the shape),
// and such an object lives for one tick. A full GC that runs while none is alive (an idle moment,
// as on any server between bursts) frees the hidden classes ("maps") V8 built for them; the next
// ones get new maps, and after a few such GCs V8's feedback for that literal is megamorphic for
// good, so the optimised nextTick defines each property through the runtime
// (Runtime_DefineKeyedOwnPropertyInLiteral). Node's streams call nextTick about seven times per
// HTTP request: measured on this service's 304 sync, that runtime path was 7–8 % of the server's
// CPU (about 1.5 µs a request) and disappears when one such object stays reachable, which keeps
// its maps alive (docs/PERFORMANCE.md §5). A bare Fastify hello world never shows it: its heap is
// too small for full GCs.
import { executionAsyncResource } from 'node:async_hooks'

let kept: object | undefined

// Inside a nextTick callback the execution resource is that tick's own object.
process.nextTick(function keepTickObjectMaps () {
  kept = executionAsyncResource()
})

/** The nextTick object kept alive (undefined until the first tick has run); for the test. */
export function keptTickObject (): object | undefined {
  return kept
}
