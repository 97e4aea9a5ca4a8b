// Expiry through the scheduler with a test clock: the sweep runs from the queue, the test moves
// the clock forward and waits for the sweep's event (no sleeps). Reminders are published before,
// renewals move an expiry within the cap, and at expiry the access is gone from the simulator,
// each removal audited with rule expiry, as the scheduler acting for the grantor.
import t from 'tap'
import { EXPIRY_PRINCIPAL_OID } from '../../src/auth/principal.js'
import type { DomainEvent } from '../../src/plugins/events.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import { developers, docuSign, jira, lifecyclePolicy, marketing } from '../routes/lifecycle/lifecycle-policy.js'
import { DAY, iso, START, testClock } from '../routes/lifecycle/sweep-at.js'

const { allPartners } = SEED.groups
const { existingGuest, adele } = SEED.users

t.test('expiry through the scheduler, with a test clock', async (t) => {
  const time = testClock(START)
  const { app, as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: await lifecyclePolicy(t) }, { app: { expiry: { clock: time.clock } } })
  const events: DomainEvent[] = []
  app.events.subscribe((event) => { events.push(event) })
  /** Queues a sweep and resolves with its report when the queue has run it. */
  const sweepAt = time.sweeper(app)

  const everything = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'], { name: 'Grace Granter', oid: adele.id })
  // The granter is a user of the directory: it becomes the sponsor of the guests it invites.
  const invited = await as(everything, { method: 'POST', url: '/v1/invitations', payload: { email: 'expiring@partner.example', sendEmail: false } })
  const guest = invited.json<{ id: string }>().id
  // A second guest whose whole access ends on day 15.
  const leaving = await as(everything, { method: 'POST', url: '/v1/invitations', payload: { email: 'leaving@partner.example', sendEmail: false, groups: [developers], expiresAt: iso(START + 15 * DAY) } })
  t.equal(leaving.statusCode, 201, leaving.body)
  const leavingId = leaving.json<{ id: string }>().id

  const member = await as(everything, { method: 'PUT', url: `/v1/groups/${marketing}/members/${guest}`, payload: { expiresAt: iso(START + 10 * DAY) } })
  t.equal(member.statusCode, 200, member.body)
  const role = await as(everything, { method: 'POST', url: `/v1/apps/${jira.id}/assignments`, payload: { principalId: guest, appRole: 'User', expiresAt: iso(START + 10 * DAY) } })
  t.equal(role.statusCode, 201, role.body)
  const bundle = await as(everything, { method: 'POST', url: `/v1/guests/${guest}/bundles`, payload: { bundle: 'contractor-dev', expiresAt: iso(START + 20 * DAY) } })
  t.equal(bundle.statusCode, 200, bundle.body)

  await t.test('an expiry over the role\'s cap is a 422 naming the field and the cap', async (t) => {
    const response = await as(everything, { method: 'PUT', url: `/v1/groups/${developers}/members/${existingGuest.id}`, payload: { expiresAt: iso(START + 31 * DAY) } })
    t.equal(response.statusCode, 422)
    t.match(response.json(), { code: 'expiry_over_cap', errors: [{ field: 'body/expiresAt', message: /at most 30 days/ }] })
    const past = await as(everything, { method: 'POST', url: `/v1/apps/${jira.id}/assignments`, payload: { principalId: guest, appRole: 'User', expiresAt: iso(START - DAY) } })
    t.match(past.json(), { status: 422, code: 'expiry_in_past', errors: [{ field: 'body/expiresAt' }] })
    t.notOk(simulator.state.memberships.get(developers)!.has(existingGuest.id), 'the refused membership was not added')
    t.equal([...simulator.state.assignments.values()].filter((a) => a.principalId === guest && a.resourceId === jira.id).length, 1, 'the Jira role is there once')
  })

  const expiries = (await as(everything, { method: 'GET', url: `/v1/guests/${guest}/expiries` })).json<{ items: { id: string; kind: string; expiresAt: string }[] }>().items
  // The guest itself was invited without expiresAt by a role capped at 60 days: it got the cap.
  t.same(expiries.map((e) => [e.kind, e.expiresAt]).sort(), [['appRole', iso(START + 10 * DAY)], ['bundle', iso(START + 20 * DAY)], ['group', iso(START + 10 * DAY)], ['guest', iso(START + 60 * DAY)]], 'each expiry is listed')

  await t.test('reminders: 7 days before, once, to the guest\'s sponsors and the grantor', async (t) => {
    const report = await sweepAt(START + 4 * DAY)
    t.match(report, { ran: true, reminders: 2, expired: [] })
    const reminders = events.filter((e) => e.type === 'expiry.reminder')
    t.same(reminders.map((e) => [e.data.kind, e.data.daysBefore]).sort(), [['appRole', 7], ['group', 7]])
    t.match(reminders[0]!.data, { guestId: guest, grantedBy: { name: 'Grace Granter' } })
    t.same(reminders[0]!.data.sponsorIds, [adele.id], 'the sponsors, read from Graph')
    t.match(await sweepAt(START + 4 * DAY + 1000), { reminders: 0 }, 'not twice for the same threshold')
  })

  await t.test('renew: within the cap moves the date; beyond it is a 422', async (t) => {
    const groupExpiry = expiries.find((e) => e.kind === 'group')!
    const beyond = await as(everything, { method: 'POST', url: `/v1/guests/${guest}/expiries/${groupExpiry.id}/renew`, payload: { expiresAt: iso(START + 4 * DAY + 31 * DAY) } })
    t.equal(beyond.statusCode, 422)
    t.match(beyond.json(), { code: 'expiry_over_cap', errors: [{ field: 'body/expiresAt', message: /30 days/ }] })
    const renewed = await as(everything, { method: 'POST', url: `/v1/guests/${guest}/expiries/${groupExpiry.id}/renew`, payload: { expiresAt: iso(START + 24 * DAY) } })
    t.equal(renewed.statusCode, 200, renewed.body)
    t.match(renewed.json(), { kind: 'group', expiresAt: iso(START + 24 * DAY) })
    const rows = await auditRows(databaseUrl, `action = 'expiry.renew'`)
    t.match(rows, [{ status: 'recorded', rule_id: 'groups.managed:Groups.ManageMembers', request_summary: { expiryId: groupExpiry.id, to: iso(START + 24 * DAY) } }])
  })

  await t.test('at expiry the sweep takes the access away, audited with rule expiry for the grantor', async (t) => {
    const report = await sweepAt(START + 11 * DAY)
    t.equal(report.expired.length, 1, 'the app role; the renewed membership stays')
    t.notOk([...simulator.state.assignments.values()].some((a) => a.principalId === guest && a.resourceId === jira.id), 'the Jira role is gone')
    t.ok(simulator.state.memberships.get(marketing)!.has(guest), 'still in Marketing (renewed)')
    const rows = await auditRows(databaseUrl, `rule_id = 'expiry'`)
    t.same(rows.map((r) => [r.action, r.status]), [['appRoleAssignment.unassign', 'intent'], ['appRoleAssignment.unassign', 'succeeded']])
    t.equal(rows[0]!.actor_oid, EXPIRY_PRINCIPAL_OID, 'the scheduler is the actor')
    t.match(rows[0]!.request_summary, { expiry: { kind: 'appRole', onBehalfOf: { name: 'Grace Granter' } } }, 'acting for the grantor')
    t.match(rows[0]!.reason, /expired at .*Grace Granter/)
    t.ok(events.some((e) => e.type === 'guest.access.expired' && e.data.kind === 'appRole'))

    const later = await sweepAt(START + 25 * DAY)
    t.same(later.expired.map((r) => r.parts.map((p) => `${p.kind} ${p.target} ${p.status}`).sort().join(', ')).sort(), [
      `appRole ${docuSign.id}/DocuSign.Viewer succeeded, group ${developers} succeeded`,
      // All Partners is dynamic: every guest is in it by its rule, and it is never changed by hand.
      `group ${developers} succeeded, group ${allPartners} kept`,
      `group ${marketing} succeeded`,
    ], 'the bundle, the leaving guest (all its access) and the renewed membership')
    t.notOk(simulator.state.memberships.get(marketing)!.has(guest))
    t.notOk(simulator.state.memberships.get(developers)!.has(guest))
    t.notOk(simulator.state.memberships.get(developers)!.has(leavingId), 'the leaving guest has no group left')
    t.equal(await app.prisma.accessExpiry.count({ where: { state: 'active' } }), 1, 'only the guest\'s own (day 60, its inviter\'s cap) is still ahead')
    t.match(await app.prisma.accessBundleGrant.findFirstOrThrow({ where: { guestId: guest } }), { state: 'expired' })
    t.match(await sweepAt(START + 26 * DAY), { expired: [], failed: [] }, 'nothing is taken away twice')
  })
})
