import t from 'tap'
import { SEED } from '../../../../src/graph/simulator/seed.js'
import { startSimulator } from '../simulator-client.js'

const REDIRECT = 'https://myapps.microsoft.com'

t.test('an invitation creates a pending guest and answers 201 with the invitation', async (t) => {
  const graph = await startSimulator(t)
  const answer = await graph.request('POST', '/v1.0/invitations', {
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
  const answer = await graph.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'kim@partner.example', inviteRedirectUrl: REDIRECT } })
  t.equal(answer.body.invitedUserDisplayName, null, 'the invitation echoes what was sent')
  t.equal(answer.body.sendInvitationMessage, false)
  t.equal(graph.sim.state.users.get(answer.body.invitedUser.id)?.displayName, 'kim')
})

t.test('inviting an address that already has a user re-invites that user', async (t) => {
  const graph = await startSimulator(t)
  const first = await graph.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'sam@partner.example', inviteRedirectUrl: REDIRECT } })
  const again = await graph.request('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: 'SAM@Partner.Example', inviteRedirectUrl: REDIRECT, sendInvitationMessage: true },
  })
  t.equal(again.status, 201)
  t.equal(again.body.invitedUser.id, first.body.invitedUser.id, 'same user, matched without regard to case')
  t.not(again.body.id, first.body.id, 'a new invitation')

  const adele = graph.sim.state.users.get(SEED.users.adele.id)
  if (!adele) throw new Error('seed without Adele')
  adele.mail = 'adele.vance@sandbox.onmicrosoft.com'
  adele.otherMails.push('adele.private@example.com')
  const byUpn = await graph.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'adele@sandbox.onmicrosoft.com', inviteRedirectUrl: REDIRECT } })
  t.equal(byUpn.body.invitedUser.id, adele.id, 'user principal names match')
  const byOtherMail = await graph.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'adele.private@example.com', inviteRedirectUrl: REDIRECT } })
  t.equal(byOtherMail.body.invitedUser.id, adele.id, 'otherMails match')

  t.equal(graph.sim.state.users.size, 3, 'only the first invitation created a user')
  t.equal(graph.sim.state.invitations.length, 4, 'every invitation is recorded')
})

t.test('invitedUser.id with resetRedemption re-invites that user and resets its redemption', async (t) => {
  const graph = await startSimulator(t)
  const answer = await graph.request('POST', '/v1.0/invitations', {
    body: {
      invitedUserEmailAddress: SEED.users.existingGuest.mail,
      inviteRedirectUrl: REDIRECT,
      invitedUser: { id: SEED.users.existingGuest.id },
      resetRedemption: true,
    },
  })
  t.equal(answer.status, 201)
  t.equal(answer.body.invitedUser.id, SEED.users.existingGuest.id)
  t.equal(answer.body.resetRedemption, true)
  t.equal(graph.sim.state.users.get(SEED.users.existingGuest.id)?.externalUserState, 'PendingAcceptance')

  const missing = await graph.request('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: 'who@partner.example', inviteRedirectUrl: REDIRECT, invitedUser: { id: 'f0000000-0000-4000-8000-0000000000ff' } },
  })
  t.equal(missing.status, 404)
  t.equal(missing.body.error.code, 'Request_ResourceNotFound')
})

t.test('addresses Exchange refuses answer "The Primary SMTP Address is an invalid value"', async (t) => {
  const graph = await startSimulator(t)
  for (const email of ['jane+tag@partner.example', 'jane.partner.example', 'jane@partner', 'jane doe@partner.example', 'a@b@partner.example', '"jane"@partner.example']) {
    const answer = await graph.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: email, inviteRedirectUrl: REDIRECT } })
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
    const answer = await graph.request('POST', '/v1.0/invitations', { body })
    t.equal(answer.status, 400, name)
    t.match(answer.body.error.message, message, name)
  }
  t.equal(graph.sim.state.invitations.length, 0)
})
