import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { Store, WriteMeta } from './store.js'
import { ALL_OLD } from './store.js'
import { userKey, userListKeys, usersIndexPartition } from './keys.js'
import { decodeCursor } from './cursor.js'
import { gsi1Page } from './list-page.js'
import { auditOrigin, buildAuditEvent } from '../domain/audit.js'
import { conflict, notFound } from '../domain/errors.js'

export type Role = 'ADMIN' | 'CLIENT'

export interface User {
  username: string
  email: string
  passwordHash: string
  role: Role
  createdAt: string
  /** Incremented on every role change; tokens carry it, so a demoted user's old token is refused. */
  roleVersion: number
}

export type PublicUser = Omit<User, 'passwordHash'>

export const normalizeEmail = (email: string) => email.trim().toLowerCase()

export function publicUser (u: User): PublicUser {
  const { passwordHash: _omit, ...rest } = u
  return rest
}

export function createUserRepository (store: Store) {
  const { doc, tableName, now, ids } = store
  return {
    async get (email: string): Promise<User | undefined> {
      const res = await doc.send(new GetCommand({ TableName: tableName, Key: userKey(normalizeEmail(email)), ConsistentRead: true }))
      return res.Item as User | undefined
    },

    async create (input: { username: string; email: string; passwordHash: string; role: Role }, meta: WriteMeta): Promise<User> {
      const user: User = { ...input, email: normalizeEmail(input.email), createdAt: new Date(now()).toISOString(), roleVersion: 1 }
      const event = buildAuditEvent({ subject: `user:${user.email}`, action: 'USER_SIGNED_UP', actor: meta.actor, before: null, after: publicUser(user), ...auditOrigin(meta) }, ids, now)
      await store.commit([{
        item: { Put: { TableName: tableName, Item: { ...userKey(user.email), ...userListKeys(user.email), entity: 'User', ...user }, ConditionExpression: 'attribute_not_exists(PK)' } },
        onConditionFailed: () => conflict('An account with this email already exists')
      }], [event])
      return user
    },

    async setRole (email: string, role: Role, meta: WriteMeta): Promise<PublicUser> {
      const current = await this.get(email)
      if (current === undefined) throw notFound(`User '${normalizeEmail(email)}' not found`)
      const after: User = { ...current, role, roleVersion: current.roleVersion + 1 }
      const event = buildAuditEvent({ subject: `user:${current.email}`, action: 'USER_ROLE_CHANGED', actor: meta.actor, before: publicUser(current), after: publicUser(after), ...auditOrigin(meta) }, ids, now)
      await store.commit([{
        item: {
          Update: {
            TableName: tableName,
            Key: userKey(current.email),
            UpdateExpression: 'SET #role = :role, #rv = :next, GSI1PK = :gpk, GSI1SK = :gsk',
            ConditionExpression: 'attribute_exists(PK) AND #rv = :rv',
            ExpressionAttributeNames: { '#role': 'role', '#rv': 'roleVersion' },
            ExpressionAttributeValues: { ':role': role, ':rv': current.roleVersion, ':next': after.roleVersion, ':gpk': userListKeys(current.email).GSI1PK, ':gsk': userListKeys(current.email).GSI1SK },
            ...ALL_OLD
          }
        },
        onConditionFailed: (old) => old === undefined ? notFound(`User '${current.email}' not found`) : conflict('The user changed concurrently; retry')
      }], [event])
      return publicUser(after)
    },

    /** Accounts by email (GSI1, one Query per page; a role filter may read on to fill the page). */
    async list (opts: { limit: number; cursor?: string; role?: Role }): Promise<{ items: PublicUser[]; nextCursor: string | null }> {
      const start = opts.cursor !== undefined ? decodeCursor(opts.cursor) : undefined
      return await gsi1Page(doc, tableName, {
        pk: usersIndexPartition,
        limit: opts.limit,
        startKey: start !== undefined ? { ...userKey(start), ...userListKeys(start) } : undefined,
        keep: (i) => opts.role === undefined || i.role === opts.role,
        map: (i) => publicUser(i as unknown as User),
        cursorOf: (i) => String(i.email)
      })
    },

    /** Accounts created before GET /users existed lack its index keys; added at their next login. */
    async ensureListed (user: User): Promise<void> {
      if ((user as User & { GSI1PK?: string }).GSI1PK !== undefined) return
      await doc.send(new UpdateCommand({
        TableName: tableName,
        Key: userKey(user.email),
        UpdateExpression: 'SET GSI1PK = :gpk, GSI1SK = :gsk',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':gpk': userListKeys(user.email).GSI1PK, ':gsk': userListKeys(user.email).GSI1SK }
      })).catch(() => {}) // best effort: the account was deleted meanwhile, or the store is busy
    }
  }
}

export type UserRepository = ReturnType<typeof createUserRepository>
