// GET /sdk/v1/flags and GET /sdk/v1/stream (docs/OPENFEATURE.md, "The sync format").
import { Type } from '@sinclair/typebox'
import { EnvName, EnvTargeting, FlagName, FlagType, SegmentDefinition, Variant } from '../domain/model.js'

export const SyncQuery = Type.Object({
  environment: Type.Optional(Type.Union([EnvName], { description: 'Optional: must be the API key\'s own environment (the key decides it)' }))
}, { additionalProperties: false })

const SyncFlag = Type.Composite([
  Type.Object({
    key: FlagName,
    type: FlagType,
    version: Type.Integer({ description: 'The flag\'s version (its ETag in GET /features/{flag}) when read' }),
    variants: Type.Array(Variant),
    segments: Type.Array(Type.String(), { description: 'Keys of the segments this flag references; their definitions are under the document\'s `segments`' }),
    segmentOverrides: Type.Optional(Type.Record(Type.String(), SegmentDefinition, { description: 'Present only when this flag holds another copy of a segment than the shared one (flags read at slightly different moments)' }))
  }),
  EnvTargeting
])

export const SyncDocumentSchema = Type.Object({
  formatVersion: Type.Literal(1, { description: 'Changes only when a reader of version 1 could misread the document' }),
  environment: EnvName,
  revision: Type.Integer({ description: 'Environment revision the document was read at (it never misses a change up to it)' }),
  generatedAt: Type.String({ format: 'date-time' }),
  flags: Type.Array(SyncFlag, { description: 'Every flag configured in the environment, in key order, with its pending schedule' }),
  segments: Type.Record(Type.String(), SegmentDefinition)
}, { description: 'The complete evaluation definitions of the API key\'s environment (sync format 1)' })

export const NotModified = Type.Null({ description: 'Not Modified: the ETag sent in If-None-Match is current' })

export const EventStreamSchema = Type.String({
  description: 'text/event-stream. Each message: `id: <revision>` and `data: {"type":"refetchEvaluation","etag":"…","lastModified":<unix s>,"revision":n,"flags":[…]}` ' +
    '(OFREP ADR-0008 shape); `data: {"type":"heartbeat","etag":"…"}` every 15 s; the first message (`type: "hello"`) carries the current ETag.'
})
