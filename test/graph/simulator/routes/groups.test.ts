import t from 'tap'
import { SEED } from '../../../../src/graph/simulator/seed.js'
import type { DirectorySnapshot } from '../../../../src/graph/simulator/state.js'
import { directoryObjectRef, inviteGuest, startSimulator, type GraphCollection, type GraphErrorJson } from '../simulator-client.js'

const { developers, marketing, financeAdmins, allPartners } = SEED.groups
const { adele, existingGuest } = SEED.users
const q = encodeURIComponent
const membersRef = (groupId: string) => `/v1.0/groups/${groupId}/members/$ref`

t.test('GET /groups and /groups/{id} with $select, $search and $top', async (t) => {
  const graph = await startSimulator(t)
  const all = await graph.request<GraphCollection<{ displayName: string }>>('GET', '/v1.0/groups')
  t.same(all.body.value.map((g: { displayName: string }) => g.displayName), ['Developers', 'Marketing', 'Finance Admins', 'All Partners'])

  const group = await graph.request('GET', `/v1.0/groups/${allPartners}?$select=id,displayName,description,isAssignableToRole,groupTypes,membershipRule`)
  t.same(group.body, {
    id: allPartners,
    displayName: 'All Partners',
    groupTypes: ['DynamicMembership'],
    isAssignableToRole: false,
    membershipRule: '(user.userType -eq "Guest")',
  }, 'description is a real Graph property the simulator does not model')

  const search = q('"displayName:dev"')
  const inside = await graph.eventual<GraphCollection>(`/v1.0/groups?$search=${q('"displayName:artner"')}`)
  t.same(inside.body.value, [], 'a search term matches the start of a word, never its inside')
  t.equal((await graph.request('GET', `/v1.0/groups?$search=${search}`)).status, 400, '$search needs ConsistencyLevel')
  const found = await graph.eventual<GraphCollection<{ id: string }>>(`/v1.0/groups?$search=${search}&$count=true`)
  t.same(found.body.value.map((g: { id: string }) => g.id), [developers])
  t.equal(found.body['@odata.count'], 1)

  const page = await graph.request<GraphCollection>('GET', '/v1.0/groups?$top=3&$select=id')
  t.equal(page.body.value.length, 3)
  t.type(page.body['@odata.nextLink'], 'string')
  t.equal((await graph.request('GET', '/v1.0/groups/d0000000-0000-4000-8000-0000000000ff')).status, 404)
})

t.test('adding a member: 204, then Graph\'s "already exist" 400; both sides see it', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'new@partner.example')
  const added = await graph.request('POST', membersRef(developers), { body: directoryObjectRef(guest) })
  t.equal(added.status, 204)
  t.equal(added.body, undefined)

  const again = await graph.request<GraphErrorJson>('POST', membersRef(developers), { body: directoryObjectRef(guest) })
  t.equal(again.status, 400)
  t.match(again.body.error, {
    code: 'Request_BadRequest',
    message: "One or more added object references already exist for the following modified properties: 'members'.",
  })

  const members = await graph.request<GraphCollection>('GET', `/v1.0/groups/${developers}/members/microsoft.graph.user?$select=id,mail`)
  t.same(members.body.value, [{ id: guest, mail: 'new@partner.example' }])
  const memberOf = await graph.request<GraphCollection>('GET', `/v1.0/users/${guest}/memberOf/microsoft.graph.group?$select=id`)
  t.same(memberOf.body.value, [{ id: developers }, { id: allPartners }], 'and the dynamic group every guest is in')

  const byUsersUrl = await graph.request('POST', membersRef(marketing), { body: { '@odata.id': `https://graph.microsoft.com/v1.0/users/${adele.id}` } })
  t.equal(byUsersUrl.status, 204, 'a /users/{id} reference is accepted too')
})

t.test('member references must be a directory object URL to an existing object', async (t) => {
  const graph = await startSimulator(t)
  const cases: Array<[unknown, number]> = [
    [{ '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/f0000000-0000-4000-8000-0000000000ff' }, 404],
    [{ '@odata.id': 'https://graph.microsoft.com/v1.0/groups/' + developers }, 400],
    [{ '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/not-a-guid' }, 400],
    [{ '@odata.id': 'https://graph.microsoft.com/v1.0/directoryObjects/%zz' }, 400],
    [{ id: adele.id }, 400],
    [{}, 400],
  ]
  for (const [body, status] of cases) {
    const answer = await graph.request('POST', membersRef(developers), { body })
    t.equal(answer.status, status, JSON.stringify(body))
  }
  t.equal((await graph.request('POST', membersRef('d0000000-0000-4000-8000-0000000000ff'), { body: directoryObjectRef(adele.id) })).status, 404, 'unknown group')
})

t.test('removing a member: 204 with /$ref, then Graph\'s "do not exist" 400', async (t) => {
  const graph = await startSimulator(t)
  const removed = await graph.request('DELETE', `/v1.0/groups/${marketing}/members/${existingGuest.id}/$ref`)
  t.equal(removed.status, 204)
  t.same((await graph.request<GraphCollection>('GET', `/v1.0/groups/${marketing}/members/microsoft.graph.user`)).body.value, [])

  const again = await graph.request<GraphErrorJson>('DELETE', `/v1.0/groups/${marketing}/members/${existingGuest.id}/$ref`)
  t.equal(again.status, 400)
  t.equal(again.body.error.code, 'Request_BadRequest')
  t.equal(again.body.error.message, "One or more removed object references do not exist for the following modified properties: 'members'.")
})

t.test('DELETE .../members/{id} without /$ref is refused, recorded, and removes nothing', async (t) => {
  const graph = await startSimulator(t)
  const answer = await graph.request<GraphErrorJson>('DELETE', `/v1.0/groups/${marketing}/members/${existingGuest.id}`)
  t.equal(answer.status, 400)
  t.equal(answer.body.error.code, 'Request_BadRequest')
  t.ok(graph.sim.state.memberships.get(marketing)?.has(existingGuest.id), 'still a member')
  t.ok(graph.sim.state.users.has(existingGuest.id), 'the user still exists')
  t.equal(graph.sim.callsTo('DELETE', /\/members\/[^/]+$/).length, 1)
})

t.test('role-assignable groups refuse membership changes with 403', async (t) => {
  const graph = await startSimulator(t)
  const add = await graph.request<GraphErrorJson>('POST', membersRef(financeAdmins), { body: directoryObjectRef(existingGuest.id) })
  t.equal(add.status, 403)
  t.match(add.body.error, { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' })
  const remove = await graph.request('DELETE', `/v1.0/groups/${financeAdmins}/members/${existingGuest.id}/$ref`)
  t.equal(remove.status, 403)
})

t.test('a dynamic group\'s members come from its rule: every guest is in All Partners, members are not', async (t) => {
  const graph = await startSimulator(t)
  const members = async () => (await graph.request<GraphCollection<{ id: string }>>('GET', `/v1.0/groups/${allPartners}/members/microsoft.graph.user?$select=id`)).body.value.map((u) => u.id)
  t.same(await members(), [existingGuest.id], 'the seeded guest, not Adele (a member)')
  const guest = await inviteGuest(graph, 'dynamic@partner.example')
  t.same(await members(), [existingGuest.id, guest], 'a new guest is in at once')
  const state = await graph.request<DirectorySnapshot>('GET', '/_simulator/state', { anonymous: true })
  t.same(state.body.memberships[allPartners], [existingGuest.id, guest], 'the state shows evaluated members')
  await graph.request('DELETE', `/v1.0/users/${guest}`)
  t.same(await members(), [existingGuest.id])
  t.equal((await graph.request('DELETE', `/v1.0/groups/${allPartners}/members/${existingGuest.id}/$ref`)).status, 400, 'removal refused')
  t.same(await members(), [existingGuest.id], 'still in')
})

t.test('dynamic groups refuse membership changes with 400', async (t) => {
  const graph = await startSimulator(t)
  const add = await graph.request<GraphErrorJson>('POST', membersRef(allPartners), { body: directoryObjectRef(existingGuest.id) })
  t.equal(add.status, 400)
  t.match(add.body.error, { code: 'Request_BadRequest', message: /cannot be added to a group with dynamic membership/ })
  const remove = await graph.request<GraphErrorJson>('DELETE', `/v1.0/groups/${allPartners}/members/${existingGuest.id}/$ref`)
  t.equal(remove.status, 400)
  t.match(remove.body.error.message, /cannot be removed from a group with dynamic membership/)
})

t.test('filtering members by userType is an advanced query; members page with $top', async (t) => {
  const graph = await startSimulator(t)
  for (let i = 0; i < 3; i++) {
    const guest = await inviteGuest(graph, `m${i}@partner.example`)
    await graph.request('POST', membersRef(marketing), { body: directoryObjectRef(guest) })
  }
  await graph.request('POST', membersRef(marketing), { body: directoryObjectRef(adele.id) })
  const path = `/v1.0/groups/${marketing}/members/microsoft.graph.user?$filter=${q("userType eq 'Guest'")}&$select=id,userType`

  const plain = await graph.request<GraphErrorJson>('GET', `${path}&$count=true`)
  t.equal(plain.status, 400)
  t.equal(plain.body.error.code, 'Request_UnsupportedQuery')

  const first = await graph.eventual<GraphCollection>(`${path}&$count=true&$top=3`)
  t.equal(first.status, 200)
  t.equal(first.body['@odata.count'], 4, 'four guests, Adele is a member')
  t.equal(first.body.value.length, 3)
  const rest = await graph.eventual<GraphCollection>(first.body['@odata.nextLink']!.slice(graph.origin.length))
  t.equal(rest.body.value.length, 1)
  t.notOk(rest.body['@odata.nextLink'])

  const uncast = await graph.request<GraphCollection>('GET', `/v1.0/groups/${marketing}/members?$top=1`)
  t.equal(uncast.body.value[0]!['@odata.type'], '#microsoft.graph.user')
})
