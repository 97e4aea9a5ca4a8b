// Renewing an expiry is granting again for longer: it asks the grant's questions (a bundle: every
// part, as the grant and the what-if do). Moving it earlier schedules a removal, so it also needs
// the right to remove that access (revoke-access, remove member, unassign, revoke the bundle).
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'
import type { Problem } from '../../helpers/replies.js'
import { developers, docuSign, jira, marketing } from './lifecycle-policy.js'
import { DAY, HOUR, START, iso, testClock } from './sweep-at.js'

interface Expiry { id: string; kind: string; expiresAt: string }

t.test('renewing expiries', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    p.bundles = [
      { name: 'contractor-dev', groups: [developers], appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Viewer' }], maxDays: 90, grantableBy: ['Groups.ManageMembers'] },
      { name: 'partner-full', groups: [marketing], appRoles: [{ appId: jira.id, appRole: 'User' }], maxDays: 30, grantableBy: ['Groups.ManageMembers'] },
    ]
    p.roles['Groups.ManageMembers']!.expiry = { maxDays: 30 }
    p.roles['Guests.Invite']!.expiry = { maxDays: 60 }
    // Grants DocuSign Viewer, may not take it away.
    p.roles['Apps.AssignRoles']!.apps![0]!.revoke = ['DocuSign.Sender']
  })
  const time = testClock()
  const { app, as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: file }, { app: { expiry: { clock: time.clock } } })
  const sweepAt = time.sweeper(app)
  const everything = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'], { name: 'Grace', oid: SEED.users.adele.id })
  const inviterOnly = await token(['Guests.Invite'], { name: 'Ivy Inviter' })
  const groupsOnly = await token(['Groups.ManageMembers'], { name: 'Gus Groups' })
  const expiries = async (guestId: string) => (await as(everything, { method: 'GET', url: `/v1/guests/${guestId}/expiries` })).json<{ items: Expiry[] }>().items
  const renew = (tok: string, guestId: string, expiryId: string, at: number) =>
    as(tok, { method: 'POST', url: `/v1/guests/${guestId}/expiries/${expiryId}/renew`, payload: { expiresAt: iso(at) } })

  await t.test('a guest\'s expiry moved earlier needs revokeAccess: refused (audited) to an inviter, who may still move it later', async (t) => {
    const invited = await as(everything, { method: 'POST', url: '/v1/invitations', payload: { email: 'fifty@partner.example', sendEmail: false, groups: [developers], expiresAt: iso(START + 50 * DAY) } })
    t.equal(invited.statusCode, 201, invited.body)
    const guest = invited.json<{ id: string }>().id
    const revoke = await as(inviterOnly, { method: 'POST', url: `/v1/guests/${guest}/revoke-access`, payload: {} })
    t.equal(revoke.statusCode, 403, 'the inviter may not revoke access')
    const expiry = (await expiries(guest)).find((e) => e.kind === 'guest')!

    const response = await renew(inviterOnly, guest, expiry.id, START + HOUR)
    t.equal(response.statusCode, 403, response.body)
    const problem = response.json<Problem>()
    t.match(problem, { code: 'policy_denied', rule: revoke.json<Problem>().rule, errors: [{ field: 'body/expiresAt', message: new RegExp(`before the current expiry \\(${iso(START + 50 * DAY)}\\)`) }] })
    t.match(await auditRows(databaseUrl, 'operation_id = $1', [problem.operationId]),
      [{ status: 'denied', action: 'guest.revokeAccess', rule_id: problem.rule, target_id: guest, request_summary: { expiryId: expiry.id, to: iso(START + HOUR) } }], 'the refusal is audited')
    t.equal(await app.prisma.auditEvent.count({ where: { action: 'expiry.renew', targetId: guest } }), 0, 'no renewal recorded')
    t.match(await expiries(guest), [{ id: expiry.id, expiresAt: iso(START + 50 * DAY) }], 'the expiry stands')
    t.same((await sweepAt(START + 2 * HOUR)).expired, [], 'nothing expired')
    t.ok(simulator.state.memberships.get(developers)!.has(guest), 'still in Developers')

    const later = await renew(inviterOnly, guest, expiry.id, START + 55 * DAY)
    t.equal(later.statusCode, 200, later.body)
    t.match(later.json(), { expiresAt: iso(START + 55 * DAY) }, 'later: the invitation\'s question is enough')
    const manager = await token(['Guests.Manage'], { name: 'Max Manager' })
    const sooner = await renew(manager, guest, expiry.id, time.now() + DAY)
    t.equal(sooner.statusCode, 200, `with revokeAccess it may come sooner: ${sooner.body}`)
  })

  await t.test('a bundle renewal asks every part, as the grant and the what-if do', async (t) => {
    const guest = (await as(everything, { method: 'POST', url: '/v1/invitations', payload: { email: 'bundle@partner.example', sendEmail: false } })).json<{ id: string }>().id
    const grant = await as(groupsOnly, { method: 'POST', url: `/v1/guests/${guest}/bundles`, payload: { bundle: 'partner-full' } })
    t.match(grant.json(), { status: 403, rule: 'role.missing' }, 'the Jira part needs Apps.AssignRoles')
    const whatIf = await as(groupsOnly, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'grantBundle', target: { bundle: 'partner-full' } } })
    t.match(whatIf.json(), { allowed: false, rule: 'role.missing' })
    t.equal((await as(everything, { method: 'POST', url: `/v1/guests/${guest}/bundles`, payload: { bundle: 'partner-full', expiresAt: iso(time.now() + 2 * DAY) } })).statusCode, 200)
    const expiry = (await expiries(guest)).find((e) => e.kind === 'bundle')!

    const response = await renew(groupsOnly, guest, expiry.id, time.now() + 29 * DAY)
    t.equal(response.statusCode, 403, response.body)
    const problem = response.json<Problem>()
    t.match(problem, { code: 'policy_denied', rule: 'role.missing' }, 'the grant\'s answer')
    t.match(await auditRows(databaseUrl, 'operation_id = $1', [problem.operationId]),
      [{ status: 'denied', action: 'appRoleAssignment.assign', rule_id: 'role.missing', target_id: guest }], 'the refusal is audited')
    t.match(await expiries(guest), [{ id: expiry.id, expiresAt: iso(time.now() + 2 * DAY) }], 'not renewed')
    t.match(await app.prisma.accessBundleGrant.findFirstOrThrow({ where: { guestId: guest } }), { expiresAt: new Date(time.now() + 2 * DAY) })
    const renewed = await renew(everything, guest, expiry.id, time.now() + 29 * DAY)
    t.equal(renewed.statusCode, 200, `a caller who may grant every part renews: ${renewed.body}`)
  })

  await t.test('a bundle granted again with an earlier expiresAt needs the right to revoke it', async (t) => {
    const guest = (await as(everything, { method: 'POST', url: '/v1/invitations', payload: { email: 'again@partner.example', sendEmail: false } })).json<{ id: string }>().id
    const first = await as(everything, { method: 'POST', url: `/v1/guests/${guest}/bundles`, payload: { bundle: 'contractor-dev', expiresAt: iso(time.now() + 20 * DAY) } })
    t.equal(first.statusCode, 200, first.body)
    const response = await as(everything, { method: 'POST', url: `/v1/guests/${guest}/bundles`, payload: { bundle: 'contractor-dev', expiresAt: iso(time.now() + HOUR) } })
    t.equal(response.statusCode, 403, response.body)
    t.match(response.json(), { code: 'policy_denied', rule: 'apps.role-not-granted', errors: [{ field: 'body/expiresAt' }] }, 'DocuSign Viewer may be granted, not revoked')
    t.match(await app.prisma.accessBundleGrant.findFirstOrThrow({ where: { guestId: guest } }), { expiresAt: new Date(time.now() + 20 * DAY) }, 'the grant\'s expiry stands')
    const again = await as(everything, { method: 'POST', url: `/v1/guests/${guest}/bundles`, payload: { bundle: 'contractor-dev', expiresAt: iso(time.now() + 25 * DAY) } })
    t.equal(again.statusCode, 200, 'later is a renewal')
  })
})
