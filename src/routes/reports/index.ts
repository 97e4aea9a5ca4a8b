// Hygiene reports (Reports.Read: `reports: { read: true }`) and clean-up from them
// (`reports: { cleanup: true }`, behind the policy file's cleanup.maxRemovalsPerRun gate).
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ProblemError, databaseUnavailable, unprocessable } from '../../errors.js'
import { actorOf } from '../../operations/audited-graph.js'
import { deleteGuestAccount, resendGuestInvitation, revokeGuestAccess } from '../../operations/guest-actions.js'
import { buildReport, reportCsv, type Report, type ReportName } from '../../operations/reports.js'
import { recordDecision } from '../../plugins/dry-run.js'
import { DEFAULT_MAX_REMOVALS_PER_RUN } from '../../policies/policy-file.js'
import type { PolicyDecision } from '../../policies/types.js'
import { cleanup, guestsWithoutAccess, inactiveGuests, pendingInvitations } from './schemas.js'

const read = { action: 'read', subject: 'Report' } as const

/** CSV by ?format=csv, or by an Accept header that asks for text/csv and not JSON. */
function wantsCsv(request: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format) return format === 'csv'
  const accept = request.headers.accept ?? ''
  return /\btext\/csv\b/i.test(accept) && !/\bapplication\/(json|\*)|\*\/\*/i.test(accept)
}

function send(request: FastifyRequest, reply: FastifyReply, report: Report, format: 'json' | 'csv' | undefined) {
  if (!wantsCsv(request, format)) return report
  const stamp = report.generatedAt.replace(/[:.]/g, '-')
  return reply.type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="guestgate-${report.report}-${stamp}.csv"`)
    .send(reportCsv(report))
}

export default async function reportRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/pending-invitations', { schema: pendingInvitations, config: { authorization: read } }, async (request, reply) => {
    await request.authorize('read', { type: 'Report' })
    return send(request, reply, await buildReport(app, request, 'pending-invitations', request.query), request.query.format)
  })

  app.get('/guests-without-access', { schema: guestsWithoutAccess, config: { authorization: read } }, async (request, reply) => {
    await request.authorize('read', { type: 'Report' })
    return send(request, reply, await buildReport(app, request, 'guests-without-access', {}), request.query.format)
  })

  app.get('/inactive-guests', { schema: inactiveGuests, config: { authorization: read } }, async (request, reply) => {
    await request.authorize('read', { type: 'Report' })
    return send(request, reply, await buildReport(app, request, 'inactive-guests', request.query), request.query.format)
  })

  app.post('/:report/cleanup', { schema: cleanup, config: { authorization: { action: 'cleanup', subject: 'Report' } } }, async (request) => {
    const name: ReportName = request.params.report
    const { action, ids } = request.body
    const decision = await request.authorize('cleanup', { type: 'Report' })
    await request.authorize('read', { type: 'Report' })
    if (action === 'resend' && name !== 'pending-invitations') {
      throw unprocessable('validation_failed', 'resend applies to the pending-invitations report only.', { errors: [{ field: 'body/action', message: 'resend needs the pending-invitations report' }] })
    }
    const report = await buildReport(app, request, name, request.query)
    const inReport = new Map(report.items.map((row) => [row.id.toLowerCase(), row]))
    const missing = (ids ?? []).map((id, i) => [id, i] as const).filter(([id]) => !inReport.has(id.toLowerCase()))
    if (missing.length > 0) {
      throw unprocessable('validation_failed', `${missing.length} of the ids are not in the ${name} report (any more); nothing was done.`,
        { errors: missing.map(([id, i]) => ({ field: `body/ids/${i}`, message: `${id} is not in the report` })) })
    }
    const targets = ids ? ids.map((id) => inReport.get(id.toLowerCase())!) : report.items
    const operationId = randomUUID()
    const summary = { report: name, action, parameters: report.parameters, guests: targets.length }

    const max = app.policies.current().policy.cleanup?.maxRemovalsPerRun ?? DEFAULT_MAX_REMOVALS_PER_RUN
    const removals = action === 'resend' ? 0 : targets.length
    if (removals > max) {
      const refusal: PolicyDecision = {
        allowed: false, rule: 'cleanup.max-removals-per-run', policyVersion: decision.policyVersion,
        reason: `This run would ${action} ${removals} guests; the policy allows at most ${max} removals per run.`,
      }
      await recordRun(request, operationId, refusal, summary)
      throw new ProblemError(409, 'cleanup_limit_exceeded', 'Safety gate: too many removals',
        `${refusal.reason} Nothing was done: narrow the run with ids, or raise cleanup.maxRemovalsPerRun in the policy file.`,
        { rule: refusal.rule, policyVersion: refusal.policyVersion, operationId, maxRemovalsPerRun: max,
          guests: targets.map((row) => ({ id: row.id, email: row.email, displayName: row.displayName })) })
    }
    await recordRun(request, operationId, decision, summary)

    // One guest at a time, each through its single route's operation; a failure is reported and the rest still run.
    const results = []
    for (const row of targets) {
      try {
        if (action === 'resend') {
          const done = await resendGuestInvitation(app, request, row.id)
          results.push({ guestId: row.id, status: 'succeeded' as const, operationId: done.operationId })
        } else if (action === 'revoke') {
          const done = await revokeGuestAccess(app, request, row.id)
          results.push({ guestId: row.id, status: done.outcome === 'complete' ? 'succeeded' as const : 'partial' as const, operationId: done.operationId })
        } else {
          const done = await deleteGuestAccount(app, request, row.id)
          results.push({ guestId: row.id, status: 'succeeded' as const, operationId: done.operationId })
        }
      } catch (error) {
        if (!(error instanceof ProblemError)) throw error
        // The audit log or the database is gone: stop, as the single route would.
        if (error.code === 'database_unavailable' || error.code === 'audit_unavailable') throw error
        results.push({
          guestId: row.id, status: 'failed' as const,
          ...(error.extras.operationId ? { operationId: error.extras.operationId } : {}),
          error: { status: error.status, code: error.code, detail: error.detail },
        })
      }
    }
    return { report: name, action, operationId, outcome: results.every((r) => r.status === 'succeeded') ? 'complete' as const : 'partial' as const, results }
  })

  /** The run itself is recorded (allowed, or refused by the gate) before anything is done; in a
   *  dry run the gate's refusal goes into the dry run's own audit row. */
  async function recordRun(request: FastifyRequest, operationId: string, decision: PolicyDecision, summary: Record<string, unknown>) {
    if (request.dryRun) {
      if (!decision.allowed) recordDecision(request, 'cleanup', { type: 'Report' }, decision)
      return
    }
    await app.audit.append({
      operationId, requestId: String(request.id), correlationId: randomUUID(),
      actor: actorOf(request.authenticatedPrincipal()), action: 'report.cleanup', target: { type: 'report', id: String(summary.report) },
      decision: decision.allowed ? 'allowed' : 'denied', status: decision.allowed ? 'recorded' : 'denied',
      ruleId: decision.rule, reason: decision.reason, policyVersion: decision.policyVersion, requestSummary: summary,
    }).catch((error: unknown) => { throw databaseUnavailable(error) })
  }
}
