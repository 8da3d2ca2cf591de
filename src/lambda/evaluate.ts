// EvaluateFunction: the evaluation surface alone (src/evaluate-app.ts: POST /features/evaluate and
// the OFREP routes) behind the same HTTP API. Read-only: its role can only read the table and the
// JWT secret, so it seeds nothing on start. Init happens at module load (Lambda's init phase).
import './call-sites.js' // first: before pino loads (see there)
import Fastify from 'fastify'
import evaluateApp from '../evaluate-app.js'
import { serverOptions } from '../core.js'
import { appEnv, jwtSecretSource } from './env.js'
import { httpApiHandler } from './http-handler.js'
import { withApiGatewayRequestId } from './request-id.js'

const env = await appEnv(process.env)

export const app = Fastify(serverOptions(env.LOG_LEVEL ?? 'info', undefined, 'lambda'))
await app.register(evaluateApp, { env, jwtSecretSource: jwtSecretSource(process.env) })
// The request id is API Gateway's, never a client's X-Request-Id (src/lambda/request-id.ts).
export const handler = withApiGatewayRequestId(httpApiHandler(app))
await app.ready()
