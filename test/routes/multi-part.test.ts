// Multi-part operations ask every part the single route's question: hard refusals hold on
// revoke-access (kept, never touched), and onboarding grants nothing to a member account.
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import type { InvitationReply, Problem, RevokeReply } from '../helpers/replies.js'

const { developers, financeAdmins } = SEED.groups
const { docuSign, microsoftGraph, guestgate } = SEED.apps

t.test('revoke-access keeps what a hard rule protects: role-assignable groups, Graph\'s and guestgate\'s own app roles', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const everyone = await token(['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const guest = (await as(everyone, { method: 'POST', url: '/v1/invitations', payload: { email: 'kept@partner.example', sendEmail: false, groups: [developers], appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Sender' }] } })).json<InvitationReply>()
  t.equal(guest.outcome, 'complete')
  // Granted outside guestgate (in the admin center, say): guestgate must never take these away.
  simulator.state.memberships.get(financeAdmins)!.add(guest.id)
  for (const [sp, appRoleId] of [[microsoftGraph.id, microsoftGraph.roles.directoryReadAll], [guestgate.id, guestgate.roles.auditRead]] as const) {
    simulator.state.assignments.set(`${sp}-${guest.id}`, {
      id: `${sp}-${guest.id}`, appRoleId, createdDateTime: '2026-01-01T00:00:00Z', principalDisplayName: 'kept', principalId: guest.id,
      principalType: 'User', resourceDisplayName: sp === guestgate.id ? 'guestgate' : 'Microsoft Graph', resourceId: sp,
    })
  }
  const deletesBefore = simulator.calls.filter((c) => c.method === 'DELETE').length

  const revoked = await as(everyone, { method: 'POST', url: `/v1/guests/${guest.id}/revoke-access` })
  t.equal(revoked.statusCode, 200, revoked.body)
  const body = revoked.json<RevokeReply>()
  const part = (target: string) => body.parts.find((p) => p.target.startsWith(target))
  t.match(part(developers), { status: 'succeeded' })
  t.match(part(docuSign.id), { status: 'succeeded' })
  t.match(part(financeAdmins), { status: 'kept', rule: 'groups.role-assignable' })
  t.match(part(microsoftGraph.id), { status: 'kept', rule: 'apps.protected-application' })
  t.match(part(guestgate.id), { status: 'kept', rule: 'apps.protected-application' })
  t.equal(body.outcome, 'complete', 'kept parts are not failures')

  const deletes = simulator.calls.filter((c) => c.method === 'DELETE').slice(deletesBefore)
  t.equal(deletes.length, 2, 'only the two allowed parts were sent to Graph')
  t.ok(deletes.every((c) => !c.path.includes(financeAdmins) && !c.path.includes(microsoftGraph.id) && !c.path.includes(guestgate.id)))
  t.ok(simulator.state.memberships.get(financeAdmins)!.has(guest.id), 'still in Finance Admins')
  t.equal([...simulator.state.assignments.values()].filter((a) => a.principalId === guest.id).length, 2, 'the protected roles are still there')

  const refusals = await auditRows(databaseUrl, `status = 'denied' AND operation_id = $1`, [body.operationId])
  t.same(refusals.map((r) => r.rule_id).sort(), ['apps.protected-application', 'apps.protected-application', 'groups.dynamic', 'groups.role-assignable'], 'each kept part has its audit row (All Partners is dynamic: every guest is in it)')
})

t.test('a revoke part is asked the single route\'s question: the hard refusals hold, the grant is the revocation\'s', async (t) => {
  const { app } = await build(t)
  const principal = { oid: '7d2a5e4c-1f0b-4a51-9a0e-3c1b2d4e5f60', name: 'M', tenantId: SEED.tenantId, roles: ['Guests.Manage'] }
  const engine = app.policies.current()
  t.match(engine.decide(principal, 'removeMember', { type: 'GroupMembership', groupId: financeAdmins, isAssignableToRole: true, via: 'revokeAccess' }), { allowed: false, rule: 'groups.role-assignable' })
  t.match(engine.decide(principal, 'removeMember', { type: 'GroupMembership', groupId: developers, via: 'revokeAccess' }), { allowed: true, rule: 'guests.revoke-access:Guests.Manage' })
  t.match(engine.decide(principal, 'removeMember', { type: 'GroupMembership', groupId: developers }), { allowed: false }, 'on its own: Guests.Manage does not manage groups')
  t.match(engine.decide(principal, 'unassign', { type: 'AppRoleAssignment', appId: microsoftGraph.id, applicationId: microsoftGraph.appId, appRoleValue: 'Directory.Read.All', via: 'revokeAccess' }),
    { allowed: false, rule: 'apps.protected-application' })
  t.match(engine.decide({ ...principal, roles: ['Groups.ManageMembers'] }, 'removeMember', { type: 'GroupMembership', groupId: developers, via: 'revokeAccess' }),
    { allowed: false, rule: 'role.missing' }, 'a part of a revocation needs the right to revoke')
})

t.test('onboarding grants nothing when the address turns out to belong to a member', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const onboarder = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const email = 'race@partner.example'
  // A member account with the address appears between guestgate's check and the invitation:
  // Graph then re-invites that member and answers with its id.
  simulator.events.on('call', (call: { method: string; path: string }) => {
    if (call.method !== 'GET' || !call.path.endsWith('/users') || [...simulator.state.users.values()].some((u) => u.mail === email)) return
    simulator.state.users.set('f0000000-0000-4000-8000-0000000000aa', {
      ...simulator.state.users.get(SEED.users.adele.id)!, id: 'f0000000-0000-4000-8000-0000000000aa', mail: email,
      userPrincipalName: 'race@sandbox.onmicrosoft.com', otherMails: [], proxyAddresses: [`SMTP:${email}`],
    })
  })
  const response = await as(onboarder, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false, groups: [developers], appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Sender' }] } })
  t.equal(response.statusCode, 409, response.body)
  t.match(response.json(), { code: 'not_a_guest', existingUserId: 'f0000000-0000-4000-8000-0000000000aa' })
  t.notOk(simulator.state.memberships.get(developers)!.has('f0000000-0000-4000-8000-0000000000aa'), 'no group granted')
  t.equal([...simulator.state.assignments.values()].filter((a) => a.principalId === 'f0000000-0000-4000-8000-0000000000aa').length, 0, 'no app role granted')
  const refusal = await auditRows(databaseUrl, `rule_id = 'guests.not-a-guest'`)
  t.equal(refusal.length, 1, 'the refusal is audited')
  t.equal(refusal[0]!.operation_id, response.json<Problem>().operationId)
})
