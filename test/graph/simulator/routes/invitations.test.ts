import t from 'tap'
import { SEED } from '../../../../src/graph/simulator/seed.js'
import type { DirectorySnapshot } from '../../../../src/graph/simulator/state.js'
import { startSimulator, type GraphErrorJson } from '../simulator-client.js'

const REDIRECT = 'https://myapps.microsoft.com'

/** Graph's invitation, as far as these tests read it. */
interface InvitationJson {
  id: string
  invitedUser: { id: string }
  invitedUserDisplayName: string | null
  sendInvitationMessage: boolean
  resetRedemption: boolean
  inviteRedeemUrl: string
  invitedUserMessageInfo: { customizedMessageBody: string | null }
}

t.test('an invitation creates a pending guest and answers 201 with the invitation', async (t) => {
  const graph = await startSimulator(t)
  const answer = await graph.request<InvitationJson>('POST', '/v1.0/invitations', {
    body: {
      invitedUserEmailAddress: 'Jane.Doe@partner.example',
      inviteRedirectUrl: REDIRECT,
      invitedUserDisplayName: 'Jane Doe',
      sendInvitationMessage: true,
      invitedUserMessageInfo: { customizedMessageBody: 'Welcome', ccRecipients: [{ emailAddress: { address: 'boss@partner.example' } }] },
      invitedUserType: 'Guest',
    },
  })
  t.equal(answer.status, 201)
  const invitation = answer.body
  t.match(invitation, {
    id: /^[0-9a-f-]{36}$/,
    inviteRedeemUrl: /^https:\/\/login\.microsoftonline\.com\/redeem\?rd=https%3A%2F%2F/,
    invitedUserEmailAddress: 'Jane.Doe@partner.example',
    invitedUserDisplayName: 'Jane Doe',
    invitedUserType: 'Guest',
    sendInvitationMessage: true,
    inviteRedirectUrl: REDIRECT,
    status: 'PendingAcceptance',
    resetRedemption: false,
    invitedUserMessageInfo: {
      customizedMessageBody: 'Welcome',
      messageLanguage: null,
      ccRecipients: [{ emailAddress: { address: 'boss@partner.example', name: null } }],
    },
  })

  const user = graph.sim.state.users.get(invitation.invitedUser.id)
  t.match(user, {
    displayName: 'Jane Doe',
    mail: 'Jane.Doe@partner.example',
    otherMails: [],
    userPrincipalName: 'Jane.Doe_partner.example#EXT#@sandbox.onmicrosoft.com',
    userType: 'Guest',
    creationType: 'Invitation',
    externalUserState: 'PendingAcceptance',
    externalUserStateChangeDateTime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    createdDateTime: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
  })
  t.equal(graph.sim.state.invitations.length, 1)
})

t.test('without a display name the guest is named after the local part', async (t) => {
  const graph = await startSimulator(t)
  const answer = await graph.request<InvitationJson>('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'kim@partner.example', inviteRedirectUrl: REDIRECT } })
  t.equal(answer.body.invitedUserDisplayName, null, 'the invitation echoes what was sent')
  t.equal(answer.body.sendInvitationMessage, false)
  t.equal(graph.sim.state.users.get(answer.body.invitedUser.id)?.displayName, 'kim')
})

t.test('inviting an address that already has a user re-invites that user', async (t) => {
  const graph = await startSimulator(t)
  const first = await graph.request<InvitationJson>('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'sam@partner.example', inviteRedirectUrl: REDIRECT } })
  const again = await graph.request<InvitationJson>('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: 'SAM@Partner.Example', inviteRedirectUrl: REDIRECT, sendInvitationMessage: true },
  })
  t.equal(again.status, 201)
  t.equal(again.body.invitedUser.id, first.body.invitedUser.id, 'same user, matched without regard to case')
  t.not(again.body.id, first.body.id, 'a new invitation')

  const adele = graph.sim.state.users.get(SEED.users.adele.id)
  if (!adele) throw new Error('seed without Adele')
  adele.mail = 'adele.vance@sandbox.onmicrosoft.com'
  adele.otherMails.push('adele.private@example.com')
  const byUpn = await graph.request<InvitationJson>('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'adele@sandbox.onmicrosoft.com', inviteRedirectUrl: REDIRECT } })
  t.equal(byUpn.body.invitedUser.id, adele.id, 'user principal names match')
  const byOtherMail = await graph.request<InvitationJson>('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'adele.private@example.com', inviteRedirectUrl: REDIRECT } })
  t.equal(byOtherMail.body.invitedUser.id, adele.id, 'otherMails match')

  t.equal(graph.sim.state.users.size, 3, 'only the first invitation created a user')
  t.equal(graph.sim.state.invitations.length, 4, 'every invitation is recorded')
})

t.test('resetRedemption: the same user (id, memberships, assignments) must redeem again, with an address it has', async (t) => {
  const graph = await startSimulator(t)
  const guestId = SEED.users.existingGuest.id
  const { docuSign } = SEED.apps
  await graph.request('POST', `/v1.0/servicePrincipals/${docuSign.id}/appRoleAssignedTo`, { body: { principalId: guestId, resourceId: docuSign.id, appRoleId: docuSign.roles.viewer } })
  graph.sim.state.users.get(guestId)?.otherMails.push('existing.new@fabrikam.example')
  const reset = <T = InvitationJson>(email: string, extra: Record<string, unknown> = {}) => graph.request<T>('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: email, inviteRedirectUrl: REDIRECT, invitedUser: { id: guestId }, resetRedemption: true, ...extra },
  })

  const answer = await reset('Existing.New@fabrikam.example')
  t.equal(answer.status, 201, 'an address from otherMails, matched without regard to case')
  t.equal(answer.body.invitedUser.id, guestId)
  t.equal(answer.body.resetRedemption, true)
  const user = graph.sim.state.users.get(guestId)
  t.equal(user?.externalUserState, 'PendingAcceptance', 'back to pending')
  t.equal(user?.userPrincipalName, 'existing_fabrikam.example#EXT#@sandbox.onmicrosoft.com', 'the UPN is kept')
  t.ok(graph.sim.state.memberships.get(SEED.groups.marketing)?.has(guestId), 'memberships are kept')
  t.equal([...graph.sim.state.assignments.values()].filter((a) => a.principalId === guestId).length, 1, 'assignments are kept')
  t.equal(graph.sim.state.users.size, 2, 'no new user')

  const mismatch = await reset<GraphErrorJson>('someone.else@fabrikam.example')
  t.equal(mismatch.status, 400)
  t.match(mismatch.body.error, { code: 'BadRequest', message: /doesn’t match any emails on the user object/ })

  const member = await graph.request('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: SEED.users.adele.mail, inviteRedirectUrl: REDIRECT, invitedUser: { id: SEED.users.adele.id }, resetRedemption: true },
  })
  t.equal(member.status, 400, 'a member has no redemption to reset')

  const missing = await reset<GraphErrorJson>('who@partner.example', { invitedUser: { id: 'f0000000-0000-4000-8000-0000000000ff' } })
  t.equal(missing.status, 404)
  t.equal(missing.body.error.code, 'Request_ResourceNotFound')
  const noUser = await graph.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'who@partner.example', inviteRedirectUrl: REDIRECT, resetRedemption: true } })
  t.equal(noUser.status, 400, 'resetRedemption needs invitedUser/id')
})

t.test('invitedUser without resetRedemption: refused for a guest (resend by address), accepted for an internal member', async (t) => {
  const graph = await startSimulator(t)
  const guest = await graph.request<GraphErrorJson>('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: SEED.users.existingGuest.mail, inviteRedirectUrl: REDIRECT, invitedUser: { id: SEED.users.existingGuest.id }, sendInvitationMessage: true },
  })
  t.equal(guest.status, 400)
  t.match(guest.body.error.message, /invitedUser/)
  t.equal(graph.sim.state.invitations.length, 0)

  const member = await graph.request('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: 'adele.home@contoso.example', inviteRedirectUrl: REDIRECT, invitedUser: { id: SEED.users.adele.id } },
  })
  t.equal(member.status, 201, 'inviting an internal user to B2B collaboration')
  const adele = graph.sim.state.users.get(SEED.users.adele.id)
  t.match(adele, { userType: 'Member', externalUserState: 'PendingAcceptance' }, 'keeps its userType, must redeem')
})

t.test('the outbox: an app-only invitation e-mail has no custom message, although the answer echoes it', async (t) => {
  const graph = await startSimulator(t)
  const body = (email: string) => ({
    invitedUserEmailAddress: email, inviteRedirectUrl: REDIRECT, sendInvitationMessage: true,
    invitedUserMessageInfo: { customizedMessageBody: 'Welcome aboard', messageLanguage: 'en-US', ccRecipients: [{ emailAddress: { address: 'boss@partner.example' } }] },
  })
  const appOnly = await graph.request<InvitationJson>('POST', '/v1.0/invitations', { body: body('app@partner.example') })
  t.equal(appOnly.body.invitedUserMessageInfo.customizedMessageBody, 'Welcome aboard', 'Graph echoes the message')
  const claims = (payload: object) => Buffer.from(JSON.stringify(payload)).toString('base64url')
  const delegatedToken = `${claims({ alg: 'none' })}.${claims({ scp: 'User.Invite.All', roles: undefined })}.sig`
  await graph.request('POST', '/v1.0/invitations', { body: body('user@partner.example'), headers: { Authorization: `Bearer ${delegatedToken}` } })
  await graph.request('POST', '/v1.0/invitations', { body: { ...body('quiet@partner.example'), sendInvitationMessage: false } })

  const { sentEmails } = (await graph.request<DirectorySnapshot>('GET', '/_simulator/state', { anonymous: true })).body
  t.same(sentEmails.map((e) => [e.to, e.customizedMessageBody]), [
    ['app@partner.example', null],
    ['user@partner.example', 'Welcome aboard'],
  ], 'the app-only e-mail lost the message; no e-mail when sendInvitationMessage is false')
  t.match(sentEmails[0], { cc: ['boss@partner.example'], messageLanguage: 'en-US', inviteRedeemUrl: appOnly.body.inviteRedeemUrl, invitedUserId: appOnly.body.invitedUser.id })
})

t.test('addresses Exchange refuses answer "The Primary SMTP Address is an invalid value"', async (t) => {
  const graph = await startSimulator(t)
  for (const email of ['jane+tag@partner.example', 'jane.partner.example', 'jane@partner', 'jane doe@partner.example', 'a@b@partner.example', '"jane"@partner.example']) {
    const answer = await graph.request<GraphErrorJson>('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: email, inviteRedirectUrl: REDIRECT } })
    t.equal(answer.status, 400, email)
    t.equal(answer.body.error.message, 'The Primary SMTP Address is an invalid value', email)
  }
  t.equal(graph.sim.state.invitations.length, 0)
  t.equal(graph.sim.state.users.size, 2)
})

t.test('required properties, redirect URL, types and unknown properties are checked', async (t) => {
  const graph = await startSimulator(t)
  const cases: Array<[string, unknown, RegExp]> = [
    ['no email', { inviteRedirectUrl: REDIRECT }, /invitedUserEmailAddress/],
    ['no redirect', { invitedUserEmailAddress: 'a@partner.example' }, /inviteRedirectUrl/],
    ['bad redirect', { invitedUserEmailAddress: 'a@partner.example', inviteRedirectUrl: 'not a url' }, /Redirect Url/],
    ['wrong type', { invitedUserEmailAddress: 'a@partner.example', inviteRedirectUrl: REDIRECT, sendInvitationMessage: 'yes' }, /Edm\.Boolean/],
    ['unknown property', { invitedUserEmailAddress: 'a@partner.example', inviteRedirectUrl: REDIRECT, invitedUserEmail: 'x' }, /'invitedUserEmail' does not exist on type 'microsoft\.graph\.invitation'/],
    ['two cc', {
      invitedUserEmailAddress: 'a@partner.example',
      inviteRedirectUrl: REDIRECT,
      invitedUserMessageInfo: { ccRecipients: [{ emailAddress: { address: 'b@x.example' } }, { emailAddress: { address: 'c@x.example' } }] },
    }, /one cc recipient/],
    ['bad user type', { invitedUserEmailAddress: 'a@partner.example', inviteRedirectUrl: REDIRECT, invitedUserType: 'Admin' }, /invitedUserType/],
    ['not an object', ['a@partner.example'], /Unable to read JSON/],
  ]
  for (const [name, body, message] of cases) {
    const answer = await graph.request<GraphErrorJson>('POST', '/v1.0/invitations', { body })
    t.equal(answer.status, 400, name)
    t.match(answer.body.error.message, message, name)
  }
  t.equal(graph.sim.state.invitations.length, 0)
})
