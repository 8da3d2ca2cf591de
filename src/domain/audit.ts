// Audit events: built by the write path, carried through the outbox and SQS, persisted by the
// consumer. Pure data; nothing here performs I/O.
import { Type, type Static } from '@sinclair/typebox'

export const AUDIT_ACTIONS = [
  'FEATURE_CREATED', 'FEATURE_UPDATED', 'FEATURE_DELETED',
  'ENVIRONMENT_UPDATED', 'ENVIRONMENT_DELETED',
  'ENVIRONMENT_REGISTERED',
  'USER_SIGNED_UP', 'USER_ROLE_CHANGED',
  'API_KEY_CREATED', 'API_KEY_REVOKED',
  'SEGMENT_CREATED', 'SEGMENT_UPDATED', 'SEGMENT_DELETED',
  'WEBHOOK_CREATED', 'WEBHOOK_UPDATED', 'WEBHOOK_DELETED', 'WEBHOOK_SECRET_ROTATED'
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

export const AuditEventSchema = Type.Object({
  eventId: Type.String({ minLength: 36, maxLength: 36 }),
  /** Audit partition: a flag name, or `user:…`, `environment:…`, `apikey:…`, `segment:…`, `webhook:…`. */
  subject: Type.String({ minLength: 1, maxLength: 300 }),
  feature: Type.Optional(Type.String()),
  environment: Type.Optional(Type.String()),
  action: Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a))),
  actor: Type.String({ minLength: 1 }),
  timestamp: Type.String({ format: 'date-time' }),
  before: Type.Union([Type.Null(), Type.Unknown()]),
  after: Type.Union([Type.Null(), Type.Unknown()]),
  // The two ids are not bounded here: the edge validated them, and a consumer that refused an
  // event would send the only record of a committed change to the DLQ.
  /** The id the service answered the change's request with (X-Request-Id); absent for workers' changes. */
  requestId: Type.Optional(Type.String()),
  /** The client's own id for that request (X-Correlation-Id), when it sent a valid one. */
  correlationId: Type.Optional(Type.String())
})
export type AuditEvent = Static<typeof AuditEventSchema>

export interface AuditEventInput {
  subject: string
  feature?: string
  environment?: string
  action: AuditAction
  actor: string
  before: unknown
  after: unknown
  requestId?: string
  correlationId?: string
}

/** Which request made a change: set for changes made through the HTTP API, absent for workers'. */
export interface AuditOrigin { requestId?: string; correlationId?: string }

/** The origin fields of a write's meta, without keys for the absent ones. */
export function auditOrigin (meta: AuditOrigin): AuditOrigin {
  const origin: AuditOrigin = {}
  if (meta.requestId !== undefined) origin.requestId = meta.requestId
  if (meta.correlationId !== undefined) origin.correlationId = meta.correlationId
  return origin
}

export interface IdGenerator { eventId(): string }
export type Clock = () => number

export function buildAuditEvent (input: AuditEventInput, ids: IdGenerator, now: Clock): AuditEvent {
  return {
    eventId: ids.eventId(),
    timestamp: new Date(now()).toISOString(),
    ...input,
    before: input.before ?? null,
    after: input.after ?? null
  }
}

/** Actor recorded for changes the maintenance worker applies from a flag's schedule. */
export const SCHEDULER_ACTOR = 'system:scheduler'
