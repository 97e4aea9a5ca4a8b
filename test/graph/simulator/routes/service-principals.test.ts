import t from 'tap'
import { SEED } from '../../../../src/graph/simulator/seed.js'
import { inviteGuest, startSimulator, type GraphCollection, type GraphErrorJson } from '../simulator-client.js'

const { docuSign, jira } = SEED.apps
const q = encodeURIComponent
const assignedTo = (spId: string) => `/v1.0/servicePrincipals/${spId}/appRoleAssignedTo`

t.test('GET /servicePrincipals/{id} with $select lists the app roles', async (t) => {
  const graph = await startSimulator(t)
  const answer = await graph.request<{ appId: string; appRoles: Array<{ id: string; isEnabled: boolean }> }>('GET', `/v1.0/servicePrincipals/${docuSign.id}?$select=id,appId,displayName,appRoles`)
  t.equal(answer.status, 200)
  t.same(Object.keys(answer.body).sort(), ['appId', 'appRoles', 'displayName', 'id'])
  t.equal(answer.body.appId, docuSign.appId)
  t.same(answer.body.appRoles.find((role: { id: string }) => role.id === docuSign.roles.sync), {
    allowedMemberTypes: ['Application'],
    description: 'DocuSign Sync role.',
    displayName: 'DocuSign Sync',
    id: docuSign.roles.sync,
    isEnabled: true,
    origin: 'Application',
    value: 'DocuSign.Sync',
  })
  t.equal(answer.body.appRoles.find((role: { id: string }) => role.id === docuSign.roles.legacy)!.isEnabled, false)
})

t.test('GET /servicePrincipals pages and searches', async (t) => {
  const graph = await startSimulator(t)
  const all = await graph.request<GraphCollection<{ displayName: string }>>('GET', '/v1.0/servicePrincipals?$select=id,displayName')
  t.same(all.body.value.map((sp: { displayName: string }) => sp.displayName), ['DocuSign', 'Jira', 'Microsoft Graph', 'guestgate'])
  const found = await graph.eventual<GraphCollection<{ id: string }>>(`/v1.0/servicePrincipals?$search=${q('"displayName:docu"')}&$count=true`)
  t.same(found.body.value.map((sp: { id: string }) => sp.id), [docuSign.id])
  const paged = await graph.request<GraphCollection>('GET', '/v1.0/servicePrincipals?$top=2')
  t.equal(paged.body.value.length, 2)
  t.type(paged.body['@odata.nextLink'], 'string')
})

t.test('assigning an app role: 201 with an opaque id; visible from both sides; duplicate is Graph\'s 400', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'signer@partner.example', 'Signer')
  const body = { principalId: guest, resourceId: docuSign.id, appRoleId: docuSign.roles.sender }
  const created = await graph.request<{ id: string }>('POST', assignedTo(docuSign.id), { body })
  t.equal(created.status, 201)
  t.match(created.body, {
    id: /^[A-Za-z0-9_-]{43}$/,
    appRoleId: docuSign.roles.sender,
    principalId: guest,
    principalType: 'User',
    principalDisplayName: 'Signer',
    resourceId: docuSign.id,
    resourceDisplayName: 'DocuSign',
    createdDateTime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
  })
  t.notMatch(created.body.id, /^[0-9a-f]{8}-/, 'not a GUID')

  const resourceSide = await graph.request<GraphCollection>('GET', assignedTo(docuSign.id))
  t.same(resourceSide.body.value, [created.body])
  const userSide = await graph.request<GraphCollection>('GET', `/v1.0/users/${guest}/appRoleAssignments`)
  t.same(userSide.body.value, [created.body])
  const filtered = await graph.request<GraphCollection>('GET', `${assignedTo(docuSign.id)}?$filter=${q(`principalId eq ${guest}`)}`)
  t.same(filtered.body.value, [created.body])

  const duplicate = await graph.request<GraphErrorJson>('POST', assignedTo(docuSign.id), { body })
  t.equal(duplicate.status, 400)
  t.match(duplicate.body.error, { code: 'Request_BadRequest', message: 'Permission being assigned already exists on the object' })
})

t.test('roles that cannot go to a user are refused with Graph-like 400s', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'x@partner.example')
  const assign = (appRoleId: string, resourceId: string = docuSign.id) =>
    graph.request<GraphErrorJson>('POST', assignedTo(docuSign.id), { body: { principalId: guest, resourceId, appRoleId } })

  for (const roleId of [docuSign.roles.legacy, 'e0000000-0000-4000-8000-0000000000ff', jira.roles.user, '00000000-0000-0000-0000-000000000000']) {
    const answer = await assign(roleId)
    t.equal(answer.status, 400, roleId)
    t.equal(answer.body.error.message, `Permission being assigned was not found on application '${docuSign.appId}'.`, roleId)
  }
  const appOnly = await assign(docuSign.roles.sync)
  t.equal(appOnly.status, 400)
  t.match(appOnly.body.error, { code: 'Request_BadRequest', message: /DocuSign\.Sync.*not assignable to users/ })

  t.equal((await assign(docuSign.roles.sender, jira.id)).status, 400, 'resourceId must be the service principal in the URL')
  t.equal((await assign('not-a-guid')).status, 400)
  t.equal((await graph.request('POST', assignedTo(docuSign.id), { body: { principalId: guest, resourceId: docuSign.id } })).status, 400, 'appRoleId is required')
  const unknownPrincipal = await graph.request('POST', assignedTo(docuSign.id), {
    body: { principalId: 'f0000000-0000-4000-8000-0000000000ff', resourceId: docuSign.id, appRoleId: docuSign.roles.sender },
  })
  t.equal(unknownPrincipal.status, 404)
  t.equal([...graph.sim.state.assignments.values()].filter((a) => a.principalType === 'User').length, 0, 'no user got an assignment')
})

t.test('a service principal\'s own app role assignments: guestgate\'s Graph permissions, per app registration seed', async (t) => {
  const graph = await startSimulator(t)
  const { guestgate, microsoftGraph } = SEED.apps
  const held = async () => {
    const answer = await graph.request<GraphCollection<{ principalId: string; principalType: string; resourceId: string; appRoleId: string }>>('GET', `/v1.0/servicePrincipals/${guestgate.id}/appRoleAssignments`)
    t.equal(answer.status, 200)
    t.ok(answer.body.value.every((a) =>
      a.principalId === guestgate.id && a.principalType === 'ServicePrincipal' && a.resourceId === microsoftGraph.id))
    const roles = new Map((await graph.request<{ appRoles: Array<{ id: string; value: string }> }>('GET', `/v1.0/servicePrincipals/${microsoftGraph.id}?$select=appRoles`)).body.appRoles.map((r) => [r.id, r.value]))
    return answer.body.value.map((a) => roles.get(a.appRoleId)).sort()
  }
  t.same(await held(), ['AppRoleAssignment.ReadWrite.All', 'Application.Read.All', 'AuditLog.Read.All', 'GroupMember.ReadWrite.All', 'User.Invite.All', 'User.ReadWrite.All'])
  t.equal((await graph.request('POST', '/_simulator/reset', { anonymous: true, body: { appRegistration: 'mis-configured' } })).status, 204)
  t.same(await held(), ['AppRoleAssignment.ReadWrite.All', 'Application.Read.All', 'AuditLog.Read.All', 'Directory.ReadWrite.All', 'User.Invite.All', 'User.ReadWrite.All'])
  t.equal((await graph.request('POST', '/_simulator/reset', { anonymous: true, body: { appRegistration: 'nonsense' } })).status, 400)
  const byAppId = await graph.request<GraphCollection>('GET', `/v1.0/servicePrincipals?$filter=${encodeURIComponent(`appId eq '${guestgate.appId}'`)}&$select=id`)
  t.same(byAppId.body.value, [{ id: guestgate.id }], 'found by its application (client) id')
})

t.test('removing an assignment: 204, then 404; another app\'s assignment is not found here', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'y@partner.example')
  const created = await graph.request<{ id: string }>('POST', assignedTo(jira.id), { body: { principalId: guest, resourceId: jira.id, appRoleId: jira.roles.admin } })
  const id = created.body.id

  t.equal((await graph.request('DELETE', `${assignedTo(docuSign.id)}/${id}`)).status, 404, 'wrong service principal')
  const removed = await graph.request('DELETE', `${assignedTo(jira.id)}/${id}`)
  t.equal(removed.status, 204)
  t.same((await graph.request<GraphCollection>('GET', `/v1.0/users/${guest}/appRoleAssignments`)).body.value, [])
  const again = await graph.request<GraphErrorJson>('DELETE', `${assignedTo(jira.id)}/${id}`)
  t.equal(again.status, 404)
  t.equal(again.body.error.code, 'Request_ResourceNotFound')
})
