// Offboarding on revoke-access (issue 14, point 5) through HTTP, the real Graph SDK and the
// simulator: block sign-in and revoke sessions, each audited and its own policy action; a part the
// requester may not do is kept with the rule and reason; a dry run plans both; a write whose
// answer is lost is settled by reading Graph.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'

const { developers } = SEED.groups

interface Part { kind: string; target: string; status: string; rule?: string; reason?: string; operationId?: string }
interface Revoked { guestId: string; operationId: string; outcome: string; parts: Part[] }

t.test('revoke-access with blockSignIn and revokeSessions', async (t) => {
  // Audit.Read may also revoke access here, but neither block sign-in nor revoke sessions.
  const policy = await sandboxPolicyWith(t, (p) => { p.roles['Audit.Read']!.guests = { read: true, revokeAccess: true } })
  const { as, token, simulator, databaseUrl, config } = await build(t, { GUESTGATE_POLICY_FILE: policy })
  const manager = await token(['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers'])
  const limited = await token(['Audit.Read'])
  const invite = async (email: string) =>
    (await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false, groups: [developers] } })).json<{ id: string }>().id
  const user = (id: string) => simulator.state.users.get(id)!
  const control = `${config.graphBaseUrl!.replace(/\/v1\.0$/, '')}/_simulator`

  // The guest redeems (the simulator's control call stands for the guest opening the link).
  const guest = await invite('leaver@partner.example')
  const redeemed = await fetch(`${control}/users/${guest}/redeem`, { method: 'POST' })
  t.equal(redeemed.status, 200)
  t.equal(user(guest).externalUserState, 'Accepted')

  const options = { blockSignIn: true, revokeSessions: true }
  const dry = await as(manager, { method: 'POST', url: `/v1/guests/${guest}/revoke-access?dryRun=true`, payload: options })
  t.equal(dry.statusCode, 200, dry.body)
  const plan = dry.json<{ graphCalls: Array<{ method: string; path: string; body?: unknown }>; decisions: Array<{ action: string; allowed: boolean }> }>()
  t.match(plan.graphCalls.slice(0, 2), [
    { method: 'PATCH', path: `/users/${guest}`, body: { accountEnabled: false } },
    { method: 'POST', path: `/users/${guest}/revokeSignInSessions` },
  ], 'the dry run plans both offboarding writes first')
  t.ok(['blockSignIn', 'revokeSessions'].every((action) => plan.decisions.some((d) => d.action === action && d.allowed)), 'and the policy questions they ask')
  t.equal(user(guest).accountEnabled, true, 'a dry run changes nothing')
  t.equal(user(guest).signInSessionsValidFromDateTime, null)

  const response = await as(manager, { method: 'POST', url: `/v1/guests/${guest}/revoke-access`, payload: options })
  t.equal(response.statusCode, 200, response.body)
  const revoked = response.json<Revoked>()
  t.equal(revoked.outcome, 'complete')
  t.match(revoked.parts.slice(0, 3), [
    { kind: 'blockSignIn', target: guest, status: 'succeeded' },
    { kind: 'revokeSessions', target: guest, status: 'succeeded' },
    { kind: 'group', target: developers, status: 'succeeded' },
  ])
  t.equal(user(guest).accountEnabled, false, 'Graph holds the account as disabled')
  t.match(user(guest).signInSessionsValidFromDateTime, /^\d{4}-\d\d-\d\dT/, 'sessions were revoked')
  for (const action of ['guest.blockSignIn', 'guest.revokeSessions']) {
    const rows = await auditRows(databaseUrl, `action = $1 AND operation_id = $2`, [action, revoked.operationId])
    t.same(rows.map((r) => r.status), ['intent', 'succeeded'], `${action}: intent and outcome rows`)
  }
  t.match((await as(manager, { method: 'GET', url: `/v1/guests/${guest}` })).json(), { accountEnabled: false })
  const signIn = await fetch(`${control}/users/${guest}/sign-in-activity`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.equal(signIn.status, 200, 'the control surface still answers for a disabled user')

  // Again: the account is already disabled, nothing is sent for it.
  const patchesBefore = simulator.calls.filter((c) => c.method === 'PATCH').length
  const again = (await as(manager, { method: 'POST', url: `/v1/guests/${guest}/revoke-access`, payload: { blockSignIn: true } })).json<Revoked>()
  t.match(again.parts, [{ kind: 'blockSignIn', status: 'unchanged' }])
  t.equal(simulator.calls.filter((c) => c.method === 'PATCH').length, patchesBefore)

  // A requester whose roles give neither option: both kept with rule and reason, the rest still done.
  const other = await invite('stays-enabled@partner.example')
  const keptResponse = await as(limited, { method: 'POST', url: `/v1/guests/${other}/revoke-access`, payload: options })
  t.equal(keptResponse.statusCode, 200, keptResponse.body)
  const kept = keptResponse.json<Revoked>()
  t.match(kept.parts.slice(0, 3), [
    { kind: 'blockSignIn', status: 'kept', rule: 'role.missing', reason: /block guests from signing in/ },
    { kind: 'revokeSessions', status: 'kept', rule: 'role.missing', reason: /revoke guests' sign-in sessions/ },
    { kind: 'group', target: developers, status: 'succeeded' },
  ])
  t.equal(kept.outcome, 'complete', 'kept parts are not failures')
  t.equal(user(other).accountEnabled, true, 'the account stays enabled')
  t.equal(user(other).signInSessionsValidFromDateTime, null)
  const denials = await auditRows(databaseUrl, `status = 'denied' AND operation_id = $1 AND action LIKE 'guest.%'`, [kept.operationId])
  t.same(denials.map((r) => [r.action, r.rule_id]).sort(), [['guest.blockSignIn', 'role.missing'], ['guest.revokeSessions', 'role.missing']], 'each kept option has its audit row')

  // The what-if answers each option's own question.
  const ask = async (caller: string, action: string) =>
    (await as(caller, { method: 'POST', url: '/v1/authorization/check', payload: { action, target: { guestId: other } } })).json<{ allowed: boolean; rule: string }>()
  t.match(await ask(manager, 'blockSignIn'), { allowed: true, rule: 'guests.block-sign-in:Guests.Manage' })
  t.match(await ask(manager, 'revokeSessions'), { allowed: true, rule: 'guests.revoke-sessions:Guests.Manage' })
  t.match(await ask(limited, 'blockSignIn'), { allowed: false, rule: 'role.missing' })

  // Graph disables the account, then the answer is lost: settled by reading, not sent again.
  simulator.faults.inject({ method: 'PATCH', path: `/users/${other}`, afterApply: { status: 502 } })
  const settled = (await as(manager, { method: 'POST', url: `/v1/guests/${other}/revoke-access`, payload: { blockSignIn: true } })).json<Revoked>()
  t.match(settled.parts[0], { kind: 'blockSignIn', status: 'succeeded' })
  t.equal(simulator.calls.filter((c) => c.method === 'PATCH' && c.path.endsWith(other)).length, 1, 'one PATCH')
  t.equal(user(other).accountEnabled, false)
  const outcome = await auditRows(databaseUrl, `action = 'guest.blockSignIn' AND status = 'succeeded' AND operation_id = $1`, [settled.operationId])
  t.match(outcome[0]?.request_summary, { settlement: { by: 'read', effect: 'present' } })
})

t.test('revoking sessions succeeds whichever 2xx Graph answers (204 as documented, 200 with true as it does today)', async (t) => {
  // Before: anything but 200 with an Edm.Boolean was an invalid response: an ambiguous outcome,
  // settled by reading Graph (a read more, and a "reconciled" row instead of "succeeded").
  const { as, token, simulator, databaseUrl } = await build(t)
  const manager = await token(['Guests.Invite', 'Guests.Manage'])
  for (const answer of ['no-content', 'boolean'] as const) {
    simulator.state.revokeSignInSessionsAnswer = answer
    const guest = (await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: `sessions.${answer}@partner.example`, sendEmail: false } })).json<{ id: string }>().id
    const response = await as(manager, { method: 'POST', url: `/v1/guests/${guest}/revoke-access`, payload: { revokeSessions: true } })
    t.equal(response.statusCode, 200, response.body.slice(0, 300))
    t.match(response.json(), { outcome: 'complete', parts: [{ kind: 'revokeSessions', target: guest, status: 'succeeded' }] }, answer)
    t.match(simulator.state.users.get(guest)!.signInSessionsValidFromDateTime, /^\d{4}-/, `${answer}: sessions revoked`)
    const rows = await auditRows(databaseUrl, `action = 'guest.revokeSessions' AND target_id = $1`, [guest])
    t.same(rows.map((r) => r.status), ['intent', 'succeeded'], `${answer}: intent and outcome`)
    t.notOk((rows[1]?.request_summary as { settlement?: unknown } | undefined)?.settlement, `${answer}: Graph's answer is the outcome, not a settling read`)
  }
})
