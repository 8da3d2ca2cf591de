import { Type } from '@sinclair/typebox'
import { SegmentDefinition, SEGMENT_KEY_PATTERN } from '../domain/model.js'

export const SegmentBody = SegmentDefinition
export const UpdateSegmentBody = Type.Omit(SegmentDefinition, ['key'], { additionalProperties: false })
export const SegmentParams = Type.Object({ key: Type.String({ pattern: SEGMENT_KEY_PATTERN }) })
export const SegmentSchema = Type.Object({
  key: Type.String(),
  description: Type.Optional(Type.String()),
  included: Type.Array(Type.String()),
  excluded: Type.Array(Type.String()),
  rules: Type.Array(Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true })),
  version: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  updatedBy: Type.String()
})
