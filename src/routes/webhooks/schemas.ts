import { graphPermissions } from '../../plugins/openapi-contract.js'
import { Type, type Static } from '@sinclair/typebox'
import { EVENT_TYPES } from '../../plugins/events.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'
import { SECRET_PATTERN } from '../../webhooks/webhook-secret.js'

const EventType = Type.Union(EVENT_TYPES.map((type) => Type.Literal(type)), { description: 'An event type' })

const WebhookIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false })
export type WebhookIdParams = Static<typeof WebhookIdParams>

export const CreateWebhookBody = Type.Object({
  url: Type.String({ maxLength: 2048, description: 'Where deliveries are POSTed: https:// only (http://127.0.0.1 when the service allows it for tests)' }),
  events: Type.Array(EventType, { minItems: 1, uniqueItems: true, description: 'Event types to deliver' }),
  secret: Type.String({
    pattern: SECRET_PATTERN, writeOnly: true,
    description: 'Signing secret, Standard Webhooks form: whsec_ + base64 of 24 to 64 random bytes. Write-only: never returned, never logged.',
  }),
  description: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false })
export type CreateWebhookBody = Static<typeof CreateWebhookBody>

const Webhook = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  createdBy: Type.Object({ oid: Type.String(), name: Type.String() }, { additionalProperties: false }),
}, { additionalProperties: false, description: 'A subscription (its secret is never shown)' })

const notFound = problemResponse('No webhook subscription with this id')

export const createWebhook = {
  operationId: 'createWebhook',
  ...graphPermissions(),
  tags: ['webhooks'],
  summary: 'Subscribe a URL to events',
  description: 'Deliveries are signed as Standard Webhooks do (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">) with the given secret, sent from a queue and retried with exponential backoff. See docs/webhooks.md.',
  body: CreateWebhookBody,
  response: {
    201: {
      description: 'The subscription',
      headers: { Location: { type: 'string', description: 'The subscription: /v1/webhooks/{id}' } },
      content: { 'application/json': { schema: Webhook } },
    },
    ...standardProblemResponses,
    422: problemResponse('The URL is not one webhooks may go to (https only, no internal address)'),
    503: problemResponse('Webhook secrets cannot be stored: GUESTGATE_WEBHOOK_SECRET_KEY is not set; or the database is unavailable'),
  },
}

export const listWebhooks = {
  operationId: 'listWebhooks',
  ...graphPermissions(),
  tags: ['webhooks'],
  summary: 'List webhook subscriptions',
  description: 'Every subscription, newest first (secrets are never shown).',
  response: { 200: Type.Object({ items: Type.Array(Webhook) }, { additionalProperties: false, description: 'The subscriptions' }), ...standardProblemResponses },
}

export const getWebhook = {
  operationId: 'getWebhook',
  ...graphPermissions(),
  tags: ['webhooks'],
  summary: 'Get a webhook subscription',
  description: 'One subscription (its secret is never shown).',
  params: WebhookIdParams,
  response: { 200: Webhook, ...standardProblemResponses, 404: notFound },
}

export const deleteWebhook = {
  operationId: 'deleteWebhook',
  ...graphPermissions(),
  tags: ['webhooks'],
  summary: 'Delete a webhook subscription',
  description: 'Stops deliveries to it at once (queued ones are dropped) and deletes its delivery log.',
  params: WebhookIdParams,
  response: { 204: Type.Null({ description: 'Deleted' }), ...standardProblemResponses, 404: notFound },
}

const Attempt = Type.Object({
  attempt: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'The receiver\'s HTTP status; null when it gave none' }),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Integer(),
}, { additionalProperties: false })

export const DeliveriesQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
}, { additionalProperties: false })
export type DeliveriesQuery = Static<typeof DeliveriesQuery>

export const listDeliveries = {
  operationId: 'listWebhookDeliveries',
  ...graphPermissions(),
  tags: ['webhooks'],
  summary: 'The delivery log of a subscription',
  description: 'Its newest messages with every attempt: status pending (being retried), succeeded, or failed (retries used up).',
  params: WebhookIdParams,
  querystring: DeliveriesQuery,
  response: {
    200: Type.Object({
      items: Type.Array(Type.Object({
        id: Type.String({ description: 'The message id (webhook-id header)' }),
        eventType: Type.String(),
        status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
        attempts: Type.Integer(),
        createdAt: Type.String({ format: 'date-time' }),
        deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        payload: Type.Unknown({ description: 'The body that was sent' }),
        attemptLog: Type.Array(Attempt),
      }, { additionalProperties: false })),
    }, { additionalProperties: false, description: 'The newest deliveries with their attempts' }),
    ...standardProblemResponses,
    404: notFound,
  },
}
