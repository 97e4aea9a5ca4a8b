// The Entra walk-through as guestgate does it: invite Jane, add her to Developers, make her
// DocuSign Sender, resend, list pending guests, revoke her access. First step by step, then as
// one onboarding request; each with the audit rows it wrote.
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import type { AppRolesReply, AssignmentReply, GroupPage, GuestDetail, GuestPage, InvitationReply, Problem, RevokeReply } from '../helpers/replies.js'

const { developers, marketing, financeAdmins, allPartners } = SEED.groups
const docuSign = SEED.apps.docuSign

t.test('seed scenario, step by step', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const groupAdmin = await token(['Groups.ManageMembers'])
  const appAdmin = await token(['Apps.AssignRoles'])
  const manager = await token(['Guests.Manage'])

  const jane = (await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'jane@partner.example', displayName: 'Jane Doe', sendEmail: false } })).json<InvitationReply>()
  t.equal(jane.outcome, 'complete')

  const added = await as(groupAdmin, { method: 'PUT', url: `/v1/groups/${developers}/members/${jane.id}` })
  t.equal(added.statusCode, 200, added.body)
  t.match(added.json(), { changed: true })

  const granted = await as(appAdmin, { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: jane.id, appRole: 'DocuSign.Sender' } })
  t.equal(granted.statusCode, 201, granted.body)
  t.match(granted.json(), { changed: true, assignment: { appRoleId: docuSign.roles.sender, principalId: jane.id, appRole: 'DocuSign.Sender' } })

  const resent = await as(inviter, { method: 'POST', url: `/v1/guests/${jane.id}/resend-invitation` })
  t.equal(resent.statusCode, 200)

  const pending = (await as(inviter, { method: 'GET', url: '/v1/guests?state=PendingAcceptance' })).json<GuestPage>()
  t.ok(pending.items.some((g) => g.id === jane.id), 'Jane is pending')

  const detail = (await as(inviter, { method: 'GET', url: `/v1/guests/${jane.id}` })).json<GuestDetail>()
  // All Partners is dynamic ("every guest"): Graph puts every guest in it by its rule.
  t.same(detail.groups.map((g: { id: string }) => g.id), [developers, allPartners])
  t.same(detail.appRoleAssignments.map((a) => a.appRole), ['DocuSign.Sender'])

  const revoked = await as(manager, { method: 'POST', url: `/v1/guests/${jane.id}/revoke-access` })
  t.equal(revoked.statusCode, 200, revoked.body)
  t.match(revoked.json(), { parts: [{ kind: 'group', target: developers, status: 'succeeded' }, { kind: 'group', target: allPartners, status: 'kept', rule: 'groups.dynamic' }, { kind: 'appRole', status: 'succeeded' }] })
  t.equal(revoked.json<RevokeReply>().outcome, 'complete', 'a dynamic group is kept by its rule: not a failure')
  const after = (await as(manager, { method: 'GET', url: `/v1/guests/${jane.id}` })).json<GuestDetail>()
  t.same(after.groups.map((g: { id: string }) => g.id), [allPartners], 'no group left in Graph but the dynamic one, which Graph keeps')
  t.same(after.appRoleAssignments, [], 'no app role left in Graph')
  t.equal(after.id, jane.id, 'the account is kept')
  const { memberships, assignments } = simulator.state
  t.notOk([...memberships.values()].some((members) => members.has(jane.id)), 'the simulator holds no membership of Jane')
  t.notOk([...assignments.values()].some((a) => a.principalId === jane.id), 'the simulator holds no assignment of Jane')

  const rows = await auditRows(databaseUrl, `status <> 'recorded'`)
  const byAction = (action: string) => rows.filter((r) => r.action === action).map((r) => r.status)
  t.same(byAction('invitation.invite'), ['intent', 'succeeded'])
  t.same(byAction('groupMembership.addMember'), ['intent', 'succeeded'])
  t.same(byAction('appRoleAssignment.assign'), ['intent', 'succeeded'])
  t.same(byAction('guest.resend'), ['intent', 'succeeded'])
  t.same(byAction('groupMembership.removeMember'), ['denied', 'intent', 'succeeded'], 'the kept part is recorded first, then the removal')
  t.same(byAction('appRoleAssignment.unassign'), ['intent', 'succeeded'])
  t.ok(rows.filter((r) => r.action.endsWith('Member') || r.action.startsWith('appRole')).every((r) => r.target_id === jane.id), 'every access row names Jane as the target')
})

t.test('seed scenario as one onboarding request', async (t) => {
  const { as, token, databaseUrl } = await build(t)
  const onboarder = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const res = await as(onboarder, { method: 'POST', url: '/v1/invitations', payload: {
    email: 'jane@partner.example', displayName: 'Jane Doe', sendEmail: false,
    groups: [developers, marketing], appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Sender' }, { appId: SEED.apps.jira.id, appRole: 'User' }],
  } })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json<InvitationReply>()
  t.equal(body.outcome, 'complete')
  t.same(body.parts.map((p) => `${p.kind}:${p.status}`),
    ['invitation:succeeded', 'group:succeeded', 'group:succeeded', 'appRole:succeeded', 'appRole:succeeded'])
  const detail = (await as(onboarder, { method: 'GET', url: `/v1/guests/${body.id}` })).json<GuestDetail>()
  t.same(detail.groups.map((g: { id: string }) => g.id).sort(), [developers, marketing, allPartners].sort(), 'and the dynamic group of every guest')
  t.same(detail.appRoleAssignments.map((a) => a.appRole).sort(), ['DocuSign.Sender', 'User'])

  const rows = await auditRows(databaseUrl, 'operation_id = $1', [body.operationId])
  t.same(rows.map((r) => `${r.action}:${r.status}`), [
    'invitation.invite:intent', 'invitation.invite:succeeded',
    'groupMembership.addMember:intent', 'groupMembership.addMember:succeeded',
    'groupMembership.addMember:intent', 'groupMembership.addMember:succeeded',
    'appRoleAssignment.assign:intent', 'appRoleAssignment.assign:succeeded',
    'appRoleAssignment.assign:intent', 'appRoleAssignment.assign:succeeded',
  ], 'every part audited in order under one operation id')
})

t.test('idempotency: add, remove, assign, unassign twice give the same end state and no error', async (t) => {
  const { as, token } = await build(t)
  const admin = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const guest = (await as(admin, { method: 'POST', url: '/v1/invitations', payload: { email: 'twice@partner.example', sendEmail: false } })).json<InvitationReply>()
  const member = `/v1/groups/${developers}/members/${guest.id}`
  t.match((await as(admin, { method: 'PUT', url: member })).json(), { changed: true })
  const again = await as(admin, { method: 'PUT', url: member })
  t.equal(again.statusCode, 200)
  t.match(again.json(), { changed: false })
  t.match((await as(admin, { method: 'DELETE', url: member })).json(), { changed: true })
  const removedAgain = await as(admin, { method: 'DELETE', url: member })
  t.equal(removedAgain.statusCode, 200)
  t.match(removedAgain.json(), { changed: false })

  const assign = { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest.id, appRole: 'DocuSign.Viewer' } }
  const first = await as(admin, assign)
  t.equal(first.statusCode, 201)
  const second = await as(admin, assign)
  t.equal(second.statusCode, 200, 'assigning again returns the existing assignment')
  t.equal(second.json<AssignmentReply>().assignment.id, first.json<AssignmentReply>().assignment.id)
  const byId = await as(admin, { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest.id, appRoleId: docuSign.roles.viewer } })
  t.equal(byId.json<AssignmentReply>().assignment.id, first.json<AssignmentReply>().assignment.id, 'the role by id is the same role')
  const unassign = { method: 'DELETE', url: `/v1/apps/${docuSign.id}/assignments/${first.json<AssignmentReply>().assignment.id}` }
  t.match((await as(admin, unassign)).json(), { changed: true })
  const unassignAgain = await as(admin, unassign)
  t.equal(unassignAgain.statusCode, 200)
  t.match(unassignAgain.json(), { changed: false })
})

t.test('denied parts: 403 and no Graph call at all for the whole onboarding request', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const onboarder = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const cases = [
    // A role is resolved against the application's roles (by value, name or id): Graph is read, never written.
    { name: 'DocuSign Admin', extra: { appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Admin' }] }, rule: /apps\./, reads: true },
    { name: 'a role on an application the role may not touch', extra: { appRoles: [{ appId: SEED.apps.microsoftGraph.id, appRole: 'Directory.Read.All' }] }, rule: /apps\./ },
    { name: 'Finance Admins', extra: { groups: [financeAdmins] }, rule: /groups\./ },
    { name: 'a group the role may not manage', extra: { groups: [developers, allPartners] }, rule: /groups\./ },
  ]
  for (const c of cases) {
    simulator.calls.length = 0
    const res = await as(onboarder, { method: 'POST', url: '/v1/invitations', payload: { email: 'nope@partner.example', groups: [developers], ...c.extra } })
    t.equal(res.statusCode, 403, `${c.name}: 403`)
    const { rule } = res.json<Problem>()
    t.match(rule, c.rule, `${c.name}: rule ${rule}`)
    t.same(simulator.calls.filter((call) => !(c.reads && call.method === 'GET')), [], `${c.name}: no Graph ${c.reads ? 'write' : 'call'}`)
  }
  const rows = await auditRows(databaseUrl)
  t.equal(rows.filter((r) => r.status === 'denied').length, cases.length, 'each denial audited')
  t.equal(rows.filter((r) => r.status === 'intent').length, 0, 'nothing started')
})

t.test('single routes refuse role-assignable and dynamic groups, unknown and disabled roles', async (t) => {
  const { as, token, simulator } = await build(t)
  const admin = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const guest = (await as(admin, { method: 'POST', url: '/v1/invitations', payload: { email: 'g@partner.example', sendEmail: false } })).json<InvitationReply>()
  for (const group of [financeAdmins, allPartners]) {
    const res = await as(admin, { method: 'PUT', url: `/v1/groups/${group}/members/${guest.id}` })
    t.equal(res.statusCode, 403)
  }
  for (const [appRole, why] of [['DocuSign.Legacy', /is disabled/], ['DocuSign.Sync', /applications only/], ['No.Such.Role', /has no app role/]] as const) {
    const res = await as(admin, { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest.id, appRole } })
    // The role may grant roles of DocuSign: what it asks for is resolved against DocuSign's roles.
    t.equal(res.statusCode, 422, `${appRole}: cannot be assigned`)
    t.match(res.json<{ detail: string }>().detail, why, `${appRole}: says why`)
    t.equal(simulator.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/appRoleAssignedTo')).length, 0, `${appRole}: Graph was not asked`)
  }
  const unknownById = await as(admin, { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest.id, appRoleId: docuSign.roles.legacy } })
  t.equal(unknownById.statusCode, 422)
  t.match(unknownById.json<Problem>().detail, /DocuSign\.Sender/, 'lists the valid roles')
  const roles = (await as(admin, { method: 'GET', url: `/v1/apps/${docuSign.id}/roles` })).json<AppRolesReply>()
  t.same(roles.items.map((r) => r.value).sort(), ['DocuSign.Admin', 'DocuSign.Sender', 'DocuSign.Viewer'], 'only enabled user roles')
  t.same(roles.items.filter((r) => r.canGrant).map((r) => r.value).sort(), ['DocuSign.Sender', 'DocuSign.Viewer'])
  const groups = (await as(admin, { method: 'GET', url: '/v1/groups?search=dev' })).json<GroupPage>()
  t.match(groups.items, [{ id: developers, canAddGuests: true }])
})

t.test('a failure in the middle: the invitation stands, the part is reported and audited, a retry succeeds', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const onboarder = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  simulator.faults.inject({ method: 'POST', path: `/groups/${developers}/members`, status: 500, code: 'Service_InternalServerError', message: 'Internal error', times: 1 })
  const res = await as(onboarder, { method: 'POST', url: '/v1/invitations', payload: {
    email: 'mid@partner.example', sendEmail: false, groups: [developers], appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Sender' }],
  } })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json<InvitationReply>()
  t.equal(body.outcome, 'partial')
  t.match(body.parts, [
    { kind: 'invitation', status: 'succeeded' },
    { kind: 'group', target: developers, status: 'failed', error: { status: 502 } },
    { kind: 'appRole', status: 'succeeded' },
  ])
  const failed = await auditRows(databaseUrl, `operation_id = $1 AND action = 'groupMembership.addMember'`, [body.operationId])
  t.same(failed.map((r) => r.status), ['intent', 'failed'])
  t.equal(failed[1]!.graph_status, 500)
  const retry = await as(onboarder, { method: 'PUT', url: `/v1/groups/${developers}/members/${body.id}` })
  t.equal(retry.statusCode, 200)
  t.match(retry.json(), { changed: true })
})

t.test('not-yet-replicated errors right after the invitation are retried with backoff', async (t) => {
  const { as, token, simulator } = await build(t)
  const onboarder = await token(['Guests.Invite', 'Groups.ManageMembers'])
  simulator.setReplicationLag(2)
  const res = await as(onboarder, { method: 'POST', url: '/v1/invitations', payload: { email: 'lag@partner.example', sendEmail: false, groups: [developers] } })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json<InvitationReply>().outcome, 'complete')
  // Graph's "not replicated yet" about the new guest (the default-sponsor lookup of the
  // requester, not a directory user here, is a 404 of its own).
  const guestId = res.json<InvitationReply>().id
  const misses = simulator.calls.filter((c) => (c.status === 404 || c.status === 400) && `${c.path}?${c.query}`.includes(guestId))
  t.equal(misses.length, 2, 'both not-yet-replicated answers came, and were retried')
  t.equal(simulator.callsTo('POST', /\/members\/\$ref$/).filter((c) => c.status === 204).length, 1, 'the guest was added once')
})
