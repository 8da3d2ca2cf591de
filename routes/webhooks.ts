// Webhook subscriptions and their deliveries (ADMIN only); docs/WEBHOOKS.md. The signing secret
// is in the answers of create and rotate-secret and nowhere else.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import {
  CreateWebhookBody, DeliveriesQuery, DeliveryListSchema, DeliveryParams, DeliverySchema, RotateSecretBody, UpdateWebhookBody,
  WebhookAuditQuery, WebhookParams, WebhookSchema, WebhookWithSecretSchema
} from '../src/schemas/webhooks.js'
import { ApiKeyAuditList } from '../src/schemas/api-keys.js'
import { IfMatchHeaders, NoContent, problems } from '../src/schemas/common.js'
import { etag, parseIfMatch } from '../src/if-match.js'
import { conflict, notFound } from '../src/domain/errors.js'
import { publicDelivery } from '../src/repositories/webhook-delivery-repository.js'
import { TEST_EVENT_TYPE, type DeliverableEvent } from '../src/domain/webhooks.js'
import { requestOrigin } from '../src/request-id.js'

const SECURITY = [{ bearerAuth: [] }]
const TAGS = ['webhooks']
const meta = (request: FastifyRequest) => ({ actor: request.user.sub, ...requestOrigin(request), ifMatch: parseIfMatch(request.headers['if-match']) })

export default async function webhookRoutes (app: FastifyInstance) {
  const fastify = app.withTypeProvider<TypeBoxTypeProvider>()
  const admin = [fastify.authenticate, fastify.requireRole('ADMIN')]
  const { subscriptions, deliveries } = fastify.webhooks

  async function existing (id: string) {
    const sub = await subscriptions.get(id)
    if (sub === undefined) throw notFound(`Webhook '${id}' not found`)
    return sub
  }

  fastify.post('/', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'Subscribe a URL to flag changes; the signing secret is shown once', security: SECURITY, body: CreateWebhookBody, response: { 201: WebhookWithSecretSchema, ...problems(400, 401, 403) } }
  }, async function createWebhook (request, reply) {
    await fastify.webhooks.checkUrl(request.body.url)
    const { subscription, secret } = await subscriptions.create(request.body, meta(request))
    reply.header('cache-control', 'no-store').header('location', `/webhooks/${subscription.id}`).header('etag', etag(subscription.version))
    return reply.code(201).send({ ...subscription, secret })
  })

  fastify.get('/', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'List webhook subscriptions (never their secrets)', security: SECURITY, response: { 200: { type: 'object', properties: { items: { type: 'array', items: WebhookSchema } }, required: ['items'] }, ...problems(401, 403) } }
  }, async function listWebhooks () {
    return { items: await subscriptions.list() }
  })

  fastify.get('/:id', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'One webhook subscription; ETag for If-Match', security: SECURITY, params: WebhookParams, response: { 200: WebhookSchema, ...problems(401, 403, 404) } }
  }, async function getWebhook (request, reply) {
    const sub = await existing(request.params.id)
    reply.header('etag', etag(sub.version))
    return sub
  })

  fastify.patch('/:id', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'Change URL, description, filter, status (active/paused) or format; audited', security: SECURITY, params: WebhookParams, headers: IfMatchHeaders, body: UpdateWebhookBody, response: { 200: WebhookSchema, ...problems(400, 401, 403, 404, 412) } }
  }, async function updateWebhook (request, reply) {
    if (request.body.url !== undefined) await fastify.webhooks.checkUrl(request.body.url)
    const sub = await subscriptions.update(request.params.id, request.body, meta(request))
    reply.header('etag', etag(sub.version))
    return sub
  })

  fastify.delete('/:id', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'Delete a subscription (its pending deliveries are cancelled); audited', security: SECURITY, params: WebhookParams, headers: IfMatchHeaders, response: { 204: NoContent, ...problems(400, 401, 403, 404, 412) } }
  }, async function deleteWebhook (request, reply) {
    await subscriptions.delete(request.params.id, meta(request))
    return reply.code(204).send(null)
  })

  fastify.post('/:id/rotate-secret', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'New signing secret (shown once); the current one keeps signing for graceSeconds', security: SECURITY, params: WebhookParams, headers: IfMatchHeaders, body: RotateSecretBody, response: { 200: WebhookWithSecretSchema, ...problems(400, 401, 403, 404, 412) } }
  }, async function rotateWebhookSecret (request, reply) {
    const { subscription, secret } = await subscriptions.rotateSecret(request.params.id, request.body.graceSeconds, meta(request))
    reply.header('cache-control', 'no-store').header('etag', etag(subscription.version))
    return { ...subscription, secret }
  })

  fastify.get('/:id/deliveries', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'Deliveries, newest first: attempts, status codes, latency, next retry; status=failed lists the dead-lettered', security: SECURITY, params: WebhookParams, querystring: DeliveriesQuery, response: { 200: DeliveryListSchema, ...problems(400, 401, 403, 404) } }
  }, async function listDeliveries (request) {
    await existing(request.params.id)
    return await deliveries.list(request.params.id, request.query)
  })

  fastify.get('/:id/deliveries/:eventId', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'One delivery', security: SECURITY, params: DeliveryParams, response: { 200: DeliverySchema, ...problems(401, 403, 404) } }
  }, async function getDelivery (request) {
    const d = await deliveries.get(request.params.id, request.params.eventId)
    if (d === undefined) throw notFound(`No delivery of event '${request.params.eventId}' to webhook '${request.params.id}'`)
    return publicDelivery(d)
  })

  fastify.post('/:id/deliveries/:eventId/replay', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'Send a dead-lettered (failed) or cancelled delivery again, same webhook-id, new 24 h retry window', security: SECURITY, params: DeliveryParams, response: { 202: DeliverySchema, ...problems(401, 403, 404, 409, 503) } }
  }, async function replayDelivery (request, reply) {
    const { id, eventId } = request.params
    await existing(id)
    const outcome = await deliveries.replay(id, eventId, fastify.clock())
    if (outcome === 'missing') throw notFound(`No delivery of event '${eventId}' to webhook '${id}'`)
    if (outcome !== 'replayed') throw conflict(`Only a failed or cancelled delivery can be replayed; this one is ${outcome}`)
    await fastify.webhooks.wake({ subscriptionId: id, eventId })
    return reply.code(202).send(publicDelivery((await deliveries.get(id, eventId))!))
  })

  fastify.post('/:id/test', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'Send a test event (type WEBHOOK_TEST) through the normal delivery path', security: SECURITY, params: WebhookParams, response: { 202: DeliverySchema, ...problems(401, 403, 404, 503) } }
  }, async function sendTestEvent (request, reply) {
    const sub = await existing(request.params.id)
    const at = fastify.clock()
    const event: DeliverableEvent = {
      eventId: fastify.store.ids.eventId(),
      subject: `webhook:${sub.id}`,
      action: TEST_EVENT_TYPE,
      actor: request.user.sub,
      timestamp: new Date(at).toISOString(),
      before: null,
      after: null,
      ...requestOrigin(request)
    }
    await deliveries.createIfAbsent(sub.id, event, at)
    await fastify.webhooks.wake({ subscriptionId: sub.id, eventId: event.eventId })
    return reply.code(202).send(publicDelivery((await deliveries.get(sub.id, event.eventId))!))
  })

  fastify.get('/:id/audit', {
    onRequest: admin,
    schema: { tags: TAGS, summary: 'Audit history of a subscription (created, updated, secret rotated, deleted); eventually consistent', security: SECURITY, params: WebhookParams, querystring: WebhookAuditQuery, response: { 200: ApiKeyAuditList, ...problems(400, 401, 403) } }
  }, async function listWebhookAudit (request) {
    return await fastify.audit.list(`webhook:${request.params.id}`, request.query)
  })
}
