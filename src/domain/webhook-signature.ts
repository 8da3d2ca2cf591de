// Standard Webhooks signing (https://www.standardwebhooks.com/): the signed content is
// `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with the secret's bytes, sent as
// `v1,<base64>`; several signatures (one per valid secret during a rotation) are space-separated.
// Secrets are `whsec_` + base64 of 32 random bytes, as the specification's libraries expect.
import { createHmac, randomBytes } from 'node:crypto'

export const SECRET_PREFIX = 'whsec_'

export function generateSecret (random: (size: number) => Buffer = randomBytes): string {
  return SECRET_PREFIX + random(32).toString('base64')
}

function keyOf (secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64')
}

export function sign (secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${webhookId}.${timestampSeconds}.${body}`, 'utf8').digest('base64')
  return `v1,${mac}`
}

/** The three Standard Webhooks headers for one attempt, signed with every secret given. */
export function signatureHeaders (secrets: string[], webhookId: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => sign(s, webhookId, timestampSeconds, body)).join(' ')
  }
}
