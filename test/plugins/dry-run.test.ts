// ?dryRun=true on every mutating route: the request's own code runs up to Graph; the answer says
// what it decided and which writes it would send; nothing changes. Then the real request: it gets
// the answer the dry run foresaw, asks with the same rules, and sends the planned writes.
import t from 'tap'
import { PLANNED_OBJECT_ID } from '../../src/graph/graph-gateway.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import type { SimulatorControl } from '../../src/graph/simulator/graph-simulator.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import type { AssignmentReply, DryRunReply, InvitationReply } from '../helpers/replies.js'

const { developers, marketing, financeAdmins } = SEED.groups
const { docuSign } = SEED.apps
const ALL = ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles']

/** Everything the directory holds, comparable. */
function snapshot(sim: SimulatorControl): string {
  const { state } = sim
  return JSON.stringify({
    users: [...state.users.values()],
    memberships: [...state.memberships].map(([group, members]) => [group, [...members].sort()]),
    assignments: [...state.assignments.values()],
    invitations: state.invitations.length,
  })
}

const writes = (sim: SimulatorControl, from: number) => sim.calls.slice(from).filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`)

t.test('a table of requests: the dry run foresees the answer, the rules and the Graph writes, and changes nothing', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const caller = await token(ALL)
  const guest = (await as(caller, { method: 'POST', url: '/v1/invitations', payload: { email: 'table@partner.example', sendEmail: false, groups: [developers] } })).json<InvitationReply>().id
  const assignment = (await as(caller, { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest, appRole: 'DocuSign.Viewer' } })).json<AssignmentReply>().assignment.id
  simulator.state.memberships.get(financeAdmins)!.add(guest)
  const doomed = (await as(caller, { method: 'POST', url: '/v1/invitations', payload: { email: 'doomed@partner.example', sendEmail: false } })).json<InvitationReply>().id

  const table: Array<{ name: string; method: string; url: string; payload?: unknown }> = [
    { name: 'onboarding', method: 'POST', url: '/v1/invitations', payload: { email: 'new@partner.example', sendEmail: false, groups: [marketing], appRoles: [{ appId: docuSign.id, appRole: 'DocuSign.Sender' }] } },
    { name: 'a denied domain', method: 'POST', url: '/v1/invitations', payload: { email: 'eve@evil.example' } },
    { name: 'an existing user', method: 'POST', url: '/v1/invitations', payload: { email: 'table@partner.example' } },
    { name: 'a role-assignable group', method: 'PUT', url: `/v1/groups/${financeAdmins}/members/${guest}` },
    { name: 'add to a group', method: 'PUT', url: `/v1/groups/${marketing}/members/${guest}` },
    { name: 'grant a role', method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest, appRole: 'DocuSign.Sender' } },
    { name: 'remove a role', method: 'DELETE', url: `/v1/apps/${docuSign.id}/assignments/${assignment}` },
    { name: 'resend', method: 'POST', url: `/v1/guests/${guest}/resend-invitation` },
    { name: 'revoke access (with kept parts)', method: 'POST', url: `/v1/guests/${guest}/revoke-access` },
    { name: 'delete a guest', method: 'DELETE', url: `/v1/guests/${doomed}` },
  ]

  for (const request of table) {
    const before = snapshot(simulator)
    const callsBefore = simulator.calls.length
    const dry = await as(caller, { ...request, url: `${request.url}?dryRun=true` })
    t.equal(dry.statusCode, 200, `${request.name}: the dry run answers`)
    t.match(dry.headers['content-type'], /application\/vnd\.guestgate\.dry-run\+json/)
    const plan = dry.json<DryRunReply>()
    t.equal(snapshot(simulator), before, `${request.name}: the directory is unchanged`)
    t.same(writes(simulator, callsBefore), [], `${request.name}: no write reached Graph`)
    t.equal((await auditRows(databaseUrl, `operation_id = $1`, [plan.operationId])).map((r) => r.status).join(), 'dry-run', `${request.name}: one dry-run audit row`)

    const realFrom = simulator.calls.length
    const real = await as(caller, request)
    t.equal(real.statusCode, plan.wouldAnswer.status, `${request.name}: the real request gets the foreseen ${plan.wouldAnswer.status}`)
    const newId = real.statusCode === 201 ? real.json<{ id: string }>().id : PLANNED_OBJECT_ID
    const planned = plan.graphCalls.map((c) => `${c.method} ${c.path.replaceAll(PLANNED_OBJECT_ID, newId)}`)
    t.same(writes(simulator, realFrom), planned, `${request.name}: the planned writes are the real ones`)

    const rows = await auditRows(databaseUrl, `request_id = $1`, [real.headers['x-request-id']])
    const allowedRules = new Set(plan.decisions.filter((d) => d.allowed).map((d) => d.rule))
    t.ok(rows.filter((r) => r.status === 'intent').every((r) => allowedRules.has(r.rule_id!)), `${request.name}: each write's rule was foreseen`)
    const denial = rows.find((r) => r.status === 'denied' && !/kept/.test(r.reason ?? ''))
    if (real.statusCode === 403) {
      t.equal(denial?.rule_id, plan.decisions.find((d) => !d.allowed)?.rule, `${request.name}: refused by the foreseen rule`)
    }
  }
})

t.test('a dry run is not an idempotent replay, does not spend limits, and unauthenticated callers get their 401', async (t) => {
  const { as, token, app, simulator } = await build(t)
  const caller = await token(['Guests.Invite'])
  const headers = { 'idempotency-key': 'dry-1' }
  const dry = await as(caller, { method: 'POST', url: '/v1/invitations?dryRun=true', payload: { email: 'once@partner.example', sendEmail: false }, headers })
  t.equal(dry.statusCode, 200)
  const real = await as(caller, { method: 'POST', url: '/v1/invitations', payload: { email: 'once@partner.example', sendEmail: false }, headers })
  t.equal(real.statusCode, 201, 'the key was not taken by the dry run')
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 1)
  const anonymous = await app.inject({ method: 'POST', url: '/v1/invitations?dryRun=true', payload: { email: 'x@partner.example' } })
  t.equal(anonymous.statusCode, 401)
})
