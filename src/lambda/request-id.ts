// The Lambda side of src/request-id.ts: @fastify/aws-lambda would keep a client's X-Request-Id
// over API Gateway's request id (it only fills the header in when the event has none). Before the
// event reaches it, a client's X-Request-Id is moved to X-Correlation-Id (unless the client sent
// one of those too), so the X-Request-Id the app sees is API Gateway's.
export interface HttpApiEvent { headers?: Record<string, string | undefined> }

export function withApiGatewayRequestId<E, C, R> (handler: (event: E, context: C) => Promise<R>): (event: E, context: C) => Promise<R> {
  return async function apiGatewayRequestId (event: E, context: C): Promise<R> {
    const headers = (event as HttpApiEvent | undefined)?.headers
    if (headers !== undefined) {
      for (const name of Object.keys(headers)) {
        if (name.toLowerCase() !== 'x-request-id') continue
        const hasCorrelation = Object.keys(headers).some((h) => h.toLowerCase() === 'x-correlation-id')
        if (!hasCorrelation && headers[name] !== undefined) headers['x-correlation-id'] = headers[name]
        delete headers[name]
      }
    }
    return await handler(event, context)
  }
}
