// What every audit listing answers per record (the flag's, an API key's, a webhook's).
import { Type } from '@sinclair/typebox'

/** Which request made the change; both absent for changes made by workers (actor `system:…`). */
export const AuditOriginFields = {
  requestId: Type.Optional(Type.String({ description: 'The X-Request-Id the service answered the request that made the change with (on AWS, API Gateway\'s request id)' })),
  correlationId: Type.Optional(Type.String({ description: 'The client\'s own id for that request (its X-Correlation-Id, or an X-Request-Id it sent), when it sent a valid one' }))
}

export const AuditRecordSchema = Type.Object({
  eventId: Type.String(),
  action: Type.String(),
  actor: Type.String({ description: 'Who made the change: a user\'s email, or system:… for a worker (system:scheduler applies scheduled changes)' }),
  timestamp: Type.String(),
  environment: Type.Optional(Type.String()),
  ...AuditOriginFields,
  before: Type.Unknown({ description: 'State before the change (null on create)' }),
  after: Type.Unknown({ description: 'State after the change (null on delete)' })
})
