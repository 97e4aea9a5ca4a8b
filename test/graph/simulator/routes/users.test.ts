import t from 'tap'
import { SEED } from '../../../../src/graph/simulator/seed.js'
import { directoryObjectRef, inviteGuest, startSimulator, type GraphAnswer, type GraphCollection, type GraphErrorJson } from '../simulator-client.js'

const { adele, existingGuest } = SEED.users
const GUEST_FIELDS = 'id,displayName,mail,userPrincipalName,userType,creationType,createdDateTime,externalUserState,externalUserStateChangeDateTime'
const q = encodeURIComponent

t.test('GET /users/{id} returns Graph\'s default properties, or exactly $select plus id', async (t) => {
  const graph = await startSimulator(t)
  const plain = await graph.request('GET', `/v1.0/users/${existingGuest.id}`)
  t.same(Object.keys(plain.body).sort(), ['displayName', 'givenName', 'id', 'mail', 'surname', 'userPrincipalName'])
  t.notOk('externalUserState' in plain.body, 'externalUserState only when selected')

  const selected = await graph.request('GET', `/v1.0/users/${existingGuest.id}?$select=${GUEST_FIELDS}`)
  t.same(selected.body, {
    id: existingGuest.id,
    createdDateTime: '2024-01-15T09:00:00Z',
    creationType: 'Invitation',
    displayName: 'Existing Guest',
    externalUserState: 'Accepted',
    externalUserStateChangeDateTime: '2024-01-16T10:30:00Z',
    mail: existingGuest.mail,
    userPrincipalName: existingGuest.userPrincipalName,
    userType: 'Guest',
  })

  const unknown = await graph.request<GraphErrorJson>('GET', `/v1.0/users/${adele.id}?$select=id,jobTitel`)
  t.equal(unknown.status, 400)
  t.match(unknown.body.error.message, "Could not find a property named 'jobTitel' on type 'microsoft.graph.user'")

  const missing = await graph.request<GraphErrorJson>('GET', '/v1.0/users/f0000000-0000-4000-8000-0000000000ff')
  t.equal(missing.status, 404)
  t.equal(missing.body.error.message, "Resource 'f0000000-0000-4000-8000-0000000000ff' does not exist or one of its queried reference-property objects are not present.")

  const upperCase = await graph.request<{ id: string }>('GET', `/v1.0/users/${adele.id.toUpperCase()}`)
  t.equal(upperCase.body.id, adele.id, 'ids are not case-sensitive')
})

t.test('$filter by address: mail, otherMails or userPrincipalName, case-insensitive, quotes doubled', async (t) => {
  const graph = await startSimulator(t)
  const byAddress = (address: string) => {
    const literal = `'${address.replaceAll("'", "''")}'`
    const filter = `mail eq ${literal} or otherMails/any(x:x eq ${literal}) or userPrincipalName eq ${literal}`
    return graph.request<GraphCollection<{ id: string }>>('GET', `/v1.0/users?$filter=${q(filter)}&$select=${GUEST_FIELDS}`)
  }
  const found = await byAddress('EXISTING@fabrikam.example')
  t.equal(found.status, 200)
  t.same(found.body.value.map((user) => user.id), [existingGuest.id])

  const user = graph.sim.state.users.get(adele.id)
  user?.otherMails.push("o'brien@example.com")
  const quoted = await byAddress("O'Brien@example.com")
  t.same(quoted.body.value.map((u) => u.id), [adele.id])

  t.same((await byAddress('nobody@example.com')).body.value, [])
})

t.test('guest filters: userType, externalUserState, endswith needs ConsistencyLevel and $count', async (t) => {
  const graph = await startSimulator(t)
  const partnerGuest = await inviteGuest(graph, 'pat@partner.example')
  await inviteGuest(graph, 'lee@other.example')

  const guests = await graph.request<GraphCollection>('GET', `/v1.0/users?$filter=${q("userType eq 'Guest'")}`)
  t.equal(guests.body.value.length, 3)

  const accepted = await graph.request<GraphCollection<{ id: string }>>('GET', `/v1.0/users?$filter=${q("userType eq 'Guest' and externalUserState eq 'Accepted'")}`)
  t.same(accepted.body.value.map((u) => u.id), [existingGuest.id])
  const pending = await graph.request<GraphCollection>('GET', `/v1.0/users?$filter=${q("userType eq 'Guest' and externalUserState eq 'PendingAcceptance'")}`)
  t.equal(pending.body.value.length, 2)

  const domainFilter = q("userType eq 'Guest' and endswith(mail,'@partner.example')")
  const withoutHeader = await graph.request<GraphErrorJson>('GET', `/v1.0/users?$filter=${domainFilter}&$count=true`)
  t.equal(withoutHeader.status, 400)
  t.match(withoutHeader.body.error, { code: 'Request_UnsupportedQuery' })
  const withoutCount = await graph.eventual(`/v1.0/users?$filter=${domainFilter}`)
  t.equal(withoutCount.status, 400, 'endswith also needs $count=true')
  const advanced = await graph.eventual<GraphCollection<{ id: string }>>(`/v1.0/users?$filter=${domainFilter}&$count=true`)
  t.equal(advanced.status, 200)
  t.same(advanced.body.value.map((u) => u.id), [partnerGuest])
  t.equal(advanced.body['@odata.count'], 1)
})

t.test('$filter refuses properties it cannot filter on, unknown properties and bad syntax', async (t) => {
  const graph = await startSimulator(t)
  const cases: Array<[string, string]> = [
    ["givenName eq 'Adele'", 'Request_UnsupportedQuery'],
    ["favouriteColour eq 'blue'", 'Request_BadRequest'],
    ["mail eq 'unterminated", 'BadRequest'],
    ["mail gt 'a'", 'Request_UnsupportedQuery'],
    ["mail has 'a'", 'BadRequest'],
    ["createdDateTime ge 2024-01-01T00:00:00Z", 'Request_UnsupportedQuery'],
  ]
  for (const [filter, code] of cases) {
    const answer = await graph.request<GraphErrorJson>('GET', `/v1.0/users?$filter=${q(filter)}`)
    t.equal(answer.status, 400, filter)
    t.equal(answer.body.error.code, code, filter)
  }
  const orderby = await graph.request('GET', '/v1.0/users?$orderby=displayName')
  t.equal(orderby.status, 400, 'options the simulator does not implement are refused, not ignored')
})

t.test('$search needs ConsistencyLevel eventual; displayName is tokenized, other properties match from the start', async (t) => {
  const graph = await startSimulator(t)
  await inviteGuest(graph, 'jane.roe@partner.example', 'Jane Roe')
  await inviteGuest(graph, 'someone@janeway.example', 'Someone')
  await inviteGuest(graph, 'mary@partner.example', 'MaryAnn Smith-Jones2')
  const search = q('"displayName:jane" OR "mail:jane"')

  const withoutHeader = await graph.request<GraphErrorJson>('GET', `/v1.0/users?$search=${search}`)
  t.equal(withoutHeader.status, 400)
  t.match(withoutHeader.body.error, { code: 'Request_UnsupportedQuery', message: /ConsistencyLevel: eventual/ })

  const found = await graph.eventual<GraphCollection<{ displayName: string }>>(`/v1.0/users?$search=${search}&$select=displayName`)
  t.same(found.body.value.map((u) => u.displayName), ['Jane Roe'], '"jane" is inside janeway.example, not at its start')

  const names = async (clause: string) =>
    (await graph.eventual<GraphCollection<{ displayName: string }>>(`/v1.0/users?$search=${q(clause)}&$select=displayName`)).body.value.map((u) => u.displayName)
  t.same(await names('"displayName:ro"'), ['Jane Roe'], 'a word of displayName starts with the term')
  t.same(await names('"displayName:oe"'), [], 'no match inside a word')
  t.same(await names('"displayName:ann"'), ['MaryAnn Smith-Jones2'], 'camelCase splits words')
  t.same(await names('"displayName:jones"'), ['MaryAnn Smith-Jones2'], 'symbols and digits split words')
  t.same(await names('"displayName:smith jones"'), ['MaryAnn Smith-Jones2'], 'every word of the term must match')
  t.same(await names('"mail:partner"'), [], 'mail matches from its start only')
  t.same((await names('"mail:JANE.R"')), ['Jane Roe'], 'case is ignored')

  const combined = await graph.eventual<GraphCollection>(`/v1.0/users?$search=${q('"displayName:roe" AND "mail:jane"')}&$filter=${q("userType eq 'Guest'")}`)
  t.equal(combined.body.value.length, 1)

  const badSyntax = await graph.eventual(`/v1.0/users?$search=${q('jane')}`)
  t.equal(badSyntax.status, 400)
})

t.test('$count=true is ignored without ConsistencyLevel eventual, counted with it', async (t) => {
  const graph = await startSimulator(t)
  const ignored = await graph.request<GraphCollection>('GET', '/v1.0/users?$count=true')
  t.equal(ignored.status, 200)
  t.notOk('@odata.count' in ignored.body, 'no count, no error')
  t.equal(ignored.body.value.length, 2)
  const counted = await graph.eventual<GraphCollection>('/v1.0/users?$count=true&$top=1')
  t.equal(counted.body['@odata.count'], 2)
  t.equal(counted.body.value.length, 1)
})

t.test('paging: $top pages, @odata.nextLink is absolute, keeps the query and carries $skiptoken', async (t) => {
  const graph = await startSimulator(t)
  for (let i = 0; i < 5; i++) await inviteGuest(graph, `guest${i}@partner.example`)
  const first = await graph.request<GraphCollection<{ id: string }>>('GET', `/v1.0/users?$filter=${q("userType eq 'Guest'")}&$select=id,mail&$top=2`)
  const nextLink = first.body['@odata.nextLink']!
  t.ok(nextLink.startsWith(`${graph.origin}/v1.0/users?`), nextLink)
  t.match(nextLink, /\$top=2/)
  t.match(nextLink, /\$skiptoken=[\w-]+$/)

  const ids: string[] = first.body.value.map((u) => u.id)
  let link: string | undefined = nextLink
  let pages = 1
  while (link) {
    const page: GraphAnswer<GraphCollection<{ id: string }>> = await graph.request('GET', link.slice(graph.origin.length))
    ids.push(...page.body.value.map((u) => u.id))
    link = page.body['@odata.nextLink']
    pages++
  }
  t.equal(pages, 3)
  t.equal(new Set(ids).size, 6, 'every guest exactly once')

  const tooBig = await graph.request<GraphErrorJson>('GET', '/v1.0/users?$top=1000')
  t.equal(tooBig.status, 400)
  t.match(tooBig.body.error.message, 'Invalid page size specified')
  const badToken = await graph.request('GET', '/v1.0/users?$skiptoken=garbage')
  t.equal(badToken.status, 400)
})

t.test('DELETE /users/{id} removes the user, its memberships and its app role assignments', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'leaver@partner.example')
  await graph.request('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(guest) })
  await graph.request('POST', `/v1.0/servicePrincipals/${SEED.apps.docuSign.id}/appRoleAssignedTo`, {
    body: { principalId: guest, resourceId: SEED.apps.docuSign.id, appRoleId: SEED.apps.docuSign.roles.sender },
  })

  const deleted = await graph.request('DELETE', `/v1.0/users/${guest}`)
  t.equal(deleted.status, 204)
  t.equal(deleted.body, undefined)
  t.equal((await graph.request('GET', `/v1.0/users/${guest}`)).status, 404)
  const members = await graph.request<GraphCollection>('GET', `/v1.0/groups/${SEED.groups.developers}/members/microsoft.graph.user`)
  t.same(members.body.value, [])
  const assignments = await graph.request<GraphCollection>('GET', `/v1.0/servicePrincipals/${SEED.apps.docuSign.id}/appRoleAssignedTo`)
  t.same(assignments.body.value, [])
  t.equal((await graph.request('DELETE', `/v1.0/users/${guest}`)).status, 404, 'a second delete finds nothing')
})

t.test('memberOf and appRoleAssignments show the user\'s side', async (t) => {
  const graph = await startSimulator(t)
  const groups = await graph.request<GraphCollection>('GET', `/v1.0/users/${existingGuest.id}/memberOf/microsoft.graph.group?$select=id,displayName,description`)
  t.same(groups.body.value, [{ id: SEED.groups.marketing, displayName: 'Marketing' }, { id: SEED.groups.allPartners, displayName: 'All Partners' }],
    'assigned and dynamic memberships')

  const uncast = await graph.request<GraphCollection>('GET', `/v1.0/users/${existingGuest.id}/memberOf`)
  t.equal(uncast.body.value[0]!['@odata.type'], '#microsoft.graph.group')

  t.same((await graph.request<GraphCollection>('GET', `/v1.0/users/${existingGuest.id}/appRoleAssignments`)).body.value, [])
  t.equal((await graph.request('GET', '/v1.0/users/f0000000-0000-4000-8000-0000000000ff/memberOf/microsoft.graph.group')).status, 404)
})
