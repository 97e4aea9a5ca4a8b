// A part the expiry sweep keeps because a hard refusal holds at sweep time (the group became
// role-assignable, the application is Microsoft Graph's) is reported kept with its denial row,
// as revoke-access records its kept parts; when that row cannot be written the item is not
// done: the next sweep tries again.
import t from 'tap'
import { EXPIRY_PRINCIPAL_OID } from '../../src/auth/principal.js'
import { MICROSOFT_GRAPH_APP_ID } from '../../src/graph/graph-gateway.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import { sql } from '../helpers/database.js'
import { jira, lifecyclePolicy, marketing } from '../routes/lifecycle/lifecycle-policy.js'
import { HOUR, iso, testClock } from '../routes/lifecycle/sweep-at.js'


t.test('parts the sweep keeps have their denial rows', async (t) => {
  const time = testClock()
  const { app, as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: await lifecyclePolicy(t) }, { app: { expiry: { clock: time.clock } } })
  const sweepAt = time.sweeper(app)
  const granter = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'], { name: 'Grace Granter' })
  const invite = async (email: string) => (await as(granter, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })).json<{ id: string }>().id
  const inAnHour = () => iso(time.now() + HOUR)
  const denials = (guestId: string) => auditRows(databaseUrl, `status = 'denied' AND target_id = $1`, [guestId])
  /** Hard refusals at sweep time: Marketing role-assignable, Jira Microsoft Graph's. */
  const refuseAtSweep = () => {
    const group = simulator.state.groups.get(marketing)!
    const sp = simulator.state.servicePrincipals.get(jira.id)!
    const before = { assignable: group.isAssignableToRole, appId: sp.appId }
    group.isAssignableToRole = true
    sp.appId = MICROSOFT_GRAPH_APP_ID
    return () => { group.isAssignableToRole = before.assignable; sp.appId = before.appId }
  }

  await t.test('a group membership, an app role and a bundle\'s parts: kept, each with its denial row', async (t) => {
    const member = await invite('member@partner.example')
    t.equal((await as(granter, { method: 'PUT', url: `/v1/groups/${marketing}/members/${member}`, payload: { expiresAt: inAnHour() } })).statusCode, 200)
    const holder = await invite('holder@partner.example')
    t.equal((await as(granter, { method: 'POST', url: `/v1/apps/${jira.id}/assignments`, payload: { principalId: holder, appRole: 'User', expiresAt: inAnHour() } })).statusCode, 201)
    const bundled = await invite('bundled@partner.example')
    t.equal((await as(granter, { method: 'POST', url: `/v1/guests/${bundled}/bundles`, payload: { bundle: 'partner-full', expiresAt: inAnHour() } })).statusCode, 200)

    const restore = refuseAtSweep()
    const report = await sweepAt(time.now() + 2 * HOUR)
    restore()
    t.equal(report.expired.length, 3, 'each item is done')
    t.same(report.expired.flatMap((r) => r.parts.map((p) => [p.status, p.rule])).sort(), [
      ['kept', 'apps.protected-application'], ['kept', 'apps.protected-application'], ['kept', 'groups.role-assignable'], ['kept', 'groups.role-assignable'],
    ])
    t.match(await denials(member), [{ action: 'groupMembership.removeMember', rule_id: 'groups.role-assignable', actor_oid: EXPIRY_PRINCIPAL_OID, request_summary: { part: marketing, expiry: { kind: 'group' } } }])
    t.match(await denials(holder), [{ action: 'appRoleAssignment.unassign', rule_id: 'apps.protected-application', actor_oid: EXPIRY_PRINCIPAL_OID, request_summary: { expiry: { kind: 'appRole' } } }])
    const bundleRows = await denials(bundled)
    t.same(bundleRows.map((r) => [r.action, r.rule_id]), [['groupMembership.removeMember', 'groups.role-assignable'], ['appRoleAssignment.unassign', 'apps.protected-application']])
    t.equal(new Set(bundleRows.map((r) => r.operation_id)).size, 1, 'under the operation id of the bundle\'s expiry')
    t.ok(simulator.state.memberships.get(marketing)!.has(member), 'the refused membership is kept')
  })

  await t.test('a denial row that cannot be written: the item stays for the next sweep', async (t) => {
    const member = await invite('unrecorded@partner.example')
    t.equal((await as(granter, { method: 'PUT', url: `/v1/groups/${marketing}/members/${member}`, payload: { expiresAt: inAnHour() } })).statusCode, 200)
    await sql(databaseUrl, `CREATE FUNCTION refuse_denied() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit table unavailable'; END $$;
      CREATE TRIGGER refuse_denied BEFORE INSERT ON audit_events FOR EACH ROW WHEN (NEW.status = 'denied') EXECUTE FUNCTION refuse_denied();`)
    const restore = refuseAtSweep()
    const failed = await sweepAt(time.now() + 2 * HOUR)
    t.equal(failed.expired.length, 0, 'not done')
    t.equal(failed.failed.length, 1, 'failed, not kept without its row')
    t.match(await app.prisma.accessExpiry.findFirstOrThrow({ where: { guestId: member } }), { state: 'active' })

    await sql(databaseUrl, 'DROP TRIGGER refuse_denied ON audit_events; DROP FUNCTION refuse_denied();')
    const retried = await sweepAt(time.now() + HOUR)
    restore()
    t.match(retried.expired, [{ parts: [{ status: 'kept', rule: 'groups.role-assignable' }] }])
    t.match(await denials(member), [{ action: 'groupMembership.removeMember', rule_id: 'groups.role-assignable' }])
  })
})
