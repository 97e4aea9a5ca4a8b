// Bulk invitations as jobs. A job is a Prisma row (who, the file's sha256, its rows); each valid
// row is its own pg-boss job, run by a bounded number of workers per process, acting for the
// submitter through `inviteGuest`, the single route's operation: the same policy questions, the
// same limits, the same audit rows, the same Graph write budget. Each row carries its own
// idempotency key (job id + row number), recorded in every audit row it writes: a row resumed
// after a crash reads the audit log (and Graph, when the outcome is not recorded) before it
// sends anything, so its invitation is never sent twice.
import { createHash, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Principal } from '../auth/principal.js'
import { databaseUnavailable, notFound, ProblemError } from '../errors.js'
import type { Prisma } from '../generated/prisma/client.js'
import type { DryRunRecord } from '../plugins/dry-run.js'
import { RESERVED_KEY_PREFIX } from '../plugins/idempotency.js'
import { actorOf } from './request-identity.js'
import type { BulkRow, RowError } from './bulk-file.js'
import type { Caller } from './caller.js'
import { inviteGuest, type InvitationResult, type InviteGuestInput } from './invite-guest.js'

export const BULK_ROW_QUEUE = 'bulk-invitation-row'

export type JobState = 'queued' | 'running' | 'completed' | 'cancelled'
export type RowState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled'
export const ROW_STATES: readonly RowState[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled']

export interface BulkRowJob { jobId: string; number: number }

/** Each row's idempotency key: in every audit row its writes leave. Callers may not send keys of this form. */
export const rowKey = (jobId: string, number: number) => `${RESERVED_KEY_PREFIX}${jobId}:${number}`

export const sha256 = (body: string | Buffer) => createHash('sha256').update(body).digest('hex')

export interface JobView {
  id: string
  state: JobState
  dryRun: false
  format: string
  fileSha256: string
  rowCount: number
  submittedBy: { oid: string; name: string }
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  cancelledAt: string | null
  counts: Record<RowState, number>
  /** Rows finished per minute since the first row started. */
  ratePerMinute: number | null
  /** When the rows left should be done, at that rate (or at the invitation pace before any). */
  eta: string | null
  links: { self: string; events: string; results: string; cancel: string }
}

type JobRecord = Prisma.BulkJobGetPayload<object>

const problemOf = (error: unknown): RowError | null => {
  if (!(error instanceof ProblemError)) return null
  const field = error.extras.errors?.[0]
  return { code: error.code, field: field?.field ?? '', message: error.detail }
}

/** Audit rows of the job itself (submitted, cancelled): who, which file, how many rows. */
async function auditJob(app: FastifyInstance, caller: Caller, action: 'bulkJob.submit' | 'bulkJob.cancel', job: Pick<JobRecord, 'id' | 'fileSha256' | 'rowCount' | 'format'>, extra: Record<string, unknown>) {
  const principal = caller.authenticatedPrincipal()
  const decision = app.policies.current().decideAny(principal, 'invite', 'Invitation')
  await app.audit.append({
    operationId: randomUUID(), requestId: String(caller.id), correlationId: randomUUID(),
    actor: actorOf(principal), action, target: { type: 'bulkJob', id: job.id, displayName: `${job.rowCount} rows` },
    decision: 'allowed', status: 'recorded', ruleId: decision.rule, reason: decision.reason, policyVersion: decision.policyVersion,
    requestSummary: { fileSha256: job.fileSha256, rows: job.rowCount, format: job.format, ...extra },
  })
}

/** Records the job and its rows, audits it, then queues its valid rows. */
export async function submitBulkJob(app: FastifyInstance, caller: Caller, rows: BulkRow[], file: { format: string; sha256: string }): Promise<JobView> {
  const principal = caller.authenticatedPrincipal()
  const id = randomUUID()
  const valid = rows.filter((r) => r.input !== null)
  const job = await app.prisma.$transaction(async (tx) => {
    const created = await tx.bulkJob.create({
      data: {
        id, principal: { ...principal }, tenantId: principal.tenantId, submitterOid: principal.oid, requestId: String(caller.id),
        format: file.format, fileSha256: file.sha256, rowCount: rows.length, state: valid.length === 0 ? 'completed' : 'queued',
        ...(valid.length === 0 ? { finishedAt: new Date() } : {}),
      },
    })
    await tx.bulkJobRow.createMany({
      data: rows.map((row) => ({
        jobId: id, number: row.number, email: row.email,
        input: row.input === null ? undefined : (row.input as unknown as Prisma.InputJsonObject),
        state: row.input === null ? 'failed' : 'pending',
        errorCode: row.error?.code ?? null, errorField: row.error?.field ?? null, errorMessage: row.error?.message ?? null,
      })),
    })
    return created
  // Prisma's default 5 s is short for 10,000 rows on a busy database; the statement timeout still holds.
  }, { timeout: 3 * app.config.databaseQueryTimeoutMs, maxWait: app.config.databaseConnectTimeoutMs }).catch((error: unknown) => { throw databaseUnavailable(error) })
  try {
    await auditJob(app, caller, 'bulkJob.submit', job, { valid: valid.length, invalid: rows.length - valid.length, dryRun: false })
  } catch (error) {
    // Fail closed: a job the audit log does not show never runs.
    await app.prisma.bulkJob.delete({ where: { id } }).catch(() => {})
    throw error
  }
  // The answer describes the job as submitted, read before any row is queued: a worker (here or
  // on another replica) could otherwise have started one already, and the counts would depend on
  // how fast it was. The job's own link gives the live state.
  const submitted = await viewOf(app, job)
  if (valid.length > 0) {
    await app.queue.insert(valid.map((row) => ({ name: BULK_ROW_QUEUE, data: { jobId: id, number: row.number } satisfies BulkRowJob })))
    app.bulk.wake()
  }
  return submitted
}

export interface DryRunRow {
  row: number
  email: string
  /** would-invite: every check passed; failed: what the real row would get. */
  status: 'would-invite' | 'failed'
  errorCode: string | null
  errorField: string | null
  errorMessage: string | null
  decisions: DryRunRecord['decisions']
  graphCalls: DryRunRecord['calls']
}

async function dryRunRow(app: FastifyInstance, principal: Principal, requestId: string, operationId: string, row: BulkRow): Promise<DryRunRow> {
  const base = { row: row.number, email: row.email }
  if (row.input === null) {
    return { ...base, status: 'failed', errorCode: row.error!.code, errorField: row.error!.field, errorMessage: row.error!.message, decisions: [], graphCalls: [] }
  }
  const record: DryRunRecord = { operationId, decisions: [], calls: [] }
  const caller = app.callerFor(principal, { requestId, dryRun: record })
  try {
    await inviteGuest(app, caller, row.input, { fieldPrefix: `row ${row.number}` })
    return { ...base, status: 'would-invite', errorCode: null, errorField: null, errorMessage: null, decisions: record.decisions, graphCalls: record.calls }
  } catch (error) {
    const problem = problemOf(error)
    if (!problem) throw error
    return { ...base, status: 'failed', errorCode: problem.code, errorField: problem.field || null, errorMessage: problem.message, decisions: record.decisions, graphCalls: record.calls }
  }
}

/** What each row would get: the same operation with a dry-run caller (decisions and planned
 *  writes recorded, nothing written), as many rows at once as a job runs (reads only). */
export async function dryRunBulk(app: FastifyInstance, principal: Principal, requestId: string, operationId: string, rows: BulkRow[]): Promise<DryRunRow[]> {
  const results: DryRunRow[] = new Array<DryRunRow>(rows.length)
  let next = 0
  const worker = async () => {
    while (next < rows.length) {
      const i = next++
      results[i] = await dryRunRow(app, principal, requestId, operationId, rows[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(app.config.bulk.concurrency, rows.length) }, worker))
  return results
}

/** Answers the row's job can give now; anything else (database, budget, Graph busy) is retried. */
const RETRIED_STATUSES = new Set([502, 503, 504])

interface RowOutcome {
  state: 'succeeded' | 'failed'
  guestId?: string | null
  redeemUrl?: string | null
  outcome?: 'complete' | 'partial' | null
  operationId?: string | null
  error?: RowError | null
}

const invited = (result: InvitationResult): RowOutcome => {
  const failed = result.parts.find((p) => p.status === 'failed')
  return {
    state: 'succeeded', guestId: result.id, redeemUrl: result.inviteRedeemUrl, outcome: result.outcome, operationId: result.operationId,
    error: failed ? { code: 'partial', field: '', message: `invited; not done: ${result.parts.filter((p) => p.status === 'failed').map((p) => `${p.kind} ${p.target}`).join(', ')}` } : null,
  }
}

/**
 * A row resumed after its worker died: did its invitation reach Graph? The audit log answers
 * (intent rows carry the row's key); an intent without outcome is settled by reading Graph.
 * null: nothing was applied, the row runs normally.
 */
async function resumed(app: FastifyInstance, key: string, input: InviteGuestInput, job: { requestId: string; principal: Principal }): Promise<RowOutcome | null> {
  // Only resumed rows ask this (at most the workers of a process that died), so a scan of the
  // invitation rows by action is acceptable without an index on the key.
  // The row's own writes only: they carry the job's request id, which guestgate makes and no
  // caller can choose, and its submitter (a caller may not send a bulk: key either, but a row
  // must not depend on that alone).
  const rows = await app.prisma.auditEvent.findMany({
    where: {
      action: 'invitation.invite', requestId: job.requestId, actorOid: job.principal.oid, actorTenantId: job.principal.tenantId,
      requestSummary: { path: ['idempotencyKey'], equals: key },
    },
    orderBy: { id: 'asc' },
  })
  for (const intent of rows.filter((r) => r.status === 'intent').reverse()) {
    const outcome = rows.find((r) => r.correlationId === intent.correlationId && r.status !== 'intent')
    const effect = (outcome?.requestSummary as { settlement?: { effect?: string } } | undefined)?.settlement?.effect
    const parts = (input.groups?.length ?? 0) + (input.appRoles?.length ?? 0) > 0
    const made = (guestId: string | null): RowOutcome => ({
      state: 'succeeded', guestId, redeemUrl: null, operationId: intent.operationId, outcome: parts ? 'partial' : 'complete',
      error: parts ? { code: 'parts_not_resumed', field: '', message: 'The invitation was made before a restart; its groups and app roles were not applied: add them with the single routes.' } : null,
    })
    if (outcome?.status === 'succeeded' || (outcome?.status === 'reconciled' && effect === 'present')) return made(outcome.targetId)
    if (outcome?.status === 'failed' || (outcome?.status === 'reconciled' && effect === 'absent')) continue
    const params = (intent.requestSummary as { params?: unknown }).params
    const read = await app.graphOps.verify('invitation.invite', params)
    if (read.effect === 'present') return made((read.value as { invitedUserId: string }).invitedUserId)
    if (read.effect === 'unknown') throw new Error(`row ${key}: whether its invitation was made cannot be read yet (${read.reason})`)
  }
  return null
}

interface ClaimedRow {
  input: unknown
  attempts: number
  job_state: string
  principal: unknown
  request_id: string
}

/** Runs one row (a pg-boss job). Throws to have the queue retry it later (a transient failure). */
export async function runBulkRow(app: FastifyInstance, { jobId, number }: BulkRowJob, attempt: { retryCount: number; retryLimit: number }): Promise<void> {
  const { prisma } = app
  const now = new Date()
  // Claim the row and read it with its job in one statement: a row costs about 20 round trips,
  // and Prisma's updateMany adds a transaction around its statement.
  const [row] = await prisma.$queryRaw<ClaimedRow[]>`
    UPDATE bulk_job_rows r SET state = 'running', attempts = r.attempts + 1, updated_at = ${now}
    FROM bulk_jobs j
    WHERE r.job_id = ${jobId}::uuid AND r.number = ${number} AND r.state IN ('pending', 'running')
      AND j.id = r.job_id AND j.state IN ('queued', 'running')
    RETURNING r.input, r.attempts, j.state AS job_state, j.principal, j.request_id`
  if (!row) return
  if (row.job_state === 'queued') await prisma.bulkJob.updateMany({ where: { id: jobId, state: 'queued' }, data: { state: 'running', startedAt: now } })
  const principal = row.principal as Principal
  const key = rowKey(jobId, number)
  const input = row.input as InviteGuestInput
  let result: RowOutcome | null = null
  try {
    if (row.attempts > 1) result = await resumed(app, key, input, { requestId: row.request_id, principal })
    if (!result) {
      const caller = app.callerFor(principal, { requestId: row.request_id, idempotencyKey: key })
      try {
        // A row waits for the budget as long as its queue job may run (a request would not).
        result = invited(await inviteGuest(app, caller, input, { fieldPrefix: `row ${number}`, budgetWaitMs: app.config.bulk.rowTimeoutSeconds * 500 }))
      } catch (error) {
        // The row's earlier attempt may still have been running when this one started (it ran
        // past the row timeout on a busy machine): it made the invitation while this attempt
        // waited for the address's lock, so the user exists because of this very row.
        if (row.attempts > 1 && error instanceof ProblemError && error.code === 'user_exists') result = await resumed(app, key, input, { requestId: row.request_id, principal })
        if (!result) throw error
      }
    }
  } catch (error) {
    const problem = problemOf(error)
    const transient = !problem || RETRIED_STATUSES.has((error as ProblemError).status)
    if (transient && attempt.retryCount < attempt.retryLimit) throw error
    result = { state: 'failed', operationId: (error instanceof ProblemError ? error.extras.operationId : null) ?? null, error: problem ?? { code: 'internal_error', field: '', message: 'The row failed; see the service log.' } }
  }
  // Only the attempt that claimed last writes (a timed-out attempt still running must not).
  await prisma.$executeRaw`
    UPDATE bulk_job_rows SET state = ${result.state}, guest_id = ${result.guestId ?? null}, redeem_url = ${result.redeemUrl ?? null},
      outcome = ${result.outcome ?? null}, operation_id = ${result.operationId ?? null}::uuid, error_code = ${result.error?.code ?? null},
      error_field = ${result.error?.field || null}, error_message = ${result.error?.message ?? null}, updated_at = ${new Date()}
    WHERE job_id = ${jobId}::uuid AND number = ${number} AND attempts = ${row.attempts} AND state = 'running'`
  await finishIfDone(app, jobId)
  app.bulk.progress(jobId)
}

/** Completes the job when no row is open. A separate statement after the row's own (committed)
 *  update: of two rows finishing at once, the later check sees both. The (job, state) index
 *  answers "any open row?" at its first entry, where a count would read every open row. */
async function finishIfDone(app: FastifyInstance, jobId: string) {
  await app.prisma.$executeRaw`
    UPDATE bulk_jobs SET state = 'completed', finished_at = ${new Date()}
    WHERE id = ${jobId}::uuid AND state IN ('queued', 'running')
      AND NOT EXISTS (SELECT 1 FROM bulk_job_rows WHERE job_id = ${jobId}::uuid AND state IN ('pending', 'running'))`
}

/** The caller's own job, or 404 (another's job is not shown to exist). */
export async function jobOf(app: FastifyInstance, caller: Caller, id: string): Promise<JobRecord> {
  const principal = caller.authenticatedPrincipal()
  const job = await app.prisma.bulkJob.findUnique({ where: { id } }).catch((error: unknown) => { throw databaseUnavailable(error) })
  if (!job || job.tenantId.toLowerCase() !== principal.tenantId.toLowerCase() || job.submitterOid !== principal.oid) {
    throw notFound(`No bulk job ${id} of yours.`)
  }
  return job
}

/** Rows not started are cancelled; rows under way finish (their Graph write is already sent). */
export async function cancelBulkJob(app: FastifyInstance, caller: Caller, id: string): Promise<JobView> {
  const job = await jobOf(app, caller, id)
  if (job.state === 'queued' || job.state === 'running') {
    const now = new Date()
    await app.prisma.$transaction([
      app.prisma.bulkJob.updateMany({ where: { id, state: { in: ['queued', 'running'] } }, data: { state: 'cancelled', cancelledAt: now, finishedAt: now } }),
      app.prisma.bulkJobRow.updateMany({ where: { jobId: id, state: 'pending' }, data: { state: 'cancelled', updatedAt: now } }),
    ])
    await auditJob(app, caller, 'bulkJob.cancel', job, {})
    app.bulk.progress(id)
  }
  return viewOf(app, await app.prisma.bulkJob.findUniqueOrThrow({ where: { id } }))
}

export async function viewOf(app: FastifyInstance, job: JobRecord): Promise<JobView> {
  // One scan for the counts by state and the rows that ran (not those refused at submission).
  const groups = await app.prisma.$queryRaw<Array<{ state: string; rows: number; ran: number }>>`
    SELECT state, count(*)::int AS rows, (count(*) FILTER (WHERE attempts > 0 AND state IN ('succeeded', 'failed')))::int AS ran
    FROM bulk_job_rows WHERE job_id = ${job.id}::uuid GROUP BY state`
  const counts = Object.fromEntries(ROW_STATES.map((s) => [s, 0])) as Record<RowState, number>
  let ran = 0
  for (const g of groups) {
    counts[g.state as RowState] = g.rows
    ran += g.ran
  }
  // Rows that ran over the time since the first started.
  const end = job.finishedAt ?? new Date()
  const minutes = job.startedAt ? Math.max(end.getTime() - job.startedAt.getTime(), 1) / 60_000 : 0
  const ratePerMinute = job.startedAt && ran > 0 ? Math.round((ran / minutes) * 10) / 10 : null
  const left = counts.pending + counts.running
  const pace = ratePerMinute ?? app.config.budget.invitationsPerMinute
  const eta = left > 0 && (job.state === 'queued' || job.state === 'running') ? new Date(Date.now() + (left / pace) * 60_000).toISOString() : null
  const principal = job.principal as unknown as Principal
  const self = `/v1/bulk/jobs/${job.id}`
  return {
    id: job.id, state: job.state as JobState, dryRun: false, format: job.format, fileSha256: job.fileSha256, rowCount: job.rowCount,
    submittedBy: { oid: principal.oid, name: principal.name },
    createdAt: job.createdAt.toISOString(), startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null, cancelledAt: job.cancelledAt?.toISOString() ?? null,
    counts, ratePerMinute, eta,
    links: { self, events: `${self}/events`, results: `${self}/results`, cancel: `${self}/cancel` },
  }
}

export interface ResultRow {
  row: number
  email: string
  status: RowState
  guestId: string | null
  redeemUrl: string | null
  outcome: string | null
  errorCode: string | null
  errorField: string | null
  errorMessage: string | null
  redirectUrl: string | null
  sendEmail: boolean | null
}

/** The job's rows in order, a page at a time (a 10,000-row job is never held in memory at once). */
export async function* resultRows(app: FastifyInstance, jobId: string, pageSize = 1000): AsyncGenerator<ResultRow> {
  let after = 0
  for (;;) {
    const page = await app.prisma.bulkJobRow.findMany({ where: { jobId, number: { gt: after } }, orderBy: { number: 'asc' }, take: pageSize })
    for (const r of page) {
      const input = r.input as unknown as InviteGuestInput | null
      yield {
        row: r.number, email: r.email, status: r.state as RowState, guestId: r.guestId, redeemUrl: r.redeemUrl, outcome: r.outcome,
        errorCode: r.errorCode, errorField: r.errorField, errorMessage: r.errorMessage,
        redirectUrl: input?.redirectUrl ?? null, sendEmail: input ? input.sendEmail ?? true : null,
      }
    }
    if (page.length < pageSize) return
    after = page.at(-1)!.number
  }
}
