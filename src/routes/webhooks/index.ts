// Webhook subscriptions (Webhooks.Manage in the policy: `webhooks: { manage: true }`). The secret
// goes in once and is kept encrypted; responses, audit rows and logs never carry it. The URL may
// itself be a credential: audit rows get only its origin and hash (auditedUrl); the API shows it
// whole to the managers who configure it.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { databaseUnavailable, notFound, ProblemError, unprocessable } from '../../errors.js'
import { actorOf } from '../../operations/audited-graph.js'
import type { PolicyDecision } from '../../policies/types.js'
import { encryptSecret, secretProblem } from '../../webhooks/webhook-secret.js'
import { auditedUrl, webhookUrlProblem } from '../../webhooks/webhook-url.js'
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks } from './schemas.js'

const manage = { action: 'manage', subject: 'Webhook' } as const

interface SubscriptionRow { id: string; url: string; events: string[]; description: string | null; createdAt: Date; createdBy: unknown }

const toWebhook = (row: SubscriptionRow) => {
  const by = row.createdBy as { oid: string; name: string }
  return { id: row.id, url: row.url, events: row.events, description: row.description, createdAt: row.createdAt.toISOString(), createdBy: { oid: by.oid, name: by.name } }
}

export default async function webhookRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  /** Who created or deleted which subscription is part of the record (never its secret, nor its URL whole). */
  const record = (request: FastifyRequest, decision: PolicyDecision, action: string, id: string, summary: Record<string, unknown>) =>
    app.audit.append({
      operationId: randomUUID(), requestId: String(request.id), correlationId: randomUUID(),
      actor: actorOf(request.authenticatedPrincipal()), action, target: { type: 'webhook', id },
      decision: 'allowed', status: 'recorded', ruleId: decision.rule, reason: decision.reason, policyVersion: decision.policyVersion,
      requestSummary: summary,
    }).catch((error: unknown) => { throw databaseUnavailable(error) })

  const find = async (id: string) => {
    const row = await app.prisma.webhookSubscription.findUnique({ where: { id } })
    if (!row) throw notFound(`No webhook subscription with id ${id}`)
    return row
  }

  app.post('/', { schema: createWebhook, config: { authorization: manage } }, async (request, reply) => {
    const { url, events, secret, description } = request.body
    const decision = await request.authorize('manage', { type: 'Webhook' })
    const urlProblem = webhookUrlProblem(url, app.webhooks.settings)
    if (urlProblem) throw unprocessable('webhook_url_not_allowed', `The webhook URL ${urlProblem}.`, { errors: [{ field: 'body/url', message: urlProblem }] })
    const keyProblem = secretProblem(secret)
    if (keyProblem) throw unprocessable('validation_failed', `The secret ${keyProblem}.`, { errors: [{ field: 'body/secret', message: keyProblem }] })
    const key = app.webhooks.settings.secretKey
    if (!key) {
      throw new ProblemError(503, 'webhooks_not_configured', 'Webhooks are not configured',
        'Webhook secrets cannot be stored: set GUESTGATE_WEBHOOK_SECRET_KEY (32 random bytes, base64) and restart.')
    }
    const id = randomUUID()
    const actor = actorOf(request.authenticatedPrincipal())
    const createdBy = { oid: actor.oid, name: actor.name, tenantId: actor.tenantId }
    // A dry run answers what would be created and stores nothing.
    if (request.dryRun) return reply.code(201).send(toWebhook({ id, url, events, description: description ?? null, createdAt: new Date(), createdBy }))
    await record(request, decision, 'webhook.create', id, { ...auditedUrl(url), events, description: description ?? null })
    const row = await app.prisma.webhookSubscription.create({
      data: { id, url, events, description: description ?? null, secretCiphertext: encryptSecret(secret, key), createdBy },
    })
    return reply.code(201).header('location', `/v1/webhooks/${id}`).send(toWebhook(row))
  })

  app.get('/', { schema: listWebhooks, config: { authorization: manage } }, async (request) => {
    await request.authorize('manage', { type: 'Webhook' })
    const rows = await app.prisma.webhookSubscription.findMany({ orderBy: { createdAt: 'desc' } })
    return { items: rows.map(toWebhook) }
  })

  app.get('/:id', { schema: getWebhook, config: { authorization: manage } }, async (request) => {
    await request.authorize('manage', { type: 'Webhook' })
    return toWebhook(await find(request.params.id))
  })

  app.delete('/:id', { schema: deleteWebhook, config: { authorization: manage } }, async (request, reply) => {
    const decision = await request.authorize('manage', { type: 'Webhook' })
    const row = await find(request.params.id)
    if (request.dryRun) return reply.code(204).send(null)
    await record(request, decision, 'webhook.delete', row.id, { ...auditedUrl(row.url), events: row.events })
    await app.prisma.webhookSubscription.deleteMany({ where: { id: row.id } })
    return reply.code(204).send(null)
  })

  app.get('/:id/deliveries', { schema: listDeliveries, config: { authorization: manage } }, async (request) => {
    await request.authorize('manage', { type: 'Webhook' })
    await find(request.params.id)
    const rows = await app.prisma.webhookDelivery.findMany({
      where: { subscriptionId: request.params.id },
      orderBy: { createdAt: 'desc' },
      take: request.query.limit,
      include: { attemptLog: { orderBy: { attempt: 'asc' } } },
    })
    return {
      items: rows.map((d) => ({
        id: d.id, eventType: d.eventType, status: d.status as 'pending' | 'succeeded' | 'failed', attempts: d.attempts,
        createdAt: d.createdAt.toISOString(), deliveredAt: d.deliveredAt?.toISOString() ?? null,
        payload: JSON.parse(d.body) as unknown,
        attemptLog: d.attemptLog.map((a) => ({ attempt: a.attempt, at: a.at.toISOString(), statusCode: a.statusCode, error: a.error, durationMs: a.durationMs })),
      })),
    }
  })
}
