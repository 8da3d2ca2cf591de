// ApiFunction: the whole Switchyard API (src/app.ts) behind API Gateway HTTP API, payload 2.0.
// Everything up to app.ready() runs at module load, i.e. in Lambda's init phase; an invocation
// only pays for its request. Queries parse as on the server (see http-handler.ts).
//
// Bootstrap on: every cold start seeds the environment registry (conditional puts, idempotent,
// a few write units per cold start). The first admin is not created here: the template sets no
// ADMIN_EMAIL/ADMIN_PASSWORD (a password in a function's environment is readable by anyone who can
// read its configuration); docs/DEPLOY.md creates it with `npm run create-admin -- --aws`.
//
// The Swagger UI is off: it serves its assets from files next to its package, which a bundle
// does not have. /openapi.json is served.
import './call-sites.js' // first: before pino loads (see there)
import '../lib/tick-maps.js' // before any request: see there
import Fastify from 'fastify'
import switchyard from '../app.js'
import { serverOptions } from '../core.js'
import { appEnv, jwtSecretSource } from './env.js'
import { httpApiHandler } from './http-handler.js'

const env = await appEnv(process.env)

export const app = Fastify(serverOptions(env.LOG_LEVEL ?? 'info', undefined, 'lambda'))
await app.register(switchyard, { env, jwtSecretSource: jwtSecretSource(process.env), docsUi: false, bootstrap: true })
// Request ids, query strings and binary bodies as on the server (see http-handler.ts).
export const handler = httpApiHandler(app)
await app.ready()
