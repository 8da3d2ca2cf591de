// Webhook subscriptions and what they receive: the filter, the delivery id, the two payload
// formats. Pure functions; the repositories and the delivery worker do the I/O.
import { createHash } from 'node:crypto'
import type { AuditAction, AuditEvent } from './audit.js'

export type WebhookFormat = 'standard' | 'slack'
export type WebhookStatus = 'active' | 'paused'

export interface WebhookFilter {
  environments?: string[]
  flags?: string[]
  tags?: string[]
  actions?: AuditAction[]
}

/** What the API shows about a subscription; never its secrets. */
export interface WebhookSubscription {
  id: string
  url: string
  description: string
  filter: WebhookFilter
  status: WebhookStatus
  format: WebhookFormat
  createdAt: string
  createdBy: string
  updatedAt: string
  updatedBy: string
  version: number
  /** While a rotation is in progress: when the previous secret stops being used to sign. */
  previousSecretExpiresAt?: string
}

export interface StoredSecret { secret: string; createdAt: string; expiresAt?: string }

/** The flag changes a subscription receives when its filter names no actions. */
export const DEFAULT_ACTIONS: readonly AuditAction[] = [
  'FEATURE_CREATED', 'FEATURE_UPDATED', 'FEATURE_DELETED', 'ENVIRONMENT_UPDATED', 'ENVIRONMENT_DELETED'
]

/** The synthetic event type of POST /webhooks/{id}/test (not an audit action: nothing changed). */
export const TEST_EVENT_TYPE = 'WEBHOOK_TEST'

/** An event as deliveries carry it: an audit event, or the test event. */
export type DeliverableEvent = Omit<AuditEvent, 'action'> & { action: AuditAction | typeof TEST_EVENT_TYPE }

/** Tags the filter needs are those of the event's flag (when it has one). */
export function tagsInEvent (event: DeliverableEvent): string[] | undefined {
  for (const side of [event.after, event.before]) {
    const tags = (side as { tags?: unknown } | null)?.tags
    if (Array.isArray(tags)) return tags.map(String)
  }
  return undefined
}

/**
 * Does the subscription's filter select the event? Each criterion present must hold:
 * actions (default DEFAULT_ACTIONS); environments (events without an environment — a whole-flag
 * change — pass); flags or tags (either naming the event's flag is enough; events without a flag
 * do not pass).
 */
export function matches (filter: WebhookFilter, event: DeliverableEvent, flagTags: string[] | undefined): boolean {
  const actions = filter.actions ?? DEFAULT_ACTIONS
  if (!(actions as readonly string[]).includes(event.action)) return false
  if (filter.environments !== undefined && event.environment !== undefined && !filter.environments.includes(event.environment)) return false
  if (filter.flags !== undefined || filter.tags !== undefined) {
    if (event.feature === undefined) return false
    const byName = filter.flags?.includes(event.feature) ?? false
    const byTag = filter.tags !== undefined && (flagTags ?? []).some((t) => filter.tags!.includes(t))
    if (!byName && !byTag) return false
  }
  return true
}

/** Whether the filter needs the flag's tags (so the fan-out reads them only then). */
export function needsTags (filter: WebhookFilter): boolean {
  return filter.tags !== undefined && filter.tags.length > 0
}

/** The `webhook-id` of (subscription, event): the same on every attempt, different per endpoint. */
export function webhookIdOf (subscriptionId: string, eventId: string): string {
  return 'msg_' + createHash('sha256').update(`${subscriptionId}:${eventId}`).digest('base64url').slice(0, 32)
}

/** The body of a delivery, in the subscription's format. */
export function payloadOf (format: WebhookFormat, event: DeliverableEvent): string {
  if (format === 'slack') return JSON.stringify({ text: slackText(event) })
  const data: Record<string, unknown> = {
    eventId: event.eventId,
    action: event.action,
    subject: event.subject,
    actor: event.actor,
    timestamp: event.timestamp,
    before: event.before ?? null,
    after: event.after ?? null
  }
  if (event.feature !== undefined) data.feature = event.feature
  if (event.environment !== undefined) data.environment = event.environment
  if (event.requestId !== undefined) data.requestId = event.requestId
  if (event.correlationId !== undefined) data.correlationId = event.correlationId
  return JSON.stringify({ type: event.action, timestamp: event.timestamp, data })
}

const VERBS: Record<string, string> = {
  FEATURE_CREATED: 'created flag',
  FEATURE_UPDATED: 'updated flag',
  FEATURE_DELETED: 'deleted flag',
  ENVIRONMENT_UPDATED: 'changed flag',
  ENVIRONMENT_DELETED: 'removed flag'
}

function slackEscape (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** One line in Slack's mrkdwn, e.g. "alice@example.com changed flag `checkout` in *prod*: enabled false → true". */
export function slackText (event: DeliverableEvent): string {
  if (event.action === TEST_EVENT_TYPE) return 'Switchyard test event: this webhook is reachable and receives deliveries.'
  const who = slackEscape(event.actor)
  const verb = VERBS[event.action]
  const what = event.feature !== undefined ? `\`${slackEscape(event.feature)}\`` : slackEscape(event.subject)
  const where = event.environment !== undefined ? ` in *${slackEscape(event.environment)}*` : ''
  const enabled = (side: unknown) => (side as { enabled?: unknown } | null)?.enabled
  const change = event.action === 'ENVIRONMENT_UPDATED' && typeof enabled(event.after) === 'boolean' && enabled(event.before) !== enabled(event.after)
    ? `: enabled ${String(enabled(event.before) ?? '—')} → ${String(enabled(event.after))}`
    : ''
  return verb !== undefined
    ? `${who} ${verb} ${what}${where}${change}`
    : `${who}: ${event.action} ${what}${where}`
}
