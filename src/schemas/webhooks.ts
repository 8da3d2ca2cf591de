import { Type, type Static } from '@sinclair/typebox'
import { EnvName, FlagName } from '../domain/model.js'
import { AUDIT_ACTIONS } from '../domain/audit.js'
import { Cursor } from './common.js'

const Action = Type.Union(AUDIT_ACTIONS.map((a) => Type.Literal(a)))
const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('cancelled')])

export const WebhookFilterSchema = Type.Object({
  environments: Type.Optional(Type.Array(EnvName, { minItems: 1, maxItems: 50, uniqueItems: true, description: 'Only events in these environments (whole-flag events, which have none, pass)' })),
  flags: Type.Optional(Type.Array(FlagName, { minItems: 1, maxItems: 100, uniqueItems: true, description: 'Only events of these flags (or of flags with one of `tags`)' })),
  tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 50, uniqueItems: true, description: 'Only events of flags carrying one of these tags (or named in `flags`)' })),
  actions: Type.Optional(Type.Array(Action, { minItems: 1, uniqueItems: true, description: 'Audit actions to receive; default: the flag changes (FEATURE_CREATED/UPDATED/DELETED, ENVIRONMENT_UPDATED/DELETED)' }))
}, { additionalProperties: false })

const Url = Type.String({ minLength: 8, maxLength: 2048, description: 'https:// URL receiving POSTs (http:// and private addresses only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)' })
const Status = Type.Union([Type.Literal('active'), Type.Literal('paused')], { description: 'paused: no new deliveries, pending ones are cancelled (replayable)' })
const Format = Type.Union([Type.Literal('standard'), Type.Literal('slack')], { description: 'standard: `{type, timestamp, data}`; slack: `{text}` for a Slack incoming webhook' })

export const CreateWebhookBody = Type.Object({
  url: Url,
  description: Type.Optional(Type.String({ maxLength: 500 })),
  filter: Type.Optional(WebhookFilterSchema),
  status: Type.Optional(Status),
  format: Type.Optional(Format)
}, { additionalProperties: false, examples: [{ url: 'https://hooks.example.com/switchyard', filter: { environments: ['prod'] } }] })
export type CreateWebhookBody = Static<typeof CreateWebhookBody>

export const UpdateWebhookBody = Type.Object({
  url: Type.Optional(Url),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  filter: Type.Optional(WebhookFilterSchema),
  status: Type.Optional(Status),
  format: Type.Optional(Format)
}, { additionalProperties: false, minProperties: 1 })

export const WebhookSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Type.String(),
  filter: WebhookFilterSchema,
  status: Status,
  format: Format,
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  updatedAt: Type.String({ format: 'date-time' }),
  updatedBy: Type.String(),
  version: Type.Integer(),
  previousSecretExpiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'During a rotation: until then deliveries are signed with both secrets' }))
})

export const WebhookWithSecretSchema = Type.Object({
  ...WebhookSchema.properties,
  secret: Type.String({ description: 'The signing secret, `whsec_` + base64. Shown once: store it now.' })
})

export const WebhookParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
export const DeliveryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), eventId: Type.String({ minLength: 36, maxLength: 36 }) })

export const RotateSecretBody = Type.Object({
  graceSeconds: Type.Integer({ minimum: 0, maximum: 7 * 86400, default: 86400, description: 'How long the current secret keeps signing beside the new one (0: stop at once)' })
}, { additionalProperties: false })

const Attempt = Type.Object({
  at: Type.String({ format: 'date-time' }),
  statusCode: Type.Optional(Type.Integer({ description: 'The response status, when one came' })),
  error: Type.Optional(Type.String({ description: 'Why the attempt failed (HTTP 500, timed out, ECONNREFUSED, refused: URL …)' })),
  latencyMs: Type.Integer()
})

export const DeliverySchema = Type.Object({
  subscriptionId: Type.String(),
  eventId: Type.String({ description: 'The audit event id (the test event has its own)' }),
  webhookId: Type.String({ description: 'The webhook-id header: the same on every attempt' }),
  action: Type.String(),
  status: Type.Union(DeliveryStatus.anyOf, { description: 'failed = dead-lettered after the retry window; replayable like cancelled' }),
  createdAt: Type.String({ format: 'date-time' }),
  attempts: Type.Integer(),
  history: Type.Array(Attempt, { description: 'The latest attempts (at most 20), oldest first' }),
  nextAttemptAt: Type.Optional(Type.String({ format: 'date-time' })),
  deliveredAt: Type.Optional(Type.String({ format: 'date-time' })),
  failedAt: Type.Optional(Type.String({ format: 'date-time' })),
  cancelReason: Type.Optional(Type.String())
})

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(DeliveryStatus),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Cursor
})

export const DeliveryListSchema = Type.Object({ items: Type.Array(DeliverySchema), nextCursor: Type.Union([Type.String(), Type.Null()]) })

export const WebhookAuditQuery = Type.Object({
  order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc' }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Cursor
})
