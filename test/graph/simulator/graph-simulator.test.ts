import { once } from 'node:events'
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { buildGraphSimulator } from '../../../src/graph/simulator/graph-simulator.js'
import type { DirectorySnapshot } from '../../../src/graph/simulator/state.js'
import { directoryObjectRef, inviteGuest, startSimulator, type GraphErrorJson } from './simulator-client.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const adele = SEED.users.adele.id

t.test('every answer carries request-id and echoes client-request-id', async (t) => {
  const graph = await startSimulator(t)
  const echoed = await graph.request('GET', `/v1.0/users/${adele}`, { headers: { 'client-request-id': 'corr-1' } })
  t.equal(echoed.status, 200)
  t.match(echoed.headers.get('request-id'), UUID)
  t.equal(echoed.headers.get('client-request-id'), 'corr-1')

  const generated = await graph.request<GraphErrorJson>('GET', '/v1.0/nowhere')
  t.match(generated.headers.get('client-request-id'), UUID, 'a new one when the caller sent none')
  t.equal(generated.body.error.innerError['client-request-id'], generated.headers.get('client-request-id'))
  t.equal(generated.body.error.innerError['request-id'], generated.headers.get('request-id'))
})

t.test('a request without a bearer token gets Graph\'s 401', async (t) => {
  const graph = await startSimulator(t)
  const attempts: Array<Record<string, string>> = [{}, { Authorization: 'Bearer ' }, { Authorization: 'Basic abc' }]
  for (const headers of attempts) {
    const answer = await graph.request<GraphErrorJson>('GET', '/v1.0/users', { anonymous: true, headers })
    t.equal(answer.status, 401)
    t.same(Object.keys(answer.body.error), ['code', 'message', 'innerError'])
    t.equal(answer.body.error.code, 'InvalidAuthenticationToken')
    t.equal(answer.body.error.message, 'Access token is empty.')
    t.match(answer.body.error.innerError, { date: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/, 'request-id': UUID, 'client-request-id': UUID })
  }
  t.equal(graph.sim.calls.length, 3, 'refused requests are recorded too')
  t.notOk(graph.sim.calls[0]?.hasAuthorization)
  t.ok(graph.sim.calls[1]?.hasAuthorization, 'a header was sent, even if empty')
})

t.test('unknown routes, methods and versions answer like Graph', async (t) => {
  const graph = await startSimulator(t)
  const segment = await graph.request<GraphErrorJson>('GET', `/v1.0/users/${adele}/manager`)
  t.equal(segment.status, 400)
  t.match(segment.body.error, { code: 'BadRequest', message: "Resource not found for the segment 'manager'." })

  const entitySet = await graph.request<GraphErrorJson>('GET', '/v1.0/contacts')
  t.match(entitySet.body.error, { message: "Resource not found for the segment 'contacts'." })

  const method = await graph.request('PATCH', `/v1.0/groups/${SEED.groups.developers}`)
  t.equal(method.status, 405)

  const version = await graph.request<GraphErrorJson>('GET', '/beta/users')
  t.equal(version.status, 400)
  t.match(version.body.error, { code: 'BadRequest', message: 'Invalid version: beta' })

  const badId = await graph.request<GraphErrorJson>('GET', '/v1.0/groups/not-a-guid')
  t.equal(badId.status, 400)
  t.match(badId.body.error, { code: 'Request_BadRequest', message: "Invalid object identifier 'not-a-guid'." })
})

t.test('a body that is not JSON is refused with Graph\'s message', async (t) => {
  const graph = await startSimulator(t)
  const answer = await graph.request<GraphErrorJson>('POST', '/v1.0/invitations', { body: '{"invitedUserEmailAddress":' })
  t.equal(answer.status, 400)
  t.match(answer.body.error, { code: 'BadRequest', message: /^Unable to read JSON request payload/ })
})

t.test('calls record method, path, query, client-request-id, authorization and status', async (t) => {
  const graph = await startSimulator(t)
  await graph.request('GET', '/v1.0/users?$top=1&$select=id', { headers: { 'client-request-id': 'corr-2' } })
  await graph.request('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(adele) })
  await graph.request('GET', '/_simulator/calls')

  t.equal(graph.sim.calls.length, 2, 'the control surface is not recorded')
  const [list, add] = graph.sim.calls
  t.match(list, { method: 'GET', path: '/v1.0/users', query: '$top=1&$select=id', clientRequestId: 'corr-2', hasAuthorization: true, status: 200 })
  t.type(list?.at, 'number')
  t.match(add, { method: 'POST', path: `/v1.0/groups/${SEED.groups.developers}/members/$ref`, query: '', status: 204 })
  t.notOk(add && 'clientRequestId' in add, 'no client-request-id was sent')
  t.equal(graph.sim.callsTo('post', /members\/\$ref$/).length, 1)
  t.equal(graph.sim.callsTo('GET', /members/).length, 0)
})

t.test('an injected 429 answers with Retry-After, once by default, then normal handling resumes', async (t) => {
  const graph = await startSimulator(t)
  graph.sim.faults.inject({ method: 'GET', path: '/users', status: 429, retryAfter: 0.5 })
  const throttled = await graph.request<GraphErrorJson>('GET', `/v1.0/users/${adele}`)
  t.equal(throttled.status, 429)
  t.equal(throttled.headers.get('retry-after'), '0.5')
  t.equal(throttled.body.error.code, 'TooManyRequests')
  const next = await graph.request('GET', `/v1.0/users/${adele}`)
  t.equal(next.status, 200)
})

t.test('faults match method and path (substring or RegExp) and apply `times` times', async (t) => {
  const graph = await startSimulator(t)
  graph.sim.faults.inject({ method: 'POST', path: /\/invitations$/, status: 503, retryAfter: '2', times: 2, code: 'serviceNotAvailable', message: 'Try later.' })
  t.equal((await graph.request('GET', '/v1.0/users')).status, 200, 'other method: untouched')
  const invite = { invitedUserEmailAddress: 'x@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com' }
  const first = await graph.request<GraphErrorJson>('POST', '/v1.0/invitations', { body: invite })
  t.equal(first.status, 503)
  t.equal(first.headers.get('retry-after'), '2')
  t.match(first.body.error, { code: 'serviceNotAvailable', message: 'Try later.' })
  t.equal((await graph.request('POST', '/v1.0/invitations', { body: invite })).status, 503)
  t.equal((await graph.request('POST', '/v1.0/invitations', { body: invite })).status, 201)
  t.equal(graph.sim.state.invitations.length, 1, 'faulted requests changed nothing')
})

t.test('a fault with times Infinity stays until cleared, and takes precedence over the 401', async (t) => {
  const graph = await startSimulator(t)
  graph.sim.faults.inject({ path: '/groups', status: 500, times: Infinity })
  for (let i = 0; i < 3; i++) t.equal((await graph.request('GET', '/v1.0/groups', { anonymous: true })).status, 500)
  graph.sim.faults.clear()
  t.equal((await graph.request('GET', '/v1.0/groups')).status, 200)
  t.throws(() => graph.sim.faults.inject({ path: '/groups', status: 500, times: 0 }), RangeError)
})

t.test('latencyMs delays the answer; without a status the request is then handled normally', async (t) => {
  const graph = await startSimulator(t)
  graph.sim.faults.inject({ path: '/groups', latencyMs: 150 })
  const started = Date.now()
  const answer = await graph.request('GET', '/v1.0/groups')
  // Timer and clock granularity: allow a few milliseconds.
  t.ok(Date.now() - started >= 145, 'answered after the latency')
  t.equal(answer.status, 200)

  graph.sim.faults.inject({ path: '/groups', latencyMs: 50, status: 504 })
  t.equal((await graph.request('GET', '/v1.0/groups')).status, 504)
})

t.test('replication lag: a new user is "not found" to its next n references, by count', async (t) => {
  const graph = await startSimulator(t)
  graph.sim.setReplicationLag(2)
  const guest = await inviteGuest(graph, 'lagging@partner.example')

  const first = await graph.request<GraphErrorJson>('GET', `/v1.0/users/${guest}`)
  t.equal(first.status, 404)
  t.match(first.body.error, { code: 'Request_ResourceNotFound', message: `Resource '${guest}' does not exist or one of its queried reference-property objects are not present.` })
  const add = await graph.request<GraphErrorJson>('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(guest) })
  t.equal(add.status, 400, 'a member reference (in the body) counts, as a 400')
  t.match(add.body.error, { code: 'Request_BadRequest', message: "One or more added object references don't exist for the following modified properties: 'members'." })
  t.equal((await graph.request('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(guest) })).status, 204)
  t.equal((await graph.request('GET', `/v1.0/users/${guest}`)).status, 200)

  const second = await inviteGuest(graph, 'lagging2@partner.example')
  const assign = await graph.request<GraphErrorJson>('POST', `/v1.0/servicePrincipals/${SEED.apps.jira.id}/appRoleAssignedTo`, {
    body: { principalId: second, resourceId: SEED.apps.jira.id, appRoleId: SEED.apps.jira.roles.user },
  })
  t.equal(assign.status, 400, 'a principal reference (in the body) counts, as a 400')
  t.match(assign.body.error, { code: 'Request_BadRequest', message: 'The source resource object or one of the objects being referenced do not exist.' })

  t.equal((await graph.request('GET', `/v1.0/users/${adele}`)).status, 200, 'seeded objects are not affected')
  graph.sim.setReplicationLag(0)
  const third = await inviteGuest(graph, 'fresh@partner.example')
  t.equal((await graph.request('GET', `/v1.0/users/${third}`)).status, 200)
})

t.test('reset returns to the seed and clears calls, faults and lag', async (t) => {
  const graph = await startSimulator(t)
  const { users, memberships } = graph.sim.state
  graph.sim.setReplicationLag(5)
  await inviteGuest(graph, 'temp@partner.example')
  await graph.request('DELETE', `/v1.0/users/${SEED.users.existingGuest.id}`)
  graph.sim.faults.inject({ path: '/groups', status: 500, times: Infinity })

  graph.sim.reset()
  t.equal(graph.sim.calls.length, 0)
  t.equal(graph.sim.state.invitations.length, 0)
  t.equal(users.size, 2, 'the same maps, reseeded')
  t.ok(memberships.get(SEED.groups.marketing)?.has(SEED.users.existingGuest.id))
  t.equal((await graph.request('GET', '/v1.0/groups')).status, 200)
  const guest = await inviteGuest(graph, 'after-reset@partner.example')
  t.equal((await graph.request('GET', `/v1.0/users/${guest}`)).status, 200)
})

t.test('tenantDomain names the guests\' user principal names', async (t) => {
  const app = await buildGraphSimulator({ tenantDomain: 'contoso.onmicrosoft.com' })
  t.teardown(() => app.close())
  const answer = await app.inject({
    method: 'POST',
    url: '/v1.0/invitations',
    headers: { authorization: 'Bearer x' },
    payload: { invitedUserEmailAddress: 'kim@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com' },
  })
  const user = app.simulator.state.users.get(answer.json<{ invitedUser: { id: string } }>().invitedUser.id)
  t.equal(user?.userPrincipalName, 'kim_partner.example#EXT#@contoso.onmicrosoft.com')
})

t.test('afterApply status: the write is applied, then Graph\'s error is answered instead of the success', async (t) => {
  const graph = await startSimulator(t)
  graph.sim.faults.inject({ method: 'POST', path: '/members/$ref', afterApply: { status: 504 } })
  const add = await graph.request<GraphErrorJson>('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(adele) })
  t.equal(add.status, 504)
  t.match(add.body.error, { code: 'GatewayTimeout', innerError: { 'request-id': UUID } })
  t.ok(graph.sim.state.memberships.get(SEED.groups.developers)?.has(adele), 'the member was added')
  t.same(graph.sim.calls.map((c) => c.status), [504])

  graph.sim.faults.inject({ method: 'POST', path: '/members/$ref', afterApply: { status: 500 } })
  const again = await graph.request('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(adele) })
  t.equal(again.status, 400, 'a request that fails on its own answers its own error')
  t.throws(() => graph.sim.faults.inject({ path: '/x', status: 500, afterApply: { status: 502 } }), RangeError)
})

t.test('afterApply hang: applied, never answered; the client gives up; closing does not wait for it', async (t) => {
  const app = await buildGraphSimulator()
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  let closed = false
  t.teardown(() => (closed ? undefined : app.close()))
  app.simulator.faults.inject({ method: 'POST', path: '/invitations', afterApply: { hang: true }, times: 2 })
  const invite = (email: string, signal?: AbortSignal) => fetch(`${origin}/v1.0/invitations`, {
    method: 'POST',
    headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
    body: JSON.stringify({ invitedUserEmailAddress: email, inviteRedirectUrl: 'https://myapps.microsoft.com' }),
    ...(signal ? { signal } : {}),
  })

  const giveUp = new AbortController()
  let recorded = once(app.simulator.events, 'call')
  const abandoned = invite('gave-up@partner.example', giveUp.signal)
  await recorded
  t.equal(app.simulator.state.invitations.length, 1, 'the invitation was applied')
  giveUp.abort()
  await t.rejects(abandoned, { name: 'AbortError' })

  recorded = once(app.simulator.events, 'call')
  const forever = invite('forever@partner.example').then(() => 'answered', () => 'connection closed')
  await recorded
  t.same(app.simulator.calls.map((c) => c.status), [0, 0], 'recorded, never answered')
  await app.close()
  closed = true
  t.equal(await forever, 'connection closed', 'close() dropped the held request instead of waiting for it')
})

t.test('GET /_simulator/state: the whole directory as JSON', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'state@partner.example')
  await graph.request('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(guest) })
  const state = await graph.request<DirectorySnapshot>('GET', '/_simulator/state', { anonymous: true })
  t.equal(state.status, 200)
  t.same(Object.keys(state.body).sort(), ['appRoleAssignments', 'groups', 'invitations', 'memberships', 'sentEmails', 'servicePrincipals', 'sponsors', 'users'])
  t.ok(state.body.users.some((u) => u.id === guest))
  t.ok(state.body.memberships[SEED.groups.developers]!.includes(guest))
  t.equal(state.body.invitations.length, 1)
  t.same(graph.sim.calls.filter((c) => c.path.startsWith('/_simulator')), [], 'not recorded as a Graph call')
})

t.test('mail-enabled security groups and distribution lists are read-only to the groups API; a group\'s app roles are listed under its members', async (t) => {
  // https://learn.microsoft.com/en-us/graph/api/resources/groups-overview: "Mail-enabled and
  // distribution groups are read-only". Before: the simulator let members be added and removed.
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'list.member@partner.example')
  const groups = [
    { id: '0d000000-0000-4000-8000-0000000000a1', displayName: 'Mail-enabled security', groupTypes: [], mailEnabled: true, securityEnabled: true },
    { id: '0d000000-0000-4000-8000-0000000000a2', displayName: 'Distribution list', groupTypes: [], mailEnabled: true, securityEnabled: false },
  ]
  for (const group of groups) {
    graph.sim.state.groups.set(group.id, { ...group, isAssignableToRole: false, mail: `${group.id}@contoso.example`, membershipRule: null })
    const add = await graph.request<GraphErrorJson>('POST', `/v1.0/groups/${group.id}/members/$ref`, { body: directoryObjectRef(guest) })
    t.equal(add.status, 400, `${group.displayName}: adding is refused`)
    t.match(add.body.error, { code: 'Request_BadRequest', message: 'Cannot Update a mail-enabled security groups and or distribution list.' })
    const remove = await graph.request<GraphErrorJson>('DELETE', `/v1.0/groups/${group.id}/members/${guest}/$ref`)
    t.equal(remove.status, 400, `${group.displayName}: removing is refused`)
  }
  const unified = '0d000000-0000-4000-8000-0000000000a3'
  graph.sim.state.groups.set(unified, { id: unified, displayName: 'Team', groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, isAssignableToRole: false, mail: 'team@contoso.example', membershipRule: null })
  t.equal((await graph.request('POST', `/v1.0/groups/${unified}/members/$ref`, { body: directoryObjectRef(guest) })).status, 204, 'a Microsoft 365 group is managed')

  // https://learn.microsoft.com/en-us/graph/api/user-list-approleassignments: "also returns app
  // roles assigned to groups that the user is a direct member of".
  const assigned = await graph.request<{ id: string; principalType: string }>('POST', `/v1.0/servicePrincipals/${SEED.apps.jira.id}/appRoleAssignedTo`, {
    body: { principalId: unified, resourceId: SEED.apps.jira.id, appRoleId: SEED.apps.jira.roles.user },
  })
  t.equal(assigned.status, 201)
  t.equal(assigned.body.principalType, 'Group')
  const listed = await graph.request<{ value: Array<{ id: string; principalId: string; principalType: string }> }>('GET', `/v1.0/users/${guest}/appRoleAssignments`)
  t.match(listed.body.value, [{ id: assigned.body.id, principalId: unified, principalType: 'Group' }])
})
