// A role capped by expiry.maxDays invites no guest for longer than its cap, asked or not: an
// invitation without expiresAt gets the cap (as a new membership or app role does), and a role
// without a cap still invites without an expiry.
import t from 'tap'
import { build } from '../../helper.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'
import { DAY, START, iso, testClock } from './sweep-at.js'

interface Expiry { kind: string; expiresAt: string }

t.test('an invitation without expiresAt: the inviting role\'s cap, or none when it has none', async (t) => {
  // Before: a Guests.Invite role capped at 60 days invited guests without any expiry.
  const file = await sandboxPolicyWith(t, (p) => { p.roles['Guests.Invite']!.expiry = { maxDays: 60 } })
  const time = testClock()
  const { as, token } = await build(t, { GUESTGATE_POLICY_FILE: file }, { app: { expiry: { clock: time.clock } } })
  const capped = await token(['Guests.Invite'])
  const uncapped = await token(['Guests.Manage'])
  const expiriesOf = async (caller: string, id: string) => (await as(caller, { method: 'GET', url: `/v1/guests/${id}/expiries` })).json<{ items: Expiry[] }>().items

  const invited = await as(capped, { method: 'POST', url: '/v1/invitations', payload: { email: 'capped@partner.example', sendEmail: false } })
  t.equal(invited.statusCode, 201, invited.body.slice(0, 300))
  t.match(await expiriesOf(uncapped, invited.json<{ id: string }>().id), [{ kind: 'guest', expiresAt: iso(START + 60 * DAY) }], 'the cap, from now')

  const asked = await as(capped, { method: 'POST', url: '/v1/invitations', payload: { email: 'asked@partner.example', sendEmail: false, expiresAt: iso(START + 10 * DAY) } })
  t.match(await expiriesOf(uncapped, asked.json<{ id: string }>().id), [{ kind: 'guest', expiresAt: iso(START + 10 * DAY) }], 'a date asked within the cap')

  const free = await as(uncapped, { method: 'POST', url: '/v1/invitations', payload: { email: 'free@partner.example', sendEmail: false } })
  t.equal(free.statusCode, 201, free.body.slice(0, 300))
  t.same(await expiriesOf(uncapped, free.json<{ id: string }>().id), [], 'a role without a cap: no expiry')
})
