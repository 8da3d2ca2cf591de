// npm run create-admin -- --email you@example.com --password '…' [--aws]
//
// Creates (or promotes) an ADMIN account in the configured store:
// - with --aws: the DynamoDB table TABLE_NAME in AWS_REGION, with your AWS credentials;
// - with DYNAMODB_ENDPOINT set: that endpoint;
// - otherwise the local store under DATA_DIR (default .data): through the running dev server's
//   engine when one is up, else by opening the LevelDB files directly.
// The audit event is committed to the outbox with the change; the sweeper (dev server or the
// MaintenanceFunction) delivers it.
import { parseArgs } from 'node:util'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { v7 as uuidv7 } from 'uuid'
import { createDocumentClient } from '../src/aws.js'
import { createStore } from '../src/repositories/store.js'
import { createUserRepository } from '../src/repositories/user-repository.js'
import { hashPassword, passwordWeakness } from '../src/auth/passwords.js'
import { startLocalStack, type LocalStack } from '../src/local/stack.js'

const { values } = parseArgs({ options: { email: { type: 'string' }, password: { type: 'string' }, aws: { type: 'boolean', default: false } } })
const email = values.email
const password = values.password ?? process.env.ADMIN_PASSWORD
if (email === undefined || password === undefined) {
  process.stderr.write('usage: npm run create-admin -- --email you@example.com --password \'a long passphrase\' [--aws]\n')
  process.exit(2)
}
const weakness = passwordWeakness(password, email)
if (weakness !== null) {
  process.stderr.write(`password refused: ${weakness}\n`)
  process.exit(2)
}

const region = process.env.AWS_REGION ?? 'us-east-1'
const tableName = process.env.TABLE_NAME ?? 'switchyard'
let endpoint = values.aws === true ? undefined : process.env.DYNAMODB_ENDPOINT
let stack: LocalStack | undefined
if (values.aws !== true && endpoint === undefined) {
  const dataDir = resolve(process.env.DATA_DIR ?? '.data')
  try {
    const running = JSON.parse(await readFile(join(dataDir, 'running.json'), 'utf8')) as { dynamoEndpoint?: string }
    if (running.dynamoEndpoint !== undefined) {
      await fetch(running.dynamoEndpoint, { method: 'POST' }).catch(() => { throw new Error('not running') })
      endpoint = running.dynamoEndpoint
    }
  } catch {}
  if (endpoint === undefined) {
    stack = await startLocalStack({ dynamoPath: join(dataDir, 'dynamodb'), tableName })
    endpoint = stack.dynamoEndpoint
  }
}

const doc = createDocumentClient({ AWS_REGION: region, DYNAMODB_ENDPOINT: endpoint })
try {
  const store = createStore({ doc, tableName, now: Date.now, ids: { eventId: () => uuidv7() } })
  const users = createUserRepository(store)
  const existing = await users.get(email)
  if (existing === undefined) {
    await users.create({ username: email.split('@')[0] ?? 'admin', email, passwordHash: await hashPassword(password, Number(process.env.BCRYPT_ROUNDS ?? 12)), role: 'ADMIN' }, { actor: 'system:create-admin' })
    process.stdout.write(`created admin ${email}\n`)
  } else if (existing.role !== 'ADMIN') {
    await users.setRole(email, 'ADMIN', { actor: 'system:create-admin' })
    process.stdout.write(`promoted ${email} to ADMIN (password unchanged)\n`)
  } else {
    process.stdout.write(`${email} is already an admin (password unchanged)\n`)
  }
} finally {
  doc.destroy()
  await stack?.close()
}
