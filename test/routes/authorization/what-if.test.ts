// The what-if (POST /v1/authorization/check): the real route's coarse grant first, then the real
// route's own question function, every answer audited, its own (tighter) rate limit.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import type { Problem } from '../../helpers/replies.js'

const check = (payload: unknown) => ({ method: 'POST', url: '/v1/authorization/check', payload })
const UNKNOWN = '0f000000-0000-4000-8000-00000000abcd'
const GRAPH_SP = SEED.apps.microsoftGraph.id
const DOCUSIGN = SEED.apps.docuSign.id
const MEMBER = SEED.users.adele.id
const GUEST = SEED.users.existingGuest.id

// Issue 9, finding 5: a caller with no role could use the what-if to look up any service
// principal and its roles (unaudited 404/422).
t.test('issue 9 #5: without the route\'s coarse grant, nothing is looked up; every answer is audited', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const nobody = await token([])
  const questions = [
    { action: 'assign', target: { appId: GRAPH_SP, appRole: 'Directory.Read.All' } },
    { action: 'assign', target: { appId: UNKNOWN, appRole: 'Anything' } },
    { action: 'unassign', target: { appId: DOCUSIGN, appRoleId: UNKNOWN } },
    { action: 'addMember', target: { groupId: UNKNOWN } },
    { action: 'delete', target: { guestId: MEMBER } },
    { action: 'read', subject: 'GroupMembership', target: { groupId: SEED.groups.financeAdmins } },
  ]
  for (const question of questions) {
    const res = await as(nobody, check(question))
    t.equal(res.statusCode, 200, `${question.action}: answered (${res.body})`)
    t.match(res.json(), { allowed: false, rule: 'role.missing', reason: /no guestgate role/ })
  }
  t.same(simulator.calls, [], 'no Graph lookup for a caller without the grant')
  const rows = await auditRows(databaseUrl, `action = 'authorization.check'`)
  t.equal(rows.length, questions.length, 'each answer has its row')
  t.ok(rows.every((r) => r.rule_id === 'role.missing' && r.request_summary.allowed === false))
})

t.test('with the grant: a refusal of the question itself (404, 422) is audited too, and is what the route answers', async (t) => {
  const { as, token, databaseUrl } = await build(t)
  const assigner = await token(['Apps.AssignRoles', 'Guests.Manage'])
  const cases = [
    { question: { action: 'delete', target: { guestId: UNKNOWN } }, status: 404,
      real: { method: 'DELETE', url: `/v1/guests/${UNKNOWN}` } },
    { question: { action: 'assign', target: { appId: DOCUSIGN, appRoleId: UNKNOWN } }, status: 422,
      real: { method: 'POST', url: `/v1/apps/${DOCUSIGN}/assignments`, payload: { principalId: GUEST, appRoleId: UNKNOWN } } },
  ]
  for (const c of cases) {
    const answer = await as(assigner, check(c.question))
    t.equal(answer.statusCode, c.status, `what-if: ${c.status}`)
    const real = await as(assigner, c.real)
    t.equal(real.statusCode, c.status, `the route: ${c.status} too`)
    t.equal(answer.json<Problem>().code, real.json<Problem>().code, 'same code')
  }
  const rows = await auditRows(databaseUrl, `action = 'authorization.check'`)
  t.same(rows.map((r) => (r.request_summary.answer as { status: number }).status), [404, 422], 'both refusals are in the log')
  t.ok(rows.every((r) => r.rule_id === null && r.status === 'recorded'))
})

// Issue 9, finding 10: the what-if said "allowed" to delete a member, where the route answers 409.
t.test('issue 9 #10: the what-if answers what the guest routes answer for members and unknown ids', async (t) => {
  const { as, token } = await build(t)
  const manager = await token(['Guests.Manage'])
  const cases = [
    { action: 'delete', guestId: MEMBER, status: 409, code: 'not_a_guest', real: { method: 'DELETE', url: `/v1/guests/${MEMBER}` } },
    { action: 'delete', guestId: UNKNOWN, status: 404, code: 'not_found', real: { method: 'DELETE', url: `/v1/guests/${UNKNOWN}` } },
    { action: 'revokeAccess', guestId: MEMBER, status: 404, code: 'not_found', real: { method: 'POST', url: `/v1/guests/${MEMBER}/revoke-access` } },
    { action: 'resend', guestId: MEMBER, status: 404, code: 'not_found', real: { method: 'POST', url: `/v1/guests/${MEMBER}/resend-invitation` } },
    { action: 'read', guestId: MEMBER, status: 404, code: 'not_found', real: { method: 'GET', url: `/v1/guests/${MEMBER}` } },
  ]
  for (const c of cases) {
    const answer = await as(manager, check({ action: c.action, target: { guestId: c.guestId } }))
    t.equal(answer.statusCode, c.status, `what-if ${c.action} ${c.guestId === MEMBER ? 'a member' : 'an unknown id'}: ${c.status}`)
    t.equal(answer.json<Problem>().code, c.code)
    const real = await as(manager, c.real)
    t.equal(real.statusCode, c.status, `the route: ${c.status} too`)
    t.equal(real.json<Problem>().code, c.code)
  }
  const allowed = await as(manager, check({ action: 'delete', target: { guestId: GUEST } }))
  t.match(allowed.json(), { allowed: true, rule: 'guests.delete:Guests.Manage' }, 'a guest: allowed, as the route would')
})

t.test('the what-if has its own, tighter rate limit; refused checks write no rows', async (t) => {
  const { as, token, databaseUrl } = await build(t, { GUESTGATE_RATE_LIMIT_WHAT_IF_MAX: '3', GUESTGATE_RATE_LIMIT_MAX: '100' })
  const caller = await token(['Guests.Invite'])
  for (let i = 0; i < 3; i++) {
    const res = await as(caller, check({ action: 'invite', target: { email: `p${i}@partner.example` } }))
    t.equal(res.statusCode, 200)
    t.equal(res.headers['ratelimit-limit'], '3')
    t.equal(res.headers['ratelimit-remaining'], String(2 - i))
  }
  const limited = await as(caller, check({ action: 'invite', target: { email: 'p9@partner.example' } }))
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['content-type'], /application\/problem\+json/)
  t.match(limited.json(), { status: 429, code: 'rate_limited', retryAfterSeconds: Number })
  t.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After')
  t.equal((await as(caller, { method: 'GET', url: '/v1/me/permissions' })).statusCode, 200, 'other routes keep the general limit')
  t.equal((await as(await token(['Guests.Invite']), check({ action: 'invite', target: { email: 'x@partner.example' } }))).statusCode, 200,
    'another caller has its own count')
  t.equal((await auditRows(databaseUrl, `action = 'authorization.check'`)).length, 4, 'three checks of the first caller and one of the second')
})
