import t from 'tap'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import type { GuestDetail, GuestPage, InvitationReply, ResendReply } from '../../helpers/replies.js'

const EXISTING_GUEST = 'f0000000-0000-4000-8000-000000000002'
const MEMBER = 'f0000000-0000-4000-8000-000000000001'

t.test('list guests: filters and cursor pagination', async (t) => {
  const { as, token } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const emails = ['ann@partner.example', 'bob@partner.example', 'cat@partner.example', 'dan@fabrikam.example']
  for (const email of emails) t.equal((await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })).statusCode, 201)

  const partner = await as(inviter, { method: 'GET', url: '/v1/guests?domain=partner.example&limit=2' })
  t.equal(partner.statusCode, 200, partner.body)
  const page1 = partner.json<GuestPage>()
  t.equal(page1.items.length, 2)
  t.ok(page1.nextCursor)
  const page2 = (await as(inviter, { method: 'GET', url: `/v1/guests?domain=partner.example&limit=2&cursor=${page1.nextCursor}` })).json<GuestPage>()
  const seen = [...page1.items, ...page2.items].map((g) => g.email).sort()
  t.same(seen, ['ann@partner.example', 'bob@partner.example', 'cat@partner.example'], 'all three, no duplicates')
  t.notOk(page2.nextCursor, 'last page has no cursor')

  const pending = (await as(inviter, { method: 'GET', url: '/v1/guests?state=PendingAcceptance&limit=100' })).json<GuestPage>()
  t.equal(pending.items.length, 4)
  const accepted = (await as(inviter, { method: 'GET', url: '/v1/guests?state=Accepted' })).json<GuestPage>()
  t.same(accepted.items.map((g: { id: string }) => g.id), [EXISTING_GUEST])
  const searched = (await as(inviter, { method: 'GET', url: '/v1/guests?search=bob' })).json<GuestPage>()
  t.same(searched.items.map((g) => g.email), ['bob@partner.example'])
  t.notOk(pending.items.some((g: { id: string }) => g.id === MEMBER), 'members are not guests')

  const mixed = await as(inviter, { method: 'GET', url: `/v1/guests?domain=fabrikam.example&limit=2&cursor=${page1.nextCursor}` })
  t.equal(mixed.statusCode, 400, 'a cursor replayed with other filters is refused')
  t.match(mixed.json(), { errors: [{ field: 'query/cursor' }] })
  const tooMany = await as(inviter, { method: 'GET', url: '/v1/guests?limit=101' })
  t.equal(tooMany.statusCode, 400)
  t.match(tooMany.json(), { errors: [{ field: 'query/limit' }] })
  const badState = await as(inviter, { method: 'GET', url: '/v1/guests?state=Whatever' })
  t.equal(badState.statusCode, 400)
})

t.test('get guest: 404 for unknown ids and for members; 400 for a malformed id', async (t) => {
  const { as, token } = await build(t)
  const reader = await token(['Guests.Invite'])
  t.equal((await as(reader, { method: 'GET', url: `/v1/guests/${EXISTING_GUEST}` })).statusCode, 200)
  t.equal((await as(reader, { method: 'GET', url: '/v1/guests/0f000000-0000-4000-8000-00000000abcd' })).statusCode, 404)
  t.equal((await as(reader, { method: 'GET', url: `/v1/guests/${MEMBER}` })).statusCode, 404)
  const bad = await as(reader, { method: 'GET', url: '/v1/guests/not-a-guid' })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { errors: [{ field: 'params/id' }] })
  const body = (await as(reader, { method: 'GET', url: `/v1/guests/${EXISTING_GUEST}` })).json<GuestDetail>()
  t.same(Object.keys(body).sort(), ['accountEnabled', 'appRoleAssignments', 'createdAt', 'displayName', 'email', 'groups', 'id', 'invitationState', 'invitationStateChangedAt', 'invitedAt', 'invitedBy', 'sponsors', 'userPrincipalName', 'userType'],
    'only the fields we expose')
})

t.test('resend: re-invites the same user and returns a new redeem URL; accepted guests get 409', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const created = (await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'again@partner.example', sendEmail: false } })).json<InvitationReply>()
  const resent = await as(inviter, { method: 'POST', url: `/v1/guests/${created.id}/resend-invitation` })
  t.equal(resent.statusCode, 200, resent.body)
  t.equal(resent.json<ResendReply>().id, created.id)
  t.not(resent.json<ResendReply>().inviteRedeemUrl, created.inviteRedeemUrl, 'a new redeem URL')
  const invitations = simulator.callsTo('POST', /^\/v1\.0\/invitations$/)
  t.equal(invitations.length, 2)
  const rows = await auditRows(databaseUrl, `action = 'guest.resend'`)
  t.same(rows.map((r) => r.status), ['intent', 'succeeded'])
  t.equal(rows[0]!.target_id, created.id)

  const accepted = await as(inviter, { method: 'POST', url: `/v1/guests/${EXISTING_GUEST}/resend-invitation` })
  t.equal(accepted.statusCode, 409)
  t.match(accepted.json(), { code: 'invitation_already_accepted' })
})

t.test('delete: Guests.Manage only, guests only, audited', async (t) => {
  const { as, token, databaseUrl, simulator } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const manager = await token(['Guests.Manage'])
  const created = (await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'bye@partner.example', sendEmail: false } })).json<InvitationReply>()
  const refused = await as(inviter, { method: 'DELETE', url: `/v1/guests/${created.id}` })
  t.equal(refused.statusCode, 403)
  const member = await as(manager, { method: 'DELETE', url: `/v1/guests/${MEMBER}` })
  t.equal(member.statusCode, 409, 'a member is never deleted')
  const deleted = await as(manager, { method: 'DELETE', url: `/v1/guests/${created.id}` })
  t.equal(deleted.statusCode, 204)
  t.equal((await as(manager, { method: 'GET', url: `/v1/guests/${created.id}` })).statusCode, 404)
  t.equal((await as(manager, { method: 'DELETE', url: `/v1/guests/${created.id}` })).statusCode, 404)
  t.equal(simulator.callsTo('DELETE', /^\/v1\.0\/users\//).length, 1)
  const rows = await auditRows(databaseUrl, `action = 'guest.delete'`)
  t.same(rows.map((r) => [r.status, r.target_id]), [['denied', null], ['intent', created.id], ['succeeded', created.id]])
})
