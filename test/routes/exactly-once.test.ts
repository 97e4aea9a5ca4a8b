// Nothing done twice, nothing lost: concurrent identical requests, Idempotency-Key replays, Graph
// answers that do not say whether a write happened, and limits under a burst.
import { randomUUID } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build, type TestApp } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../helpers/policy-file.js'
import type { InvitationReply, Problem } from '../helpers/replies.js'

const { developers } = SEED.groups
const docuSign = SEED.apps.docuSign
const ALL = ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read']

interface Req { method: string; url: string; payload?: unknown; headers?: Record<string, string> }

/** A client that follows the Idempotency-Key protocol: on 409 (or 503 before anything ran) it waits Retry-After and asks again. */
async function untilSettled(app: TestApp, token: string, request: Req): Promise<LightMyRequestResponse> {
  for (;;) {
    const response = await app.as(token, request)
    // What a client holding an Idempotency-Key retries: the key is busy, or (on a loaded machine)
    // no pooled database connection came within its wait, before anything ran.
    const code = response.statusCode === 409 || response.statusCode === 503 ? response.json<Problem>().code : undefined
    if (code !== 'idempotency_key_in_use' && code !== 'database_unavailable') return response
    await new Promise((resolve) => setTimeout(resolve, Number(response.headers['retry-after']) * 1000))
  }
}

async function invite(app: TestApp, token: string, email: string) {
  const response = await app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })
  if (response.statusCode !== 201) throw new Error(`invitation failed: ${response.body}`)
  return response.json<InvitationReply>().id
}

const intentsWithKey = async (databaseUrl: string, key: string) =>
  (await auditRows(databaseUrl, `status = 'intent' AND request_summary->>'idempotencyKey' = $1`, [key])).length

t.test('20 identical invitations at once, no key: one Graph invitation, the others learn the user exists', async (t) => {
  const app = await build(t)
  const token = await app.token(['Guests.Invite'])
  const answers = await Promise.all(Array.from({ length: 20 }, () =>
    app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: 'twenty@partner.example', sendEmail: true } })))
  const created = answers.filter((a) => a.statusCode === 201)
  const conflicts = answers.filter((a) => a.statusCode === 409)
  t.equal(created.length, 1, 'one invitation')
  t.equal(conflicts.length, 19, 'the others: 409')
  const id = created[0]!.json<InvitationReply>().id
  t.ok(conflicts.every((a) => a.json<Problem>().code === 'user_exists' && a.json<Problem>().existingUserId === id), 'each 409 names the new guest')
  t.equal(app.simulator.callsTo('POST', /\/invitations$/).length, 1, 'Graph got one invitation (one e-mail)')
})

t.test('100 concurrent requests with one Idempotency-Key on each mutating route: one effect, one intent, equal answers', async (t) => {
  // 600 requests and their retries from one caller: above the per-caller rate limit of other tests.
  const app = await build(t, { GUESTGATE_RATE_LIMIT_MAX: '100000' })
  const token = await app.token(ALL)
  const guest = await invite(app, token, 'keyed@partner.example')
  const doomed = await invite(app, token, 'doomed@partner.example')

  const routes: Array<{ name: string; request: Req; graph: [string, RegExp]; other: Req }> = [
    {
      name: 'invite',
      request: { method: 'POST', url: '/v1/invitations', payload: { email: 'once@partner.example', sendEmail: false } },
      graph: ['POST', /\/invitations$/],
      other: { method: 'POST', url: '/v1/invitations', payload: { email: 'other@partner.example', sendEmail: false } },
    },
    {
      name: 'add member',
      request: { method: 'PUT', url: `/v1/groups/${developers}/members/${guest}` },
      graph: ['POST', new RegExp(`/groups/${developers}/members/\\$ref$`)],
      other: { method: 'PUT', url: `/v1/groups/${SEED.groups.marketing}/members/${guest}` },
    },
    {
      name: 'assign role',
      request: { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest, appRole: 'DocuSign.Sender' } },
      graph: ['POST', /\/appRoleAssignedTo$/],
      other: { method: 'POST', url: `/v1/apps/${docuSign.id}/assignments`, payload: { principalId: guest, appRole: 'DocuSign.Viewer' } },
    },
    {
      name: 'resend',
      request: { method: 'POST', url: `/v1/guests/${guest}/resend-invitation` },
      graph: ['POST', /\/invitations$/],
      other: { method: 'POST', url: `/v1/guests/${guest}/resend-invitation`, payload: { message: 'hello again' } },
    },
    {
      name: 'revoke',
      request: { method: 'POST', url: `/v1/guests/${guest}/revoke-access` },
      graph: ['DELETE', /\/(members\/[^/]+\/\$ref|appRoleAssignedTo\/[^/]+)$/],
      other: { method: 'POST', url: `/v1/guests/${doomed}/revoke-access` },
    },
    {
      name: 'delete',
      request: { method: 'DELETE', url: `/v1/guests/${doomed}` },
      graph: ['DELETE', new RegExp(`/users/${doomed}$`)],
      other: { method: 'DELETE', url: `/v1/guests/${guest}` },
    },
  ]

  for (const route of routes) {
    const key = randomUUID()
    const headers = { 'idempotency-key': key }
    const graphBefore = app.simulator.callsTo(...route.graph).length
    const answers = await Promise.all(Array.from({ length: 100 }, () => untilSettled(app, token, { ...route.request, headers })))
    const first = answers.filter((a) => a.headers['idempotent-replayed'] === undefined)
    t.equal(first.length, 1, `${route.name}: one request ran`)
    t.ok(first[0]!.statusCode < 300, `${route.name}: it succeeded (${first[0]!.statusCode})`)
    t.ok(answers.every((a) => a.statusCode === first[0]!.statusCode && a.body === first[0]!.body), `${route.name}: 100 equal answers`)
    t.equal(answers.filter((a) => a.headers['idempotent-replayed'] === 'true').length, 99, `${route.name}: 99 replays say so`)
    const effects = app.simulator.callsTo(...route.graph).length - graphBefore
    t.equal(effects, route.name === 'revoke' ? 2 : 1, `${route.name}: Graph changed once (revoke: its two parts)`)
    t.equal(await intentsWithKey(app.databaseUrl, key), route.name === 'revoke' ? 2 : 1, `${route.name}: one intent row per Graph write`)

    const reused = await app.as(token, { ...route.other, headers })
    t.equal(reused.statusCode, 422, `${route.name}: the key with another request is refused`)
    t.match(reused.json(), { code: 'idempotency_key_reused', errors: [{ field: 'header/idempotency-key' }] })
  }
})

t.test('an Idempotency-Key that is not a String is a 400 naming the header', async (t) => {
  const app = await build(t)
  const token = await app.token(['Guests.Invite'])
  const response = await app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: 'x@partner.example' }, headers: { 'idempotency-key': 'has space' } })
  t.equal(response.statusCode, 400)
  t.match(response.json(), { errors: [{ field: 'header/idempotency-key' }] })
})

for (const status of [504, 500] as const) {
  t.test(`Graph applies the invitation, then answers ${status}: settled by reading, one invitation, the caller gets the guest`, async (t) => {
    const app = await build(t)
    const token = await app.token(['Guests.Invite', 'Groups.ManageMembers'])
    app.simulator.faults.inject({ method: 'POST', path: '/invitations', afterApply: { status } })
    const response = await app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: `applied${status}@partner.example`, sendEmail: false, groups: [developers] } })
    t.equal(response.statusCode, 201, response.body)
    const body = response.json<InvitationReply>()
    t.equal(body.inviteRedeemUrl, null, 'the redeem link was in the lost answer')
    t.equal(body.outcome, 'complete', 'the group part ran on the verified guest')
    t.equal(app.simulator.callsTo('POST', /\/invitations$/).length, 1, 'the invitation was not sent again')
    t.equal([...app.simulator.state.users.values()].filter((u) => u.mail === `applied${status}@partner.example`).length, 1)
    const rows = await auditRows(app.databaseUrl, `action = 'invitation.invite'`)
    t.same(rows.map((r) => r.status), ['intent', 'succeeded'])
    t.match(rows[1], { graph_status: status, target_id: body.id, request_summary: { settlement: { by: 'read', effect: 'present' } } })
  })
}

t.test('Graph applies a group membership, then answers 502: one write, settled as succeeded', async (t) => {
  const app = await build(t)
  const token = await app.token(['Guests.Invite', 'Groups.ManageMembers'])
  const guest = await invite(app, token, 'member502@partner.example')
  app.simulator.faults.inject({ method: 'POST', path: '/members/$ref', afterApply: { status: 502 } })
  const response = await app.as(token, { method: 'PUT', url: `/v1/groups/${developers}/members/${guest}` })
  t.equal(response.statusCode, 200, response.body)
  t.equal(app.simulator.callsTo('POST', /\/members\/\$ref$/).length, 1)
  t.ok(app.simulator.state.memberships.get(developers)?.has(guest))
})

t.test('Graph answers 500 without applying: settled as failed by reading, not sent again', async (t) => {
  const app = await build(t)
  const token = await app.token(['Guests.Invite'])
  app.simulator.faults.inject({ method: 'POST', path: '/invitations', status: 500 })
  const response = await app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: 'lost500@partner.example', sendEmail: false } })
  t.equal(response.statusCode, 502)
  t.equal(app.simulator.callsTo('POST', /\/invitations$/).length, 1, 'not re-sent')
  const rows = await auditRows(app.databaseUrl, `action = 'invitation.invite'`)
  t.same(rows.map((r) => r.status), ['intent', 'failed'])
  t.match(rows[1], { graph_status: 500, request_summary: { settlement: { effect: 'absent' } } })
})

t.test('Graph applies, then hangs: the caller gets 504 at the deadline, the outcome is settled by reading', async (t) => {
  const app = await build(t, { GRAPH_TIMEOUT_MS: '5000' })
  const token = await app.token(['Guests.Invite'])
  app.simulator.faults.inject({ method: 'POST', path: '/invitations', afterApply: { hang: true } })
  const settled = new Promise<{ effect: string; operationId: string }>((resolve) => app.app.graphOps.events.once('settled', resolve))
  const response = await app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: 'hung@partner.example', sendEmail: false } })
  t.equal(response.statusCode, 504)
  t.match(response.json(), { code: 'graph_timeout' })
  const settlement = await settled
  t.equal(settlement.effect, 'present')
  t.equal(settlement.operationId, response.json<Problem>().operationId)
  const rows = await auditRows(app.databaseUrl, `action = 'invitation.invite'`)
  t.same(rows.map((r) => r.status), ['intent', 'reconciled'])
  t.equal(app.simulator.callsTo('POST', /\/invitations$/).length, 1, 'never re-sent')
})

t.test('50 concurrent invitations with maxPerHour 3: exactly 3 pass, 47 get 429 with Retry-After, all audited', async (t) => {
  const policy = await sandboxPolicyWith(t, (p) => { p.roles['Guests.Invite']!.invitations!.maxPerHour = 3 })
  const app = await build(t, { GUESTGATE_POLICY_FILE: policy })
  const token = await app.token(['Guests.Invite'])
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: `burst${i}@partner.example`, sendEmail: false } })))
  t.equal(answers.filter((a) => a.statusCode === 201).length, 3)
  const limited = answers.filter((a) => a.statusCode === 429)
  t.equal(limited.length, 47)
  t.ok(limited.every((a) => Number(a.headers['retry-after']) > 0 && a.json<Problem>().rule === 'invitations.rate-limit'), '429 problem with Retry-After and the rule')
  t.equal(app.simulator.callsTo('POST', /\/invitations$/).length, 3)
  const denied = await auditRows(app.databaseUrl, `status = 'denied' AND rule_id = 'invitations.rate-limit'`)
  t.equal(denied.length, 47, 'every refusal has its audit row')
  const operationIds = new Set(denied.map((r) => r.operation_id))
  t.ok(limited.every((a) => operationIds.has(a.json<{ operationId: string }>().operationId)), 'each 429 names its audit row')

  const first = answers.find((a) => a.statusCode === 201)!.json<InvitationReply>().id
  const resend = await app.as(token, { method: 'POST', url: `/v1/guests/${first}/resend-invitation` })
  t.equal(resend.statusCode, 429, 'resends count against the limit')
})

t.test('the tenant-wide limit holds for several requesters at once', async (t) => {
  const policy = await sandboxPolicyWith(t, (p) => { p.limits = { invitationsPerHour: 4 } })
  const app = await build(t, { GUESTGATE_POLICY_FILE: policy })
  const tokens = await Promise.all([app.token(['Guests.Invite'], { name: 'Ann' }), app.token(['Guests.Manage'], { name: 'Bob' })])
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    app.as(tokens[i % 2]!, { method: 'POST', url: '/v1/invitations', payload: { email: `tenant${i}@partner.example`, sendEmail: false } })))
  t.equal(answers.filter((a) => a.statusCode === 201).length, 4)
  t.ok(answers.filter((a) => a.statusCode === 429).every((a) => a.json<Problem>().rule === 'invitations.tenant-rate-limit'))
  t.equal(answers.filter((a) => a.statusCode === 429).length, 26)
})
