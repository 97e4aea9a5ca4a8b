import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { exportChunks } from '../../audit/audit-export.js'
import { AuditQueryError } from '../../audit/audit-store.js'
import type { AuditFilter } from '../../audit/types.js'
import { badRequest, databaseUnavailable, notFound } from '../../errors.js'
import { actorOf } from '../../operations/audited-graph.js'
import { exportAuditEvents, getAuditEvent, getReconciliation, getAuditOperation, listAuditEvents, verifyAuditLog, type ExportQuery, type ListQuery } from './schemas.js'

const read = { action: 'read', subject: 'AuditLog' } as const

function filterOf(query: Partial<ListQuery>): AuditFilter {
  return {
    actor: query.actor,
    action: query.action,
    targetId: query.targetId,
    decision: query.decision,
    status: query.status,
    operationId: query.operationId,
    from: query.from ? new Date(query.from) : undefined,
    to: query.to ? new Date(query.to) : undefined,
    unsettled: query.unsettled,
  }
}

/** The store's own refusals (a cursor it did not issue) are the caller's 400. */
async function asQuery<T>(run: () => Promise<T>, field: string): Promise<T> {
  try {
    return await run()
  } catch (error) {
    if (error instanceof AuditQueryError) throw badRequest(`${field}: ${error.message}`, [{ field, message: error.message }])
    throw error
  }
}

export default async function auditRoutes(app: FastifyInstance) {
  app.get('/events', { schema: listAuditEvents, config: { authorization: read } }, async (request) => {
    const query = request.query as ListQuery
    await request.authorize('read', { type: 'AuditLog' })
    const page = await asQuery(() => app.audit.query(filterOf(query), { limit: query.limit, cursor: query.cursor }), 'query/cursor')
    return { items: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) }
  })

  app.get('/events/:id', { schema: getAuditEvent, config: { authorization: read } }, async (request) => {
    const { id } = request.params as { id: string }
    await request.authorize('read', { type: 'AuditLog' })
    const event = await app.audit.get(id)
    if (!event) throw notFound(`No audit event ${id}`)
    return event
  })

  app.get('/operations/:operationId', { schema: getAuditOperation, config: { authorization: read } }, async (request) => {
    const { operationId } = request.params as { operationId: string }
    await request.authorize('read', { type: 'AuditLog' })
    const events = await app.audit.byOperation(operationId)
    if (events.length === 0) throw notFound(`No audit rows for operation ${operationId}`)
    return { operationId, events }
  })

  app.get('/export', { schema: exportAuditEvents, config: { authorization: { action: 'export', subject: 'AuditLog' } } }, async (request, reply) => {
    const query = request.query as ExportQuery
    const decision = await request.authorize('export', { type: 'AuditLog' })
    const filter = filterOf(query)
    // Who exported what is part of the record, written before the first row leaves.
    await app.audit.append({
      operationId: randomUUID(), requestId: String(request.id), correlationId: randomUUID(),
      actor: actorOf(request.authenticatedPrincipal()), action: 'auditLog.export', target: { type: 'auditLog' },
      decision: 'allowed', status: 'recorded', ruleId: decision.rule, reason: decision.reason, policyVersion: decision.policyVersion,
      requestSummary: { format: query.format, filter: { ...query, format: undefined } },
    }).catch((error: unknown) => { throw databaseUnavailable(error) })

    const csv = query.format === 'csv'
    const stamp = new Date().toISOString().replace(/[:.]/g, '-')
    return reply
      .type(csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', `attachment; filename="guestgate-audit-${stamp}.${csv ? 'csv' : 'ndjson'}"`)
      .send(Readable.from(exportChunks(app.audit.stream(filter), query.format)))
  })

  app.get('/reconciliation', { schema: getReconciliation, config: { authorization: read } }, async (request) => {
    await request.authorize('read', { type: 'AuditLog' })
    const [lastRun, unsettled] = await Promise.all([app.reconciler.lastRun(), app.reconciler.unsettledCount()])
    return { lastRun, unsettled }
  })

  app.get('/verify', { schema: verifyAuditLog, config: { authorization: read } }, async (request) => {
    const query = request.query as { fromId?: string; toId?: string }
    await request.authorize('read', { type: 'AuditLog' })
    return asQuery(() => app.audit.verify({ fromId: query.fromId, toId: query.toId }), 'query/fromId')
  })
}
