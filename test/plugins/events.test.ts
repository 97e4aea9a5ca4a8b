// Access that Graph changed is published as an event; an unchanged write is not.
import t from 'tap'
import type { DomainEvent } from '../../src/plugins/events.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import type { InvitationReply, MembershipReply } from '../helpers/replies.js'

t.test('a group membership added, then added again, then removed: two events', async (t) => {
  const { app, as, token } = await build(t)
  const caller = await token(['Guests.Invite', 'Groups.ManageMembers'])
  const events: DomainEvent[] = []
  app.events.subscribe((event) => { events.push(event) })
  const guest = (await as(caller, { method: 'POST', url: '/v1/invitations', payload: { email: 'evented@partner.example', sendEmail: false } })).json<InvitationReply>().id
  const url = `/v1/groups/${SEED.groups.developers}/members/${guest}`
  const added = await as(caller, { method: 'PUT', url })
  await as(caller, { method: 'PUT', url })
  await as(caller, { method: 'DELETE', url })
  await new Promise<void>((resolve) => setImmediate(resolve))
  t.same(events.map((e) => e.type), ['guest.access.granted', 'guest.access.removed'])
  t.match(events[0], { operationId: added.json<MembershipReply>().operationId, data: { guestId: guest, groupId: SEED.groups.developers } })
})
