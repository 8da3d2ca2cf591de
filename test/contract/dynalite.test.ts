// The contract suite on dynalite with transactions (src/local/dynamo-engine.ts), in memory: the
// engine `npm run dev` and the integration tests use.
import t from 'tap'
import { startLocalDynamo } from '../../src/local/dynamo-engine.js'
import { repositorySuite } from './repository-suite.js'

const engine = await startLocalDynamo({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
t.teardown(() => engine.close())
await repositorySuite(t, engine)
