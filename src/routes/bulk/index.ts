// Bulk invitations (issue 13). Who may: submitting needs the right to invite (the coarse check
// of the invitations policy, as POST /v1/invitations), and each row is then authorized on its own
// by the single route's questions; a job is read, followed and cancelled by its submitter only
// (another caller gets 404), under the same right.
import { Readable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { csvLine } from '../../csv.js'
import { rowsOfCsv, rowsOfJson } from '../../operations/bulk-file.js'
import { cancelBulkJob, dryRunBulk, jobOf, resultRows, sha256, submitBulkJob, viewOf, type ResultRow } from '../../operations/bulk-jobs.js'
import {
  bulkJobEvents, bulkJobResults, cancelBulkJob as cancelSchema, deleteBulkJob, getBulkJob, submitBulkInvitations,
  type BulkJsonBody, type JobParams, type ResultsQuery,
} from './schemas.js'

const authorization = { action: 'invite', subject: 'Invitation' } as const

/** Shortest time between two progress views of one stream. */
const PROGRESS_GAP_MS = 250

/** The JSON body as received, for its hash (the parsed object would hash differently). */
const rawBodies = new WeakMap<FastifyRequest, string>()

/** The admin center's columns first, then what became of the row. */
const CSV_HEADER = [
  'Email address to invite [inviteeEmail]', 'Redirection url [inviteRedirectURL]', 'Send invitation message (true or false) [sendEmail]',
  'Row [row]', 'Status [status]', 'Invited user id [invitedUserId]', 'Invitation redeem url [inviteRedeemUrl]', 'Outcome [outcome]',
  'Error code [errorCode]', 'Error column [errorField]', 'Error message [errorMessage]',
]
// The file's own cells come back as the submitter wrote them, a rejected address included: a
// cell a spreadsheet would run as a formula stays text (src/csv.ts).
const resultLine = (r: ResultRow) => csvLine([
  r.email, r.redirectUrl, r.sendEmail === null ? '' : String(r.sendEmail).toUpperCase(), r.row, r.status,
  r.guestId, r.redeemUrl, r.outcome, r.errorCode, r.errorField, r.errorMessage,
])

async function* resultChunks(rows: AsyncGenerator<ResultRow>, format: 'csv' | 'ndjson') {
  if (format === 'csv') yield csvLine(CSV_HEADER)
  for await (const row of rows) yield format === 'csv' ? resultLine(row) : `${JSON.stringify(row)}\n`
}

export default async function bulkRoutes(app: FastifyInstance) {
  const { bodyLimitBytes, maxRows } = app.config.bulk
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => { done(null, body) })
  const json = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    rawBodies.set(request, body as string)
    void json(request, body as string, done)
  })

  app.post('/invitations', { schema: submitBulkInvitations, bodyLimit: bodyLimitBytes, config: { authorization } }, async (request, reply) => {
    const csv = typeof request.body === 'string'
    const raw = csv ? request.body as string : rawBodies.get(request) ?? JSON.stringify(request.body)
    const rows = csv ? rowsOfCsv(request.body as string, maxRows) : rowsOfJson(request.body as BulkJsonBody, maxRows)
    const file = { format: csv ? 'text/csv' : 'application/json', sha256: sha256(raw) }
    if (request.dryRun) {
      request.dryRun.summary = { fileSha256: file.sha256, rows: rows.length, format: file.format, dryRun: true }
      const results = await dryRunBulk(app, request.authenticatedPrincipal(), String(request.id), request.dryRun.operationId, rows)
      // The rows the policy would refuse make the dry run's audit row a denial, as each would be
      // in the real job; how many, and the first of them with their rule, are in its summary.
      const refusals = results.flatMap((row) => row.decisions.filter((d) => !d.allowed).map((d) => ({ row: row.row, decision: d })))
      request.dryRun.partRefusals = refusals.map((r) => r.decision)
      request.dryRun.summary = { ...request.dryRun.summary, deniedRows: refusals.length, firstDenied: refusals.slice(0, 100).map((r) => ({ row: r.row, rule: r.decision.rule })) }
      return reply.code(202).send({ dryRun: true, format: file.format, fileSha256: file.sha256, rowCount: rows.length, rows: results })
    }
    const job = await submitBulkJob(app, request, rows, file)
    return reply.code(202).header('location', job.links.self).send(job)
  })

  app.get('/jobs/:id', { schema: getBulkJob, config: { authorization } }, async (request) => {
    return viewOf(app, await jobOf(app, request, (request.params as JobParams).id))
  })

  app.get('/jobs/:id/events', { schema: bulkJobEvents, config: { authorization } }, async (request, reply) => {
    const job = await jobOf(app, request, (request.params as JobParams).id)
    let sent = 0
    const stream = new Readable({ read() {} })
    // Rows finish faster than a view is read: one read at a time, and one more if rows finished
    // meanwhile, at most every PROGRESS_GAP_MS (a view counts all the job's rows: one per row
    // finished would make a 10,000-row job's stream cost the square of its rows).
    let reading = false
    let again = false
    let closed = false
    const close = () => {
      if (closed) return
      closed = true
      stop()
      clearInterval(timer)
      stream.push(null)
    }
    const send = async () => {
      if (reading) { again = true; return }
      reading = true
      try {
        do {
          again = false
          const started = Date.now()
          const view = await viewOf(app, await app.prisma.bulkJob.findUniqueOrThrow({ where: { id: job.id } }))
          if (closed) return
          stream.push(`id: ${++sent}\nevent: progress\ndata: ${JSON.stringify(view)}\n\n`)
          if (view.state === 'completed' || view.state === 'cancelled') {
            stream.push(`event: end\ndata: ${JSON.stringify({ state: view.state })}\n\n`)
            close()
          }
          if (again && !closed) await delay(started + PROGRESS_GAP_MS - Date.now())
        } while (again && !closed)
      } catch (err) {
        request.log.warn({ err }, 'a bulk job progress event could not be read')
        close()
      } finally {
        reading = false
      }
    }
    const stop = app.bulk.onProgress(job.id, () => void send())
    // Rows run by other replicas are not told here: look every few seconds as well.
    const timer = setInterval(() => void send(), 5000)
    timer.unref()
    reply.raw.once('close', close)
    void send()
    return reply.type('text/event-stream').header('cache-control', 'no-cache').header('x-accel-buffering', 'no').send(stream)
  })

  app.get('/jobs/:id/results', { schema: bulkJobResults, config: { authorization } }, async (request, reply) => {
    const job = await jobOf(app, request, (request.params as JobParams).id)
    const { format } = request.query as ResultsQuery
    return reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', `attachment; filename="guestgate-bulk-${job.id}.${format}"`)
      .send(Readable.from(resultChunks(resultRows(app, job.id), format)))
  })

  const cancel = async (request: FastifyRequest) => {
    const { id } = request.params as JobParams
    // A dry run shows the job as it is: nothing is cancelled.
    if (request.dryRun) return viewOf(app, await jobOf(app, request, id))
    return cancelBulkJob(app, request, id)
  }
  app.post('/jobs/:id/cancel', { schema: cancelSchema, config: { authorization } }, cancel)
  app.delete('/jobs/:id', { schema: deleteBulkJob, config: { authorization } }, cancel)
}
