import { Type } from '@sinclair/typebox'
import { Cursor } from './common.js'

export const Email = Type.String({ format: 'email', maxLength: 254, examples: ['ada@example.com'] })

export const SignupBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' }),
  email: Email,
  password: Type.String({ minLength: 1, maxLength: 1024, description: 'At least 12 characters, at most 72 bytes, 5 distinct characters' })
}, { additionalProperties: false, examples: [{ username: 'ada', email: 'ada@example.com', password: 'correct horse battery' }] })

export const LoginBody = Type.Object({
  email: Email,
  password: Type.String({ minLength: 1, maxLength: 1024 })
}, { additionalProperties: false })

export const Role = Type.Union([Type.Literal('ADMIN'), Type.Literal('CLIENT')])

export const UserSchema = Type.Object({
  username: Type.String(),
  email: Type.String(),
  role: Role,
  createdAt: Type.String()
})

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds' })
})

export const UserParams = Type.Object({ email: Email })

export const RoleBody = Type.Object({ role: Role }, { additionalProperties: false })

export const ListUsersQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: Cursor,
  role: Type.Optional(Role)
})

export const UserListSchema = Type.Object({
  items: Type.Array(UserSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})
