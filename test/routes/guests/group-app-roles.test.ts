// Graph lists under a user the app roles of the user's groups as well as the user's own
// (https://learn.microsoft.com/en-us/graph/api/user-list-approleassignments). Those belong to the
// group: taking a guest's access away must not remove them, which would take the role from every
// member of the group.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'

const { developers: DEVELOPERS } = SEED.groups
const DOCUSIGN = SEED.apps.docuSign

t.test('revoke-access removes the guest from the group and leaves the group\'s own app role alone', async (t) => {
  const { as, token, simulator } = await build(t)
  const manager = await token(['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  // An administrator gave the whole group a DocuSign role (outside guestgate).
  const groupAssignment = simulator.state.assignAppRole(DOCUSIGN.id, { principalId: DEVELOPERS, resourceId: DOCUSIGN.id, appRoleId: DOCUSIGN.roles.sender })
  t.equal(groupAssignment.principalType, 'Group')

  const invited = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'member.of.group@partner.example', sendEmail: false, groups: [DEVELOPERS] } })
  t.equal(invited.statusCode, 201, invited.body.slice(0, 300))
  const guest = invited.json<{ id: string }>().id
  t.ok(simulator.state.assignmentsOf(guest).some((a) => a.id === groupAssignment.id), 'Graph lists the group\'s assignment under the guest')

  // guestgate's own view of the guest's app roles: the guest has none of its own.
  const assignments = await as(manager, { method: 'GET', url: `/v1/apps/${DOCUSIGN.id}/assignments` })
  t.equal(assignments.statusCode, 200)

  const revoked = await as(manager, { method: 'POST', url: `/v1/guests/${guest}/revoke-access`, payload: {} })
  t.equal(revoked.statusCode, 200, revoked.body.slice(0, 300))
  const parts = revoked.json<{ parts: Array<{ kind: string; target: string; status: string }> }>().parts
  t.match(parts, [{ kind: 'group', target: DEVELOPERS, status: 'succeeded' }], 'the membership is taken away')
  t.notOk(parts.some((p) => p.kind === 'appRole'), 'no app role part: the guest had none of its own')
  t.ok(simulator.state.assignments.has(groupAssignment.id), 'the group keeps its app role')
  t.equal(simulator.calls.filter((c) => c.method === 'DELETE' && c.path.includes('appRoleAssignedTo')).length, 0, 'no assignment was deleted')
})

t.test('granting a role the guest holds only through a group makes the guest\'s own assignment', async (t) => {
  const { as, token, simulator } = await build(t)
  const manager = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  simulator.state.assignAppRole(DOCUSIGN.id, { principalId: DEVELOPERS, resourceId: DOCUSIGN.id, appRoleId: DOCUSIGN.roles.sender })
  const guest = (await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'own.role@partner.example', sendEmail: false, groups: [DEVELOPERS] } })).json<{ id: string }>().id
  const granted = await as(manager, { method: 'POST', url: `/v1/apps/${DOCUSIGN.id}/assignments`, payload: { principalId: guest, appRoleId: DOCUSIGN.roles.sender } })
  t.ok([200, 201].includes(granted.statusCode), granted.body.slice(0, 300))
  t.match(granted.json(), { changed: true }, 'not "already so" because of the group\'s assignment')
  t.ok(simulator.state.assignmentsOf(guest).some((a) => a.principalId === guest && a.appRoleId === DOCUSIGN.roles.sender), 'the guest\'s own assignment exists')
})
