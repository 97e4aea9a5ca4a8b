import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createStaticCredential } from '../../src/graph/graph-credential.js'
import { type GraphCallContext, GraphRequestError, type InvitationRequest } from '../../src/graph/graph-gateway.js'
import type { RetryInfo, RetrySettings } from '../../src/graph/graph-middleware.js'
import { createMsGraphGateway, USER_FIELDS } from '../../src/graph/ms-graph-gateway.js'
import { buildGraphSimulator } from '../../src/graph/simulator/graph-simulator.js'
import { SEED } from '../../src/graph/simulator/seed.js'

const ctx: GraphCallContext = { correlationId: 'c0a1b2c3-0000-4000-8000-00000000abcd' }
const { groups, apps, users } = SEED
const docuSign = apps.docuSign

async function setup(t: Test, retry: RetrySettings = {}) {
  const sim = await buildGraphSimulator()
  await sim.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => sim.close())
  const { port } = sim.server.address() as AddressInfo
  const retries: RetryInfo[] = []
  const gateway = createMsGraphGateway({
    baseUrl: `http://127.0.0.1:${port}/v1.0`,
    credential: createStaticCredential('sandbox-graph-token'),
    retry: { maxRetries: 3, baseDelayMs: 2, maxDelayMs: 1_000, ...retry },
    onRetry: (info) => retries.push(info),
  })
  return { gateway, simulator: sim.simulator, retries }
}

/** The GraphRequestError a call fails with (the test fails when it succeeds or throws anything else). */
async function graphError(t: Test, call: Promise<unknown>): Promise<GraphRequestError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof GraphRequestError)) throw t.fail(`expected a GraphRequestError, got ${String(error)}`)
  return error
}

const invitation = (email: string, extra: Partial<InvitationRequest> = {}): InvitationRequest => ({
  invitedUserEmailAddress: email,
  inviteRedirectUrl: 'https://myapps.microsoft.com',
  sendInvitationMessage: false,
  ...extra,
})

t.test('every request carries client-request-id and Authorization, even over plain http', async (t) => {
  const { gateway, simulator } = await setup(t)
  await gateway.getUser(users.adele.id, ctx)
  await gateway.addGroupMember(groups.developers, users.adele.id, ctx)
  t.equal(simulator.calls.length, 2)
  for (const call of simulator.calls) {
    t.equal(call.clientRequestId, ctx.correlationId)
    t.equal(call.hasAuthorization, true)
  }
})

t.test('getUser maps exactly our fields and reports status and request-id', async (t) => {
  const { gateway, simulator } = await setup(t)
  const result = await gateway.getUser(users.existingGuest.id, ctx)
  t.same(result.value, {
    id: users.existingGuest.id,
    displayName: 'Existing Guest',
    mail: 'existing@fabrikam.example',
    userPrincipalName: 'existing_fabrikam.example#EXT#@sandbox.onmicrosoft.com',
    userType: 'Guest',
    creationType: 'Invitation',
    createdDateTime: '2024-01-15T09:00:00Z',
    externalUserState: 'Accepted',
    externalUserStateChangeDateTime: '2024-01-16T10:30:00Z',
  })
  t.equal(result.status, 200)
  t.type(result.requestId, 'string')
  const [call] = simulator.calls
  t.equal(call?.path, `/v1.0/users/${users.existingGuest.id}`)
  t.equal(new URLSearchParams(call?.query).get('$select'), USER_FIELDS)

  const adele = await gateway.getUser(users.adele.id, ctx)
  t.equal(adele.value.externalUserState, null, 'absent fields are null')
  t.equal(adele.value.userType, 'Member')
})

t.test('404 and 403 become GraphRequestError with Graph code, message and request-id', async (t) => {
  const { gateway, simulator } = await setup(t)
  const missing = 'f0000000-0000-4000-8000-0000000000ff'
  const notFound = await graphError(t, gateway.getUser(missing, ctx))
  t.equal(notFound.status, 404)
  t.equal(notFound.code, 'Request_ResourceNotFound')
  t.match(notFound.graphMessage, missing)
  t.type(notFound.requestId, 'string')
  t.equal(notFound.retryAfterSeconds, undefined)

  simulator.faults.inject({ method: 'GET', path: '/groups', status: 403 })
  const denied = await graphError(t, gateway.getGroup(groups.developers, ctx))
  t.equal(denied.status, 403)
  t.equal(denied.code, 'Authorization_RequestDenied')
  t.equal(denied.graphMessage, 'Insufficient privileges to complete the operation.')
  t.notMatch(denied.message, 'sandbox-graph-token')

  // The simulator refuses a role-assignable group: the same 403 from Graph's own rules.
  const refused = await graphError(t, gateway.addGroupMember(groups.financeAdmins, users.existingGuest.id, ctx))
  t.equal(refused.status, 403)
})

t.test('findUsersByEmail matches mail and userPrincipalName and quotes the address', async (t) => {
  const { gateway, simulator } = await setup(t)
  const byMail = await gateway.findUsersByEmail('Existing@Fabrikam.example', ctx)
  t.same(byMail.value.map((u) => u.id), [users.existingGuest.id])
  const byUpn = await gateway.findUsersByEmail(users.existingGuest.userPrincipalName, ctx)
  t.same(byUpn.value.map((u) => u.id), [users.existingGuest.id])
  const quoted = await gateway.findUsersByEmail("o'brien@partner.example", ctx)
  t.same(quoted.value, [])
  const filter = new URLSearchParams(simulator.calls.at(-1)?.query).get('$filter')
  t.equal(
    filter,
    "mail eq 'o''brien@partner.example' or otherMails/any(x:x eq 'o''brien@partner.example') or userPrincipalName eq 'o''brien@partner.example'",
  )
})

t.test('invite creates a guest; resend re-invites the same user', async (t) => {
  const { gateway } = await setup(t)
  const first = await gateway.invite(
    invitation('new.partner@partner.example', { invitedUserDisplayName: 'New Partner', customizedMessageBody: 'Welcome' }),
    ctx,
  )
  t.equal(first.status, 201)
  t.equal(first.value.invitedUserEmailAddress, 'new.partner@partner.example')
  t.equal(first.value.invitedUserDisplayName, 'New Partner')
  t.equal(first.value.invitedUserType, 'Guest')
  t.equal(first.value.status, 'PendingAcceptance')
  t.match(first.value.inviteRedeemUrl, /^https:\/\//)
  t.same(Object.keys(first.value).sort(), [
    'id',
    'inviteRedeemUrl',
    'inviteRedirectUrl',
    'invitedUserDisplayName',
    'invitedUserEmailAddress',
    'invitedUserId',
    'invitedUserType',
    'status',
  ])
  const guest = await gateway.getUser(first.value.invitedUserId, ctx)
  t.equal(guest.value.userType, 'Guest')
  t.equal(guest.value.externalUserState, 'PendingAcceptance')

  const resend = await gateway.invite(
    invitation('new.partner@partner.example', { sendInvitationMessage: true, invitedUserId: first.value.invitedUserId, resetRedemption: true }),
    ctx,
  )
  t.equal(resend.value.invitedUserId, first.value.invitedUserId)

  const bad = await graphError(t, gateway.invite(invitation('a+b@partner.example'), ctx))
  t.equal(bad.status, 400)
  t.equal(bad.graphMessage, 'The Primary SMTP Address is an invalid value')
})

t.test('invite retries the "Unable to find target address" 500 once', async (t) => {
  const { gateway, simulator } = await setup(t)
  const transient = { method: 'POST', path: '/invitations', status: 500, code: 'UnknownError', message: 'Unable to find target address' }
  simulator.faults.inject({ ...transient, times: 1 })
  const result = await gateway.invite(invitation('once@partner.example'), ctx)
  t.equal(result.status, 201)
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 2)

  simulator.calls.length = 0
  simulator.faults.inject({ ...transient, times: 2 })
  const error = await graphError(t, gateway.invite(invitation('twice@partner.example'), ctx))
  t.equal(error.status, 500)
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 2, 'only once more')

  simulator.calls.length = 0
  simulator.faults.inject({ method: 'POST', path: '/invitations', status: 500 })
  await graphError(t, gateway.invite(invitation('other@partner.example'), ctx))
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 1, 'other 500s are not retried')
})

t.test('listGuests filters, searches and pages with an opaque token', async (t) => {
  const { gateway, simulator } = await setup(t)
  for (const name of ['ann', 'bob', 'cy']) await gateway.invite(invitation(`${name}@partner.example`), ctx)

  const all = await gateway.listGuests({ top: 999 }, ctx)
  t.same(all.value.items.map((u) => u.mail).sort(), ['ann@partner.example', 'bob@partner.example', 'cy@partner.example', 'existing@fabrikam.example'])
  t.equal(all.value.nextPageToken, undefined)

  const seen: string[] = []
  let pageToken: string | undefined
  let pages = 0
  do {
    const page = await gateway.listGuests({ top: 2, domain: 'partner.example', ...(pageToken ? { pageToken } : {}) }, ctx)
    t.equal(page.status, 200)
    seen.push(...page.value.items.map((u) => u.mail ?? ''))
    pageToken = page.value.nextPageToken
    pages++
  } while (pageToken)
  t.equal(pages, 2)
  t.same(seen.sort(), ['ann@partner.example', 'bob@partner.example', 'cy@partner.example'])
  const lastQuery = new URLSearchParams(simulator.calls.at(-1)?.query)
  t.equal(lastQuery.get('$filter'), "userType eq 'Guest' and endswith(mail,'@partner.example')")
  t.equal(lastQuery.get('$count'), 'true')
  t.equal(lastQuery.get('$top'), '2')
  t.ok(lastQuery.get('$skiptoken'), 'the second page asks for the skiptoken')

  const accepted = await gateway.listGuests({ top: 10, state: 'Accepted' }, ctx)
  t.same(accepted.value.items.map((u) => u.id), [users.existingGuest.id])

  const searched = await gateway.listGuests({ top: 10, search: 'BOB' }, ctx)
  t.same(searched.value.items.map((u) => u.mail), ['bob@partner.example'])
  t.equal(new URLSearchParams(simulator.calls.at(-1)?.query).get('$search'), '"displayName:BOB" OR "mail:BOB"')
})

t.test('groups: read, list, search, members and memberOf', async (t) => {
  const { gateway } = await setup(t)
  const dynamic = await gateway.getGroup(groups.allPartners, ctx)
  t.same(dynamic.value, {
    id: groups.allPartners,
    displayName: 'All Partners',
    description: null,
    isAssignableToRole: false,
    groupTypes: ['DynamicMembership'],
    membershipRule: '(user.userType -eq "Guest")',
    isDynamic: true,
  })
  t.equal((await gateway.getGroup(groups.financeAdmins, ctx)).value.isAssignableToRole, true)

  const firstPage = await gateway.listGroups({ top: 3 }, ctx)
  t.equal(firstPage.value.items.length, 3)
  t.type(firstPage.value.nextPageToken, 'string')
  const secondPage = await gateway.listGroups({ top: 3, pageToken: firstPage.value.nextPageToken as string }, ctx)
  t.equal(secondPage.value.items.length, 1)
  t.equal(secondPage.value.nextPageToken, undefined)

  const found = await gateway.listGroups({ top: 10, search: 'dev' }, ctx)
  t.same(found.value.items.map((g) => g.displayName), ['Developers'])

  await gateway.addGroupMember(groups.marketing, users.adele.id, ctx)
  const members = await gateway.listGroupMembers(groups.marketing, { top: 10 }, ctx)
  t.same(members.value.items.map((u) => u.id).sort(), [users.adele.id, users.existingGuest.id].sort())
  const guests = await gateway.listGroupMembers(groups.marketing, { top: 10, guestsOnly: true }, ctx)
  t.same(guests.value.items.map((u) => u.id), [users.existingGuest.id])

  const memberOf = await gateway.listUserGroups(users.existingGuest.id, ctx)
  t.same(memberOf.value.map((g) => g.displayName), ['Marketing'])
})

t.test('service principals: read, list and search', async (t) => {
  const { gateway } = await setup(t)
  const sp = await gateway.getServicePrincipal(docuSign.id, ctx)
  t.equal(sp.value.appId, docuSign.appId)
  t.equal(sp.value.displayName, 'DocuSign')
  t.equal(sp.value.appRoles.length, 5)
  t.same(
    sp.value.appRoles.find((r) => r.id === docuSign.roles.legacy),
    {
      id: docuSign.roles.legacy,
      value: 'DocuSign.Legacy',
      displayName: 'DocuSign Legacy',
      description: 'DocuSign Legacy role.',
      isEnabled: false,
      allowedMemberTypes: ['User'],
    },
  )
  const all = await gateway.listServicePrincipals({ top: 10 }, ctx)
  t.equal(all.value.items.length, 4)
  const found = await gateway.listServicePrincipals({ top: 10, search: 'jira' }, ctx)
  t.same(found.value.items.map((s) => s.id), [apps.jira.id])
})

t.test('group membership changes are idempotent', async (t) => {
  const { gateway, simulator } = await setup(t)
  const added = await gateway.addGroupMember(groups.developers, users.existingGuest.id, ctx)
  t.same(added.value, { changed: true, value: undefined })
  t.equal(added.status, 204)
  const again = await gateway.addGroupMember(groups.developers, users.existingGuest.id, ctx)
  t.same(again.value, { changed: false, value: undefined })
  t.equal(again.status, 400)
  t.type(again.requestId, 'string')

  const removed = await gateway.removeGroupMember(groups.developers, users.existingGuest.id, ctx)
  t.same(removed.value, { changed: true, value: undefined })
  const removedAgain = await gateway.removeGroupMember(groups.developers, users.existingGuest.id, ctx)
  t.same(removedAgain.value, { changed: false, value: undefined })
  t.equal(simulator.callsTo('DELETE', /\/members\/[^/]+\/\$ref$/).length, 2, 'removal always goes through /$ref')

  const goneUser = await gateway.removeGroupMember(groups.developers, 'f0000000-0000-4000-8000-0000000000ff', ctx)
  t.same(goneUser.value, { changed: false, value: undefined }, 'a user that does not exist is not a member')
  const missingGroup = await graphError(t, gateway.removeGroupMember('d0000000-0000-4000-8000-0000000000ff', users.existingGuest.id, ctx))
  t.equal(missingGroup.status, 404, 'a missing group is still an error')
  const dynamic = await graphError(t, gateway.addGroupMember(groups.allPartners, users.existingGuest.id, ctx))
  t.equal(dynamic.status, 400, 'other 400s are errors')
})

t.test('app role assignments: duplicate returns the existing one, removal is idempotent', async (t) => {
  const { gateway } = await setup(t)
  const input = { principalId: users.existingGuest.id, appRoleId: docuSign.roles.sender }
  const created = await gateway.assignAppRole(docuSign.id, input, ctx)
  t.equal(created.status, 201)
  t.equal(created.value.changed, true)
  t.match(created.value.value, {
    appRoleId: docuSign.roles.sender,
    principalId: users.existingGuest.id,
    principalType: 'User',
    principalDisplayName: 'Existing Guest',
    resourceId: docuSign.id,
    resourceDisplayName: 'DocuSign',
  })

  const duplicate = await gateway.assignAppRole(docuSign.id, input, ctx)
  t.equal(duplicate.value.changed, false)
  t.same(duplicate.value.value, created.value.value)

  const byPrincipal = await gateway.listAppRoleAssignedTo(docuSign.id, { principalId: users.existingGuest.id }, ctx)
  t.same(byPrincipal.value, [created.value.value])
  t.same((await gateway.listAppRoleAssignedTo(docuSign.id, { principalId: users.adele.id }, ctx)).value, [])
  t.same((await gateway.listUserAppRoleAssignments(users.existingGuest.id, ctx)).value, [created.value.value])

  const disabled = await graphError(t, gateway.assignAppRole(docuSign.id, { ...input, appRoleId: docuSign.roles.legacy }, ctx))
  t.equal(disabled.status, 400, 'other 400s are errors')

  const removed = await gateway.removeAppRoleAssignment(docuSign.id, created.value.value.id, ctx)
  t.same(removed.value, { changed: true, value: undefined })
  t.equal(removed.status, 204)
  const removedAgain = await gateway.removeAppRoleAssignment(docuSign.id, created.value.value.id, ctx)
  t.same(removedAgain.value, { changed: false, value: undefined })
  t.equal(removedAgain.status, 404)
})

t.test('deleteUser deletes, and a missing user is a 404 error', async (t) => {
  const { gateway } = await setup(t)
  const invited = await gateway.invite(invitation('leaving@partner.example'), ctx)
  const deleted = await gateway.deleteUser(invited.value.invitedUserId, ctx)
  t.same(deleted.value, { changed: true, value: undefined })
  t.equal(deleted.status, 204)
  const again = await graphError(t, gateway.deleteUser(invited.value.invitedUserId, ctx))
  t.equal(again.status, 404)
})

t.test('429 with a decimal Retry-After is waited out and retried', async (t) => {
  const { gateway, simulator, retries } = await setup(t)
  simulator.faults.inject({ method: 'GET', path: '/groups', status: 429, retryAfter: 0.05, times: 1 })
  const result = await gateway.getGroup(groups.developers, ctx)
  t.equal(result.status, 200)
  const calls = simulator.callsTo('GET', /\/groups\//)
  t.same(calls.map((c) => c.status), [429, 200])
  t.ok((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0) >= 45, 'the second call came after the Retry-After')
  t.same(retries, [{ status: 429, attempt: 1, delayMs: 50 }])
})

t.test('503 forever fails after exactly maxRetries + 1 calls', async (t) => {
  const { gateway, simulator, retries } = await setup(t, { maxRetries: 2 })
  simulator.faults.inject({ path: '/users', status: 503, times: Infinity })
  const error = await graphError(t, gateway.getUser(users.adele.id, ctx))
  t.equal(error.status, 503)
  t.equal(error.code, 'serviceNotAvailable')
  t.equal(simulator.calls.length, 3)
  t.same(retries.map((r) => r.attempt), [1, 2])
})

t.test('a Retry-After above maxDelayMs fails at once and carries retryAfterSeconds', async (t) => {
  const { gateway, simulator, retries } = await setup(t, { maxDelayMs: 1_000 })
  simulator.faults.inject({ path: '/invitations', status: 429, retryAfter: 30, times: Infinity })
  const error = await graphError(t, gateway.invite(invitation('later@partner.example'), ctx))
  t.equal(error.status, 429)
  t.equal(error.code, 'TooManyRequests')
  t.equal(error.retryAfterSeconds, 30)
  t.equal(simulator.calls.length, 1)
  t.same(retries, [])
})

t.test('ids are encoded into the path, never interpreted', async (t) => {
  const { gateway, simulator } = await setup(t)
  const error = await graphError(t, gateway.getUser(`${users.adele.id}/memberOf`, ctx))
  t.equal(error.status, 400, 'one odd id, not the memberOf collection')
  t.equal(simulator.calls[0]?.path, `/v1.0/users/${users.adele.id}%2FmemberOf`)
  await t.rejects(gateway.getUser('..', ctx), RangeError)
  await t.rejects(gateway.deleteUser('', ctx), RangeError)
  t.equal(simulator.calls.length, 1, 'dot segments and empty ids are never sent')
})

t.test('no Graph at all: status 0 NetworkError', async (t) => {
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const { port } = closed.address() as AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const gateway = createMsGraphGateway({ baseUrl: `http://127.0.0.1:${port}/v1.0`, credential: createStaticCredential('t') })
  const error = await graphError(t, gateway.getUser(users.adele.id, ctx))
  t.equal(error.status, 0)
  t.equal(error.code, 'NetworkError')
})
