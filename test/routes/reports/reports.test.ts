// Hygiene reports through HTTP against the Graph simulator: each report as JSON and CSV, the
// missing-licence problem, and clean-up behind the policy's safety gate (over it: 409 with the
// list and nothing done; within it: done through the single routes' operations, with audit rows).
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'

interface ReportBody { report: string; count: number; columns: string[]; items: { id: string; email: string | null; [k: string]: unknown }[] }
interface Problem { code: string; detail: string; guests?: { id: string }[]; maxRemovalsPerRun?: number }

const policyFile = await sandboxPolicyWith(t, (policy) => { policy.cleanup = { maxRemovalsPerRun: 1 } })
const { as, token, simulator, config, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: policyFile })
const simulatorUrl = config.graphBaseUrl!.replace(/\/v1\.0$/, '')
const manager = await token(['Guests.Manage'])
const auditor = await token(['Audit.Read'])
const DAY = 86_400_000

// Three invited guests; two of them invited 40 days ago.
const invited: string[] = []
for (const name of ['old-one', 'old-two', 'fresh']) {
  const res = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: `${name}@partner.example`, sendEmail: false } })
  if (res.statusCode !== 201) throw new Error(`invitation failed: ${res.body}`)
  invited.push(res.json<{ id: string }>().id)
}
const [oldOne, oldTwo, fresh] = invited as [string, string, string]
const fortyDaysAgo = new Date(Date.now() - 40 * DAY).toISOString()
for (const id of [oldOne, oldTwo]) {
  const user = simulator.state.users.get(id)!
  user.createdDateTime = fortyDaysAgo
  user.externalUserStateChangeDateTime = fortyDaysAgo
}

const csvLines = (body: string) => body.trimEnd().split('\r\n')

t.test('pending invitations older than N days, as JSON and as CSV (by ?format and by Accept)', async (t) => {
  const res = await as(auditor, { method: 'GET', url: '/v1/reports/pending-invitations?olderThanDays=30' })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json<ReportBody>()
  t.same(body.items.map((i) => i.id).sort(), [oldOne, oldTwo].sort())
  t.equal(body.items[0]!.pendingDays, 40)
  t.equal(body.items[0]!.invitedAt, fortyDaysAgo)
  t.notOk(body.items.some((i) => i.id === fresh), 'a fresh invitation is not listed')

  const csv = await as(auditor, { method: 'GET', url: '/v1/reports/pending-invitations?olderThanDays=30&format=csv' })
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  t.match(csv.headers['content-disposition'], /attachment; filename="guestgate-pending-invitations-/)
  const lines = csvLines(csv.body)
  t.equal(lines[0], 'id,email,displayName,invitedAt,pendingDays')
  t.equal(lines.length, 3)
  t.ok(lines.some((l) => l.startsWith(`${oldOne},old-one@partner.example,`) && l.endsWith(',40')))

  const byAccept = await as(auditor, { method: 'GET', url: '/v1/reports/pending-invitations?olderThanDays=30', headers: { accept: 'text/csv' } })
  t.equal(byAccept.body, csv.body)
})

t.test('guests without access guestgate manages, as JSON and CSV', async (t) => {
  const groups = await token(['Groups.ManageMembers'])
  t.equal((await as(groups, { method: 'PUT', url: `/v1/groups/${SEED.groups.developers}/members/${fresh}` })).statusCode < 300, true)
  const res = await as(manager, { method: 'GET', url: '/v1/reports/guests-without-access' })
  t.equal(res.statusCode, 200, res.body)
  const ids = res.json<ReportBody>().items.map((i) => i.id)
  t.same(ids.sort(), [oldOne, oldTwo].sort(), 'the guest in Marketing and the one just added to Developers hold access')
  const csv = await as(manager, { method: 'GET', url: '/v1/reports/guests-without-access?format=csv' })
  const lines = csvLines(csv.body)
  t.equal(lines[0], 'id,email,displayName,externalUserState,createdDateTime')
  t.equal(lines.length, 3)
})

t.test('inactive guests from signInActivity, JSON and CSV; without Entra ID P1 a clear 409', async (t) => {
  const res = await as(manager, { method: 'GET', url: '/v1/reports/inactive-guests?days=30' })
  t.equal(res.statusCode, 200, res.body)
  const items = res.json<ReportBody>().items
  t.same(items.map((i) => i.id).sort(), [SEED.users.existingGuest.id, oldOne, oldTwo].sort(), 'last sign-in in 2024, and never signed in for 40 days')
  const existing = items.find((i) => i.id === SEED.users.existingGuest.id)!
  t.equal(existing.lastActivityAt, '2024-01-16T10:30:00Z')
  t.equal(existing.neverSignedIn, false)
  t.equal(items.find((i) => i.id === oldOne)!.neverSignedIn, true)
  const csv = await as(manager, { method: 'GET', url: '/v1/reports/inactive-guests?days=30', headers: { accept: 'text/csv' } })
  t.equal(csvLines(csv.body)[0], 'id,email,displayName,lastActivityAt,neverSignedIn,inactiveDays,lastSignInDateTime,lastNonInteractiveSignInDateTime,lastSuccessfulSignInDateTime')
  t.equal(csvLines(csv.body).length, 4)

  await fetch(`${simulatorUrl}/_simulator/licence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"premium":false}' })
  t.teardown(() => fetch(`${simulatorUrl}/_simulator/licence`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"premium":true}' }))
  const refused = await as(manager, { method: 'GET', url: '/v1/reports/inactive-guests?days=30' })
  t.equal(refused.statusCode, 409)
  const problem = refused.json<Problem>()
  t.equal(problem.code, 'licence_required')
  t.match(problem.detail, /Microsoft Entra ID P1/)
  t.match(refused.headers['content-type'], /application\/problem\+json/)
})

t.test('clean-up over the safety gate: 409 with the list, nothing done', async (t) => {
  const res = await as(manager, { method: 'POST', url: '/v1/reports/pending-invitations/cleanup?olderThanDays=30', payload: { action: 'delete' } })
  t.equal(res.statusCode, 409, res.body)
  const problem = res.json<Problem>()
  t.equal(problem.code, 'cleanup_limit_exceeded')
  t.equal(problem.maxRemovalsPerRun, 1)
  t.same(problem.guests?.map((g) => g.id).sort(), [oldOne, oldTwo].sort())
  t.ok(simulator.state.users.has(oldOne) && simulator.state.users.has(oldTwo), 'both guests are still there')
  t.same(await auditRows(databaseUrl, `action = 'guest.delete'`), [], 'no delete was even attempted')
  const [gate] = await auditRows(databaseUrl, `action = 'report.cleanup'`)
  t.equal(gate?.decision, 'denied')
  t.equal(gate?.rule_id, 'cleanup.max-removals-per-run')
})

t.test('a dry run over the safety gate is audited as the refusal it would be', async (t) => {
  // Before: the dry run answered the 409 to come, but its audit row said allowed.
  const res = await as(manager, { method: 'POST', url: '/v1/reports/pending-invitations/cleanup?olderThanDays=30&dryRun=true', payload: { action: 'delete' } })
  t.equal(res.statusCode, 200, res.body)
  const plan = res.json<{ operationId: string; wouldAnswer: { status: number } }>()
  t.equal(plan.wouldAnswer.status, 409)
  const [row] = await auditRows(databaseUrl, `operation_id = $1`, [plan.operationId])
  t.equal(row?.status, 'dry-run')
  t.equal(row?.decision, 'denied')
  t.equal(row?.rule_id, 'cleanup.max-removals-per-run')
})

t.test('clean-up within the gate goes through the single routes\' operations, audited', async (t) => {
  const notInReport = await as(manager, { method: 'POST', url: '/v1/reports/pending-invitations/cleanup?olderThanDays=30', payload: { action: 'delete', ids: [fresh] } })
  t.equal(notInReport.statusCode, 422, 'an id that is not in the report is refused')

  const refused = await as(auditor, { method: 'POST', url: '/v1/reports/pending-invitations/cleanup', payload: { action: 'delete', ids: [oldOne] } })
  t.equal(refused.statusCode, 403, 'reading reports is not cleaning up')

  const resend = await as(manager, { method: 'POST', url: '/v1/reports/pending-invitations/cleanup?olderThanDays=30', payload: { action: 'resend' } })
  t.equal(resend.statusCode, 200, resend.body)
  t.equal(resend.json<{ outcome: string }>().outcome, 'complete')
  t.equal((await auditRows(databaseUrl, `action = 'guest.resend' AND status = 'succeeded'`)).length, 2)

  const res = await as(manager, { method: 'POST', url: '/v1/reports/pending-invitations/cleanup?olderThanDays=30', payload: { action: 'delete', ids: [oldOne] } })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json<{ outcome: string; results: { guestId: string; status: string; operationId: string }[] }>()
  t.equal(body.outcome, 'complete')
  t.same(body.results.map((r) => [r.guestId, r.status]), [[oldOne, 'succeeded']])
  t.notOk(simulator.state.users.has(oldOne), 'deleted in Graph')
  t.ok(simulator.state.users.has(oldTwo), 'the other one was not asked for')
  const rows = await auditRows(databaseUrl, `action = 'guest.delete' AND target_id = $1`, [oldOne])
  t.same(rows.map((r) => r.status), ['intent', 'succeeded'], 'the same intent and outcome rows as DELETE /v1/guests/{id}')
  t.equal(rows[0]?.operation_id, body.results[0]!.operationId)
})
