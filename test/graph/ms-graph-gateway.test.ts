import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createStaticCredential } from '../../src/graph/graph-credential.js'
import {
  type GraphCallContext,
  GraphRequestError,
  InvalidPageTokenError,
  type InvitationRequest,
  isAmbiguousFailure,
  isNotYetReplicated,
  RESET_ADDRESS_MISMATCH,
  resetRedemptionAddressProblem,
} from '../../src/graph/graph-gateway.js'
import type { RetryInfo, RetrySettings } from '../../src/graph/graph-middleware.js'
import { createMsGraphGateway, USER_FIELDS } from '../../src/graph/ms-graph-gateway.js'
import { buildGraphSimulator } from '../../src/graph/simulator/graph-simulator.js'
import { SEED } from '../../src/graph/simulator/seed.js'

const ctx: GraphCallContext = { correlationId: 'c0a1b2c3-0000-4000-8000-00000000abcd' }
const { groups, apps, users } = SEED
const docuSign = apps.docuSign

async function setup(t: Test, retry: RetrySettings = {}, timeoutMs?: number) {
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
    ...(timeoutMs ? { timeoutMs } : {}),
  })
  return { gateway, simulator: sim.simulator, retries }
}

/** The GraphRequestError a call fails with (the test fails when it succeeds or throws anything else). */
async function graphError(t: Test, call: Promise<unknown>): Promise<GraphRequestError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof GraphRequestError)) {
    const message = `expected a GraphRequestError, got ${String(error)}`
    t.fail(message)
    throw new Error(message)
  }
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
    otherMails: [],
    accountEnabled: true,
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
    "mail eq 'o''brien@partner.example' or otherMails/any(x:x eq 'o''brien@partner.example') or proxyAddresses/any(x:x eq 'smtp:o''brien@partner.example') or userPrincipalName eq 'o''brien@partner.example'",
  )
})

t.test('findUsersByEmail finds a user by a proxy address only, whatever its case', async (t) => {
  const { gateway, simulator } = await setup(t)
  // An Exchange alias: on the user only as a secondary proxy address (lower-case smtp:).
  simulator.state.users.get(users.existingGuest.id)?.proxyAddresses.push('smtp:Alias.Name@Fabrikam.example')
  const found = await gateway.findUsersByEmail('alias.name@fabrikam.example', ctx)
  t.same(found.value.map((u) => u.id), [users.existingGuest.id])
  t.same((await gateway.findUsersByEmail('nobody@fabrikam.example', ctx)).value, [])
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

  // Resend: the same address again; Graph finds the guest by it. No invitedUser in the body.
  const resend = await gateway.invite(invitation('new.partner@partner.example', { sendInvitationMessage: true }), ctx)
  t.equal(resend.value.invitedUserId, first.value.invitedUserId)

  const bad = await graphError(t, gateway.invite(invitation('a+b@partner.example'), ctx))
  t.equal(bad.status, 400)
  t.equal(bad.graphMessage, 'The Primary SMTP Address is an invalid value')
})

t.test('resetRedemption: same user, back to pending, with an address the user has; Graph\'s 400 otherwise', async (t) => {
  const { gateway, simulator } = await setup(t)
  const guestId = users.existingGuest.id
  simulator.state.users.get(guestId)?.otherMails.push('existing.new@fabrikam.example')
  const user = (await gateway.getUser(guestId, ctx)).value
  t.same(user.otherMails, ['existing.new@fabrikam.example'])
  t.equal(resetRedemptionAddressProblem(user, 'EXISTING.NEW@fabrikam.example'), null)
  t.equal(resetRedemptionAddressProblem(user, 'other@fabrikam.example'), RESET_ADDRESS_MISMATCH)

  simulator.calls.length = 0
  const reset = await gateway.resetRedemption({
    invitedUserId: guestId, invitedUserEmailAddress: 'existing.new@fabrikam.example', inviteRedirectUrl: 'https://myapps.microsoft.com', sendInvitationMessage: true,
  }, ctx)
  t.equal(reset.status, 201)
  t.equal(reset.value.invitedUserId, guestId)
  t.equal((await gateway.getUser(guestId, ctx)).value.externalUserState, 'PendingAcceptance')
  t.same((await gateway.listUserGroups(guestId, ctx)).value.map((g) => g.displayName), ['Marketing', 'All Partners'], 'memberships kept')

  const refused = await graphError(t, gateway.resetRedemption({
    invitedUserId: guestId, invitedUserEmailAddress: 'other@fabrikam.example', inviteRedirectUrl: 'https://myapps.microsoft.com', sendInvitationMessage: false,
  }, ctx))
  t.equal(refused.status, 400)
  t.equal(refused.graphMessage, RESET_ADDRESS_MISMATCH, 'the reason guestgate can show is Graph\'s own')
})

t.test('a 500 on POST /invitations is not sent again: the guest may exist, the caller settles by reading', async (t) => {
  const { gateway, simulator, retries } = await setup(t)
  simulator.faults.inject({ method: 'POST', path: '/invitations', afterApply: { status: 500 } })
  const error = await graphError(t, gateway.invite(invitation('once@partner.example'), ctx))
  t.equal(error.status, 500)
  t.equal(isAmbiguousFailure(error), true)
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 1, 'sent exactly once')
  t.same(retries, [])
  const found = await gateway.findUsersByEmail('once@partner.example', ctx)
  t.equal(found.value.length, 1, 'the read settles it: Graph did create the guest')
})

t.test('writes: a 504 is sent exactly once; a 429 then 201 is sent twice', async (t) => {
  const { gateway, simulator, retries } = await setup(t)
  simulator.faults.inject({ method: 'POST', path: '/members/$ref', status: 504 })
  const timedOut = await graphError(t, gateway.addGroupMember(groups.developers, users.existingGuest.id, ctx))
  t.equal(timedOut.status, 504)
  t.equal(isAmbiguousFailure(timedOut), true)
  t.same(simulator.callsTo('POST', /\/members\/\$ref$/).map((c) => c.status), [504], 'one call')
  t.same(retries, [])

  simulator.faults.inject({ method: 'POST', path: '/invitations', status: 429, retryAfter: 0.01 })
  const invited = await gateway.invite(invitation('throttled@partner.example'), ctx)
  t.equal(invited.status, 201)
  t.same(simulator.callsTo('POST', /\/invitations$/).map((c) => c.status), [429, 201], 'two calls: throttled, then created')
  t.same(retries.map((r) => r.status), [429])
})

t.test('reads: a GET that gets 504 then 200 is sent twice', async (t) => {
  const { gateway, simulator, retries } = await setup(t)
  simulator.faults.inject({ method: 'GET', path: '/groups/', status: 504 })
  const group = await gateway.getGroup(groups.developers, ctx)
  t.equal(group.status, 200)
  t.same(simulator.callsTo('GET', /\/groups\//).map((c) => c.status), [504, 200])
  t.same(retries.map((r) => r.status), [504])
})

t.test('a write whose answer never comes: Timeout after the deadline, applied at Graph, settled by reading', async (t) => {
  const { gateway, simulator } = await setup(t, {}, 300)
  simulator.faults.inject({ method: 'POST', path: '/members/$ref', afterApply: { hang: true } })
  const error = await graphError(t, gateway.addGroupMember(groups.developers, users.existingGuest.id, ctx))
  t.equal(error.status, 0)
  t.equal(error.code, 'Timeout')
  t.equal(isAmbiguousFailure(error), true)
  t.equal(simulator.callsTo('POST', /\/members\/\$ref$/).length, 1, 'sent once')
  t.equal((await gateway.isGroupMember(groups.developers, users.existingGuest.id, ctx)).value, true, 'the membership exists')
})

t.test('afterApply 502/504: the write is applied, the answer is an error, the settle read tells', async (t) => {
  const { gateway, simulator } = await setup(t)
  const { value: created } = await gateway.assignAppRole(docuSign.id, { principalId: users.existingGuest.id, appRoleId: docuSign.roles.viewer }, ctx)
  simulator.faults.inject({ method: 'DELETE', path: '/appRoleAssignedTo/', afterApply: { status: 502 } })
  const error = await graphError(t, gateway.removeAppRoleAssignment(docuSign.id, created.value.id, ctx))
  t.equal(error.status, 502)
  t.equal(isAmbiguousFailure(error), true)
  t.equal((await gateway.getAppRoleAssignment(docuSign.id, created.value.id, ctx)).value, null, 'the assignment is gone')

  simulator.faults.inject({ method: 'DELETE', path: '/members/', afterApply: { status: 504 } })
  await graphError(t, gateway.removeGroupMember(groups.marketing, users.existingGuest.id, ctx))
  t.equal((await gateway.isGroupMember(groups.marketing, users.existingGuest.id, ctx)).value, false, 'the membership is gone')
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

  // The token is Graph's nextLink, and the next request is that link exactly as given.
  const first = await gateway.listGuests({ top: 2, domain: 'partner.example' }, ctx)
  const link = first.value.nextPageToken as string
  t.match(link, /^http:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\?.*\$skiptoken=/)
  await gateway.listGuests({ top: 2, domain: 'partner.example', pageToken: link }, ctx)
  const followed = simulator.calls.at(-1)
  t.equal(`${followed?.path}?${followed?.query}`, link.slice(link.indexOf('/v1.0/')), 'path and query as Graph wrote them')

  // A token that leads anywhere else is refused before any request: our token never leaves.
  const before = simulator.calls.length
  for (const forged of ['https://evil.example/v1.0/users?$skiptoken=x', link.replace('/v1.0/', '/beta/'), 'not a url', link.replace('http://', 'https://')]) {
    await t.rejects(gateway.listGuests({ top: 2, pageToken: forged }, ctx), InvalidPageTokenError, forged)
  }
  t.equal(simulator.calls.length, before, 'nothing was sent')

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
    mailEnabled: false,
    securityEnabled: true,
  })
  t.equal((await gateway.getGroup(groups.financeAdmins, ctx)).value.isAssignableToRole, true)

  const firstPage = await gateway.listGroups({ top: 3 }, ctx)
  t.equal(firstPage.value.items.length, 3)
  t.type(firstPage.value.nextPageToken, 'string')
  const secondPage = await gateway.listGroups({ top: 3, pageToken: firstPage.value.nextPageToken }, ctx)
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
  t.same(memberOf.value.map((g) => [g.displayName, g.isDynamic]), [['Marketing', false], ['All Partners', true]], 'a guest is in the dynamic All Partners too')
  const refused = await graphError(t, gateway.removeGroupMember(groups.allPartners, users.existingGuest.id, ctx))
  t.equal(refused.status, 400, 'and Graph refuses to remove it: the caller must keep it, not report a failure')
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

t.test('settle reads: isGroupMember reads the guest\'s direct groups, never the group\'s members', async (t) => {
  const { gateway, simulator } = await setup(t)
  t.equal((await gateway.isGroupMember(groups.marketing, users.existingGuest.id, ctx)).value, true)
  t.equal((await gateway.isGroupMember(groups.developers.toUpperCase(), users.existingGuest.id, ctx)).value, false)
  await gateway.addGroupMember(groups.developers, users.existingGuest.id, ctx)
  t.equal((await gateway.isGroupMember(groups.developers.toUpperCase(), users.existingGuest.id, ctx)).value, true, 'ids compare without case')
  t.same(simulator.callsTo('GET', /\/members/), [], 'no member list was read')
  const reads = simulator.callsTo('GET', /\/memberOf/)
  t.ok(reads.length > 0 && reads.every((c) => c.path === `/v1.0/users/${users.existingGuest.id}/memberOf/microsoft.graph.group`))
  const missing = await graphError(t, gateway.isGroupMember(groups.developers, 'f0000000-0000-4000-8000-0000000000ff', ctx))
  t.equal(missing.status, 404, 'a missing user is an error, not "not a member"')
})

t.test('settle reads: assignments by principal and resource; one assignment by id without listing the app', async (t) => {
  const { gateway, simulator } = await setup(t)
  const { value: sender } = await gateway.assignAppRole(docuSign.id, { principalId: users.existingGuest.id, appRoleId: docuSign.roles.sender }, ctx)
  await gateway.assignAppRole(apps.jira.id, { principalId: users.existingGuest.id, appRoleId: apps.jira.roles.user }, ctx)
  await gateway.assignAppRole(docuSign.id, { principalId: users.adele.id, appRoleId: docuSign.roles.sender }, ctx)

  const onDocuSign = await gateway.listUserAppRoleAssignmentsOn(users.existingGuest.id, docuSign.id, ctx)
  t.same(onDocuSign.value, [sender.value])
  t.equal(new URLSearchParams(simulator.calls.at(-1)?.query).get('$filter'), `resourceId eq ${docuSign.id}`)
  await t.rejects(gateway.listUserAppRoleAssignmentsOn(users.existingGuest.id, "x' or 1 eq 1", ctx), RangeError)

  simulator.calls.length = 0
  t.same((await gateway.getAppRoleAssignment(docuSign.id, sender.value.id, ctx)).value, sender.value)
  t.same(simulator.calls.map((c) => c.path), [`/v1.0/users/${users.existingGuest.id}/appRoleAssignments`], 'read through the principal the id names')
  await gateway.removeAppRoleAssignment(docuSign.id, sender.value.id, ctx)
  t.equal((await gateway.getAppRoleAssignment(docuSign.id, sender.value.id, ctx)).value, null, 'null once removed')
  t.same(simulator.callsTo('GET', /\/appRoleAssignedTo$/), [], 'the app\'s assignments were never listed')

  // An id that does not name a principal: read by key instead.
  simulator.calls.length = 0
  t.equal((await gateway.getAppRoleAssignment(docuSign.id, 'not-an-assignment-id', ctx)).value, null)
  t.same(simulator.calls.map((c) => [c.path, c.status]), [[`/v1.0/servicePrincipals/${docuSign.id}/appRoleAssignedTo/not-an-assignment-id`, 404]])
  const { value: viewer } = await gateway.assignAppRole(docuSign.id, { principalId: users.existingGuest.id, appRoleId: docuSign.roles.viewer }, ctx)
  // The principal the id names is deleted: the read by key answers (404, so null).
  await gateway.deleteUser(users.existingGuest.id, ctx)
  t.equal((await gateway.getAppRoleAssignment(docuSign.id, viewer.value.id, ctx)).value, null)
})

t.test('assignAppRole\'s duplicate answer is settled through the principal, not the whole app', async (t) => {
  const { gateway, simulator } = await setup(t)
  const input = { principalId: users.existingGuest.id, appRoleId: docuSign.roles.sender }
  const created = await gateway.assignAppRole(docuSign.id, input, ctx)
  simulator.calls.length = 0
  const duplicate = await gateway.assignAppRole(docuSign.id, input, ctx)
  t.same(duplicate.value, { changed: false, value: created.value.value })
  t.same(simulator.calls.map((c) => `${c.method} ${c.path}`), [
    `POST /v1.0/servicePrincipals/${docuSign.id}/appRoleAssignedTo`,
    `GET /v1.0/users/${users.existingGuest.id}/appRoleAssignments`,
  ])
})

t.test('not yet replicated: 400 for a body reference, 404 for a path reference, both recognised', async (t) => {
  const { gateway, simulator } = await setup(t)
  simulator.setReplicationLag(1)
  const { value: first } = await gateway.invite(invitation('lagging@partner.example'), ctx)
  const added = await graphError(t, gateway.addGroupMember(groups.developers, first.invitedUserId, ctx))
  t.equal(added.status, 400)
  t.equal(added.code, 'Request_BadRequest')
  t.match(added.graphMessage, /don't exist/)
  t.equal(isNotYetReplicated(added), true)
  t.equal((await gateway.addGroupMember(groups.developers, first.invitedUserId, ctx)).value.changed, true, 'replicated now')

  const { value: second } = await gateway.invite(invitation('lagging2@partner.example'), ctx)
  const assigned = await graphError(t, gateway.assignAppRole(docuSign.id, { principalId: second.invitedUserId, appRoleId: docuSign.roles.sender }, ctx))
  t.equal(assigned.status, 400)
  t.equal(isNotYetReplicated(assigned), true)

  const { value: third } = await gateway.invite(invitation('lagging3@partner.example'), ctx)
  const read = await graphError(t, gateway.getUser(third.invitedUserId, ctx))
  t.equal(read.status, 404)
  t.equal(read.code, 'Request_ResourceNotFound')
  t.equal(isNotYetReplicated(read), true)
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

t.test('no Graph at all: status 0 ConnectionFailed, not ambiguous', async (t) => {
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const { port } = closed.address() as AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const gateway = createMsGraphGateway({ baseUrl: `http://127.0.0.1:${port}/v1.0`, credential: createStaticCredential('t') })
  const error = await graphError(t, gateway.deleteUser(users.adele.id, ctx))
  t.equal(error.status, 0)
  t.equal(error.code, 'ConnectionFailed')
  t.equal(isAmbiguousFailure(error), false, 'the request never left')
})
