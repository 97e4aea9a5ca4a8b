// Access bundles through HTTP against the simulator: granted and revoked as one operation, each
// part asked its single route's question (a part the requester may not grant: 403, nothing done),
// offered in me/permissions, answered by the what-if, granted at onboarding.
import t from 'tap'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { developers, docuSign, jira, lifecyclePolicy, marketing } from './lifecycle-policy.js'

interface Part { kind: string; target: string; status: string; bundle?: string }
interface BundleAnswer { grantId: string; operationId: string; outcome: string; expiresAt: string; parts: Part[] }

t.test('access bundles', async (t) => {
  const { app, as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: await lifecyclePolicy(t) })
  const granter = await token(['Groups.ManageMembers', 'Apps.AssignRoles'], { name: 'Grace Granter' })
  const groupsOnly = await token(['Groups.ManageMembers'], { name: 'Gus Groups' })
  const inviter = await token(['Guests.Invite'])
  const invite = async (email: string, extra: object = {}) => {
    const response = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false, ...extra } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<{ id: string; outcome: string; parts: Part[] }>()
  }
  const rolesOf = (guestId: string) => [...simulator.state.assignments.values()].filter((a) => a.principalId === guestId).map((a) => a.resourceId)
  const writes = () => simulator.calls.filter((c) => c.method !== 'GET').length

  const guest = await invite('bundle@partner.example')

  await t.test('granted as one operation: every part audited under one id, the grant recorded with its expiry', async (t) => {
    const response = await as(granter, { method: 'POST', url: `/v1/guests/${guest.id}/bundles`, payload: { bundle: 'contractor-dev' } })
    t.equal(response.statusCode, 200, response.body)
    const body = response.json<BundleAnswer>()
    t.equal(body.outcome, 'complete')
    t.same(body.parts.map((p) => [p.kind, p.status, p.bundle]), [['group', 'succeeded', 'contractor-dev'], ['appRole', 'succeeded', 'contractor-dev']])
    t.ok(simulator.state.memberships.get(developers)!.has(guest.id), 'in Developers')
    t.same(rolesOf(guest.id), [docuSign.id], 'holds the DocuSign role')
    const days = (Date.parse(body.expiresAt) - Date.now()) / 86_400_000
    t.ok(days > 89.9 && days <= 90, `expires after the bundle's maxDays by default (${days.toFixed(2)} days)`)
    const rows = await auditRows(databaseUrl, `operation_id = $1 AND status = 'succeeded'`, [body.operationId])
    t.same(rows.map((r) => r.action), ['groupMembership.addMember', 'appRoleAssignment.assign'], 'each part has its outcome row')
    const grant = await app.prisma.accessBundleGrant.findUniqueOrThrow({ where: { id: body.grantId } })
    t.match(grant, { bundle: 'contractor-dev', state: 'active', grantedBy: { name: 'Grace Granter' } })
    const expiry = await app.prisma.accessExpiry.findFirstOrThrow({ where: { kind: 'bundle', subject: body.grantId, state: 'active' } })
    t.equal(expiry.expiresAt.toISOString(), body.expiresAt)
  })

  await t.test('a part the requester may not grant: 403, nothing done, the denial audited', async (t) => {
    const before = writes()
    const response = await as(groupsOnly, { method: 'POST', url: `/v1/guests/${guest.id}/bundles`, payload: { bundle: 'partner-full' } })
    t.equal(response.statusCode, 403, response.body)
    t.match(response.json(), { code: 'policy_denied', rule: 'role.missing' }, 'the Jira part needs Apps.AssignRoles')
    t.equal(writes(), before, 'no write reached Graph')
    t.notOk(simulator.state.memberships.get(marketing)!.has(guest.id), 'not added to Marketing, the part it could grant')
    t.notOk(rolesOf(guest.id).includes(jira.id))
    t.equal(await app.prisma.accessBundleGrant.count({ where: { bundle: 'partner-full' } }), 0, 'no grant recorded')
    const denial = await auditRows(databaseUrl, `operation_id = $1`, [response.json<{ operationId: string }>().operationId])
    t.match(denial, [{ status: 'denied', action: 'appRoleAssignment.assign', rule_id: 'role.missing', request_summary: { bundle: 'partner-full' } }])
  })

  await t.test('expiresAt beyond the bundle\'s maxDays: 422 naming the field and the cap', async (t) => {
    const expiresAt = new Date(Date.now() + 91 * 86_400_000).toISOString()
    const response = await as(granter, { method: 'POST', url: `/v1/guests/${guest.id}/bundles`, payload: { bundle: 'contractor-dev', expiresAt } })
    t.equal(response.statusCode, 422, response.body)
    t.match(response.json(), { code: 'expiry_over_cap', errors: [{ field: 'body/expiresAt', message: /at most 90 days.*bundle contractor-dev/ }] })
    const unknown = await as(granter, { method: 'POST', url: `/v1/guests/${guest.id}/bundles`, payload: { bundle: 'no-such-bundle' } })
    t.match(unknown.json(), { status: 422, code: 'unknown_bundle', errors: [{ field: 'body/bundle' }] })
  })

  await t.test('me/permissions offers the bundles whose every part the caller may grant; the what-if agrees', async (t) => {
    const mine = (await as(granter, { method: 'GET', url: '/v1/me/permissions' })).json<{ bundles: { name: string }[]; expiryMaxDays: object }>()
    t.same(mine.bundles.map((b) => b.name), ['contractor-dev', 'partner-full'], 'a grantableBy role, and every part allowed')
    t.same(mine.expiryMaxDays, { guest: null, group: 30, appRole: 30 })
    const theirs = (await as(groupsOnly, { method: 'GET', url: '/v1/me/permissions' })).json<{ bundles: { name: string }[] }>()
    t.same(theirs.bundles, [], 'without Apps.AssignRoles no bundle is whole')
    const whatIf = await as(groupsOnly, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'grantBundle', target: { bundle: 'partner-full' } } })
    t.match(whatIf.json(), { allowed: false, rule: 'role.missing' })
    const yes = await as(granter, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'grantBundle', target: { bundle: 'contractor-dev' } } })
    t.match(yes.json(), { allowed: true, rule: 'bundles.grantable:Groups.ManageMembers' })
  })

  await t.test('revoked as one operation: the parts go, the grant and its expiry end', async (t) => {
    const response = await as(granter, { method: 'DELETE', url: `/v1/guests/${guest.id}/bundles/contractor-dev` })
    t.equal(response.statusCode, 200, response.body)
    const body = response.json<BundleAnswer>()
    t.equal(body.outcome, 'complete')
    t.same(body.parts.map((p) => [p.kind, p.status]), [['group', 'succeeded'], ['appRole', 'succeeded']])
    t.notOk(simulator.state.memberships.get(developers)!.has(guest.id), 'out of Developers')
    t.same(rolesOf(guest.id), [], 'no app role left')
    t.match(await app.prisma.accessBundleGrant.findUniqueOrThrow({ where: { id: body.grantId } }), { state: 'revoked' })
    t.equal(await app.prisma.accessExpiry.count({ where: { guestId: guest.id, state: 'active', kind: 'bundle' } }), 0, 'the bundle\'s expiry ends (the guest\'s own, from its inviter\'s cap, stays)')
    const again = await as(granter, { method: 'DELETE', url: `/v1/guests/${guest.id}/bundles/contractor-dev` })
    t.equal(again.statusCode, 404, 'no active grant any more')
  })

  await t.test('onboarding takes bundles: their parts follow the invitation', async (t) => {
    const everything = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
    const response = await as(everything, { method: 'POST', url: '/v1/invitations', payload: { email: 'onboard-bundle@partner.example', sendEmail: false, bundles: [{ bundle: 'contractor-dev' }] } })
    t.equal(response.statusCode, 201, response.body)
    const body = response.json<{ id: string; outcome: string; parts: Part[] }>()
    t.equal(body.outcome, 'complete')
    t.same(body.parts.map((p) => [p.kind, p.status, p.bundle ?? null]), [['invitation', 'succeeded', null], ['group', 'succeeded', 'contractor-dev'], ['appRole', 'succeeded', 'contractor-dev']])
    t.ok(simulator.state.memberships.get(developers)!.has(body.id))
    t.equal(await app.prisma.accessBundleGrant.count({ where: { guestId: body.id, state: 'active' } }), 1)
    const refused = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'refused-bundle@partner.example', sendEmail: false, bundles: [{ bundle: 'contractor-dev' }] } })
    t.equal(refused.statusCode, 403, 'an inviter without the bundle\'s role invites nobody')
    t.notOk([...simulator.state.users.values()].some((u) => u.mail === 'refused-bundle@partner.example'))
  })
})
