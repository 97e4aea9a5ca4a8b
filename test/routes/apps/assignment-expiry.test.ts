// An expiry on an app role assignment is an unassignment the scheduler carries out later: setting
// one on an assignment that was already there, or moving it earlier, needs the right to revoke
// the role (the question DELETE asks), and a capped role cannot skip its cap by leaving
// expiresAt out.
import t from 'tap'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'
import type { Problem } from '../../helpers/replies.js'
import { docuSign, jira } from '../lifecycle/lifecycle-policy.js'
import { DAY, HOUR, iso, testClock } from '../lifecycle/sweep-at.js'

t.test('app role assignment expiries', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    p.roles['Apps.AssignRoles']!.apps = [
      { id: jira.id, name: 'Jira', grant: ['User'], revoke: [] },
      { id: docuSign.id, name: 'DocuSign', grant: ['DocuSign.Viewer'], revoke: ['DocuSign.Viewer'] },
    ]
    p.roles['Apps.AssignRoles']!.expiry = { maxDays: 30 }
    p.roles['Guests.Manage']!.apps = [
      { id: jira.id, name: 'Jira', grant: ['User'], revoke: ['User'] },
      { id: docuSign.id, name: 'DocuSign', grant: ['DocuSign.Viewer'], revoke: ['DocuSign.Viewer'] },
    ]
  })
  const time = testClock()
  const { app, as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: file }, { app: { expiry: { clock: time.clock } } })
  const sweepAt = time.sweeper(app)
  const manager = await token(['Guests.Manage'], { name: 'Max Manager' })
  const granter = await token(['Apps.AssignRoles'], { name: 'Gina Granter' })
  const invite = async (email: string) => {
    const response = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<{ id: string }>().id
  }
  const assign = (tok: string, appId: string, appRole: string, principalId: string, extra: object = {}) =>
    as(tok, { method: 'POST', url: `/v1/apps/${appId}/assignments`, payload: { principalId, appRole, ...extra } })
  const expiryOf = (guestId: string, appId: string) => app.prisma.accessExpiry.findFirst({ where: { guestId, kind: 'appRole', subject: { startsWith: `${appId}/` }, state: 'active' } })
  const holds = (guestId: string, appId: string) => [...simulator.state.assignments.values()].some((a) => a.principalId === guestId && a.resourceId === appId)

  await t.test('grant but not revoke: an expiry on an assignment someone else made is refused as the unassignment is, audited', async (t) => {
    const guest = await invite('jira@partner.example')
    const made = await assign(manager, jira.id, 'User', guest)
    t.equal(made.statusCode, 201, made.body)
    const assignmentId = made.json<{ assignment: { id: string } }>().assignment.id
    const del = await as(granter, { method: 'DELETE', url: `/v1/apps/${jira.id}/assignments/${assignmentId}` })
    t.equal(del.statusCode, 403, 'the granter may not revoke')

    const response = await assign(granter, jira.id, 'User', guest, { expiresAt: iso(time.now() + HOUR) })
    t.equal(response.statusCode, 403, response.body)
    const problem = response.json<Problem>()
    t.match(problem, { code: 'policy_denied', rule: del.json<Problem>().rule, errors: [{ field: 'body/expiresAt' }] }, 'the unassignment\'s rule, naming the field')
    t.match(await auditRows(databaseUrl, 'operation_id = $1', [problem.operationId]),
      [{ status: 'denied', action: 'appRoleAssignment.unassign', rule_id: problem.rule, target_id: guest }], 'the refusal is audited')
    t.equal(await expiryOf(guest, jira.id), null, 'no expiry recorded')
    const report = await sweepAt(time.now() + 2 * HOUR)
    t.same(report.expired, [], 'nothing expired')
    t.ok(holds(guest, jira.id), 'the guest keeps the role')
  })

  await t.test('the cap: without expiresAt a new assignment expires at the cap; an expiry already set stays', async (t) => {
    const guest = await invite('viewer@partner.example')
    const fresh = await assign(granter, jira.id, 'User', guest)
    t.equal(fresh.statusCode, 201, fresh.body)
    t.match(await expiryOf(guest, jira.id), { expiresAt: new Date(time.now() + 30 * DAY), grantedBy: { name: 'Gina Granter' } }, 'the role\'s cap of 30 days')

    t.equal((await assign(manager, docuSign.id, 'DocuSign.Viewer', guest, { expiresAt: iso(time.now() + 10 * DAY) })).statusCode, 201)
    const again = await assign(granter, docuSign.id, 'DocuSign.Viewer', guest)
    t.equal(again.statusCode, 200, again.body)
    t.match(await expiryOf(guest, docuSign.id), { expiresAt: new Date(time.now() + 10 * DAY), grantedBy: { name: 'Max Manager' } }, 'not cancelled, not moved')
    const sooner = await assign(granter, docuSign.id, 'DocuSign.Viewer', guest, { expiresAt: iso(time.now() + DAY) })
    t.equal(sooner.statusCode, 200, `with the right to revoke it may come sooner: ${sooner.body}`)
    t.match(await expiryOf(guest, docuSign.id), { expiresAt: new Date(time.now() + DAY), grantedBy: { name: 'Gina Granter' } })
  })
})
