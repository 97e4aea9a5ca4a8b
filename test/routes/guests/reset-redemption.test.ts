// Reset redemption: the same guest object must redeem again (its id, memberships and app roles
// stay); the address must be one the guest has; its own policy action; audited. And the custom
// message guestgate cannot deliver is refused, not silently dropped.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import type { InvitationReply, Problem } from '../../helpers/replies.js'

const { developers } = SEED.groups

t.test('a redeemed guest is reset: pending again, same object, memberships kept, audited', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const onboarder = await token(['Guests.Invite', 'Groups.ManageMembers'])
  const manager = await token(['Guests.Manage'])
  const guest = (await as(onboarder, { method: 'POST', url: '/v1/invitations', payload: { email: 'lost@partner.example', sendEmail: false, groups: [developers] } })).json<InvitationReply>()
  simulator.state.redeem(guest.id)

  const reset = await as(manager, { method: 'POST', url: `/v1/guests/${guest.id}/reset-redemption`, payload: { sendEmail: false } })
  t.equal(reset.statusCode, 200, reset.body)
  t.match(reset.json(), { id: guest.id, email: 'lost@partner.example', invitationState: 'PendingAcceptance', inviteRedeemUrl: /^https:\/\// })
  const user = simulator.state.users.get(guest.id)!
  t.equal(user.externalUserState, 'PendingAcceptance', 'must redeem again')
  t.ok(simulator.state.memberships.get(developers)!.has(guest.id), 'its memberships stay')
  const sent = simulator.callsTo('POST', /\/invitations$/)
  t.equal(sent.length, 2, 'the invitation, then the reset')
  const rows = await auditRows(databaseUrl, `action = 'guest.resetRedemption'`)
  t.same(rows.map((r) => r.status), ['intent', 'succeeded'])
  t.equal(rows[0]!.target_id, guest.id)
})

t.test('an address the guest does not have: 422 with Graph\'s reason, nothing sent', async (t) => {
  const { as, token, simulator } = await build(t)
  const manager = await token(['Guests.Manage'])
  const guest = (await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'moved@partner.example', sendEmail: false } })).json<InvitationReply>()
  const before = simulator.calls.length
  const reset = await as(manager, { method: 'POST', url: `/v1/guests/${guest.id}/reset-redemption`, payload: { email: 'new@partner.example' } })
  t.equal(reset.statusCode, 422)
  t.match(reset.json(), { code: 'address_not_on_guest', detail: /doesn’t match any emails on the user object/, errors: [{ field: 'body/email' }] })
  t.notOk(simulator.calls.slice(before).some((c) => c.method === 'POST'), 'no write reached Graph')
})

t.test('resetting redemption is its own action: Guests.Invite may resend, not reset', async (t) => {
  const { as, token } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const guest = (await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'reset-denied@partner.example', sendEmail: false } })).json<InvitationReply>()
  const reset = await as(inviter, { method: 'POST', url: `/v1/guests/${guest.id}/reset-redemption` })
  t.equal(reset.statusCode, 403)
  t.equal(reset.json<Problem>().rule, 'role.missing')
})

t.test('a custom message is refused (Entra drops it from an application\'s invitation e-mails), on invite and resend', async (t) => {
  const { as, token, simulator } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const invited = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'msg@partner.example', message: 'Welcome aboard!' } })
  t.equal(invited.statusCode, 422)
  t.match(invited.json(), { code: 'message_not_delivered', errors: [{ field: 'body/message' }], detail: /sendEmail false/ })
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 0, 'nothing sent')
  const guest = (await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'msg@partner.example' } })).json<InvitationReply>()
  const resent = await as(inviter, { method: 'POST', url: `/v1/guests/${guest.id}/resend-invitation`, payload: { message: 'Again!' } })
  t.equal(resent.statusCode, 422)
  t.match(resent.json(), { code: 'message_not_delivered' })
})
