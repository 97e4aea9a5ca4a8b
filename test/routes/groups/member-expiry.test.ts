// An expiry on a group membership is a removal the scheduler carries out later: setting one on a
// membership that was already there, or moving it earlier, needs the right to remove the guest
// (the question DELETE asks), and a capped role cannot skip its cap by leaving expiresAt out.
import t from 'tap'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'
import type { Problem } from '../../helpers/replies.js'
import { developers, marketing } from '../lifecycle/lifecycle-policy.js'
import { DAY, HOUR, START, iso, testClock } from '../lifecycle/sweep-at.js'

t.test('group membership expiries', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    p.roles['Groups.ManageMembers']!.groups = [
      { id: developers, name: 'Developers', add: true, remove: false },
      { id: marketing, name: 'Marketing', add: true, remove: true },
    ]
    p.roles['Groups.ManageMembers']!.expiry = { maxDays: 30 }
    p.roles['Guests.Manage']!.groups = [
      { id: developers, name: 'Developers', add: true, remove: true },
      { id: marketing, name: 'Marketing', add: true, remove: true },
    ]
  })
  const time = testClock()
  const { app, as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: file }, { app: { expiry: { clock: time.clock } } })
  const sweepAt = time.sweeper(app)
  const manager = await token(['Guests.Manage'], { name: 'Max Manager' })
  const adder = await token(['Groups.ManageMembers'], { name: 'Ada Adder' })
  const invite = async (email: string) => {
    const response = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<{ id: string }>().id
  }
  const put = (tok: string, groupId: string, guestId: string, payload: object) => as(tok, { method: 'PUT', url: `/v1/groups/${groupId}/members/${guestId}`, payload })
  const expiryOf = (guestId: string, groupId: string) => app.prisma.accessExpiry.findFirst({ where: { guestId, kind: 'group', subject: groupId, state: 'active' } })

  await t.test('add but not remove: an expiry on a membership someone else made is refused as the removal is, audited', async (t) => {
    const guest = await invite('kept@partner.example')
    t.equal((await put(manager, developers, guest, {})).statusCode, 200, 'the manager adds the guest, no expiry')
    const del = await as(adder, { method: 'DELETE', url: `/v1/groups/${developers}/members/${guest}` })
    t.equal(del.statusCode, 403, 'the adder may not remove')

    const response = await put(adder, developers, guest, { expiresAt: iso(START + HOUR) })
    t.equal(response.statusCode, 403, response.body)
    const problem = response.json<Problem>()
    t.match(problem, { code: 'policy_denied', rule: del.json<Problem>().rule, errors: [{ field: 'body/expiresAt', message: /no expiry.*right to remove/ }] }, 'the removal\'s rule, naming the field')
    t.match(await auditRows(databaseUrl, 'operation_id = $1', [problem.operationId]),
      [{ status: 'denied', action: 'groupMembership.removeMember', rule_id: problem.rule, target_id: guest, request_summary: { expiresAt: iso(START + HOUR), currentExpiresAt: null } }], 'the refusal is audited')
    t.equal(await expiryOf(guest, developers), null, 'no expiry recorded')

    // An expiry the manager set may be moved later (a renewal), not earlier.
    t.equal((await put(manager, developers, guest, { expiresAt: iso(START + 20 * DAY) })).statusCode, 200)
    const earlier = await put(adder, developers, guest, { expiresAt: iso(START + 2 * HOUR) })
    t.equal(earlier.statusCode, 403, 'earlier than the manager\'s expiry')
    t.match(earlier.json(), { errors: [{ field: 'body/expiresAt', message: new RegExp(`before the current expiry \\(${iso(START + 20 * DAY)}\\)`) }] })
    t.match(await expiryOf(guest, developers), { expiresAt: new Date(START + 20 * DAY), grantedBy: { name: 'Max Manager' } }, 'the manager\'s expiry stands')
    const later = await put(adder, developers, guest, { expiresAt: iso(START + 25 * DAY) })
    t.equal(later.statusCode, 200, later.body)
    t.match(await expiryOf(guest, developers), { expiresAt: new Date(START + 25 * DAY), grantedBy: { name: 'Ada Adder' } }, 'moved later')

    const report = await sweepAt(START + 3 * HOUR)
    t.same(report.expired, [], 'nothing expired')
    t.ok(simulator.state.memberships.get(developers)!.has(guest), 'the guest is still a member')
  })

  await t.test('with the removal right (the question DELETE asks) the expiry may come sooner', async (t) => {
    const guest = await invite('sooner@partner.example')
    t.equal((await put(manager, marketing, guest, {})).statusCode, 200)
    const response = await put(adder, marketing, guest, { expiresAt: iso(time.now() + HOUR) })
    t.equal(response.statusCode, 200, response.body)
    t.match(response.json(), { changed: false })
    t.match(await expiryOf(guest, marketing), { expiresAt: new Date(time.now() + HOUR) })
  })

  await t.test('the cap: without expiresAt new access expires at the cap; an expiry already set stays', async (t) => {
    const guest = await invite('capped@partner.example')
    const over = await put(adder, developers, guest, { expiresAt: iso(time.now() + 31 * DAY) })
    t.match(over.json(), { status: 422, code: 'expiry_over_cap', errors: [{ field: 'body/expiresAt' }] })
    const added = await put(adder, developers, guest, {})
    t.equal(added.statusCode, 200, added.body)
    t.match(added.json(), { changed: true })
    t.match(await expiryOf(guest, developers), { expiresAt: new Date(time.now() + 30 * DAY), grantedBy: { name: 'Ada Adder' } }, 'the role\'s cap of 30 days')

    const other = await invite('theirs@partner.example')
    t.equal((await put(manager, marketing, other, { expiresAt: iso(time.now() + 10 * DAY) })).statusCode, 200)
    const again = await put(adder, marketing, other, {})
    t.equal(again.statusCode, 200, again.body)
    t.match(await expiryOf(other, marketing), { expiresAt: new Date(time.now() + 10 * DAY), grantedBy: { name: 'Max Manager' } }, 'not cancelled, not moved')

    const uncapped = await invite('uncapped@partner.example')
    t.equal((await put(manager, marketing, uncapped, {})).statusCode, 200)
    t.equal(await expiryOf(uncapped, marketing), null, 'a role without a cap sets none')
  })
})
