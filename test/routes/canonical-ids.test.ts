// Object ids are canonical (lower case) from the edge on: however a caller spells a GUID, Graph
// calls, responses and audit rows carry one spelling, and the audit search finds it in any case.
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import type { AuditPage, InvitationReply } from '../helpers/replies.js'

// Issue 9, finding 3: a revoke and a delete sent with an upper-case GUID did not appear under
// ?targetId=<id>, the per-guest history the README shows.
t.test('issue 9 #3: a guest\'s history is found under its id whatever case the requests used', async (t) => {
  const { as, token, databaseUrl, simulator } = await build(t)
  const manager = await token(['Guests.Manage', 'Groups.ManageMembers'])
  const auditor = await token(['Audit.Read'])
  const invited = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'case@partner.example', sendEmail: false } })
  t.equal(invited.statusCode, 201, invited.body)
  const id = invited.json<InvitationReply>().id
  const ID = id.toUpperCase()
  const DEVELOPERS = SEED.groups.developers.toUpperCase()

  const added = await as(manager, { method: 'PUT', url: `/v1/groups/${DEVELOPERS}/members/${ID}` })
  t.equal(added.statusCode, 200, added.body)
  t.match(added.json(), { groupId: SEED.groups.developers, userId: id }, 'the answer names the canonical ids')
  t.equal((await as(manager, { method: 'POST', url: `/v1/guests/${ID}/revoke-access` })).statusCode, 200)
  t.equal((await as(manager, { method: 'DELETE', url: `/v1/guests/${ID}` })).statusCode, 204)

  const rows = await auditRows(databaseUrl, `action IN ('groupMembership.addMember', 'groupMembership.removeMember', 'guest.delete')`)
  t.ok(rows.length >= 6, `${rows.length} rows`)
  t.ok(rows.every((r) => r.target_id === id), 'every row names the guest in lower case')
  t.ok(simulator.calls.every((call) => !call.path.includes(ID) && !call.path.includes(DEVELOPERS)), 'Graph was called with the canonical ids')

  for (const spelling of [id, ID]) {
    const history = await as(auditor, { method: 'GET', url: `/v1/audit/events?targetId=${spelling}&limit=100` })
    t.equal(history.statusCode, 200, history.body)
    const actions = new Set(history.json<AuditPage>().items.map((e) => e.action))
    for (const action of ['invitation.invite', 'groupMembership.addMember', 'groupMembership.removeMember', 'guest.delete']) {
      t.ok(actions.has(action), `?targetId=${spelling === id ? 'lower' : 'UPPER'} case finds ${action}`)
    }
  }
})
