// EvaluateFunction: the evaluation surface alone (src/evaluate-app.ts: POST /features/evaluate and
// the OFREP routes) behind the same HTTP API. Read-only: its role can only read the table and the
// JWT secret, so it seeds nothing on start. Init happens at module load (Lambda's init phase).
import './call-sites.js' // first: before pino loads (see there)
import '../lib/tick-maps.js' // before any request: see there
import Fastify from 'fastify'
import evaluateApp from '../evaluate-app.js'
import { serverOptions } from '../core.js'
import { appEnv, jwtSecretSource } from './env.js'
import { httpApiHandler } from './http-handler.js'

const env = await appEnv(process.env)

export const app = Fastify(serverOptions(env.LOG_LEVEL ?? 'info', undefined, 'lambda'))
await app.register(evaluateApp, { env, jwtSecretSource: jwtSecretSource(process.env) })
// Request ids, query strings and binary bodies as on the server (see http-handler.ts).
export const handler = httpApiHandler(app)
await app.ready()
