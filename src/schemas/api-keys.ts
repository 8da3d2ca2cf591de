import { Type, type Static } from '@sinclair/typebox'
import { EnvName } from '../domain/model.js'
import { Cursor } from './common.js'
import { AuditOriginFields } from './audit.js'

export const ApiKeyKind = Type.Union([Type.Literal('server'), Type.Literal('client')], {
  description: '`client`: evaluation results only (safe in a browser). `server`: may also download the rules of its environment (GET /sdk/v1/flags) for in-process evaluation. Keys created before kinds existed are `client`.'
})

export const ApiKeySchema = Type.Object({
  id: Type.String({ description: 'Public id of the key (part of the secret); use it to revoke' }),
  name: Type.String(),
  environment: Type.String({ description: 'The only environment this key can evaluate in' }),
  kind: ApiKeyKind,
  role: Type.Literal('CLIENT', { description: 'API keys can only evaluate flags' }),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  revokedAt: Type.Optional(Type.String({ format: 'date-time' })),
  revokedBy: Type.Optional(Type.String())
})
export type ApiKeySchema = Static<typeof ApiKeySchema>

export const CreateApiKeyBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'What the key is for, e.g. "checkout-service"' }),
  environment: EnvName,
  kind: Type.Optional(Type.Union([Type.Literal('server'), Type.Literal('client')], { default: 'client', description: 'Chosen at creation, never changed; default `client`' }))
}, { additionalProperties: false, examples: [{ name: 'checkout-service', environment: 'prod' }, { name: 'checkout-backend', environment: 'prod', kind: 'server' }] })
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>

export const CreatedApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  environment: Type.String(),
  kind: ApiKeyKind,
  role: Type.Literal('CLIENT'),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.String(),
  key: Type.String({ description: 'The secret, `sy_{environment}_{id}_{random}`. Shown once: only its SHA-256 digest is stored.' })
})

export const ApiKeyParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

export const ListApiKeysQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Cursor,
  environment: Type.Optional(EnvName)
})
export type ListApiKeysQuery = Static<typeof ListApiKeysQuery>

export const ApiKeyListSchema = Type.Object({
  items: Type.Array(ApiKeySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})

export const ApiKeyAuditQuery = Type.Object({
  order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'asc', description: 'asc = oldest first' }),
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Cursor
})

export const ApiKeyAuditList = Type.Object({
  items: Type.Array(Type.Object({
    eventId: Type.String(),
    action: Type.String({ description: 'API_KEY_CREATED or API_KEY_REVOKED' }),
    actor: Type.String(),
    timestamp: Type.String(),
    environment: Type.Optional(Type.String()),
    ...AuditOriginFields,
    before: Type.Unknown({ description: 'The key (never its secret) before the change; null on create' }),
    after: Type.Unknown({ description: 'The key (never its secret) after the change' })
  })),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})
