// The requester's hourly invitation limit when the caller holds several inviting roles: the limit
// that applies is the one of the roles that allow the invitation (domain and redirect URL). A role
// without a limit for another domain neither lifts it nor turns the limit's 429 into a 403, and
// the count-decide-reserve step stays atomic under a burst (the requester lock is taken whenever
// any of the caller's inviting roles has a limit).
import t from 'tap'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../helpers/policy-file.js'
import type { Problem } from '../helpers/replies.js'

const invitation = (email: string) => ({ method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })

t.test('two roles, one limited: 10 concurrent invitations to the limited role\'s domain, exactly 3 pass, 7 are 429 with Retry-After', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    p.roles['Guests.Invite']!.invitations!.allowDomains = ['partner.example']
    p.roles['Guests.Invite']!.invitations!.maxPerHour = 3
    p.roles['Guests.Manage']!.invitations!.allowDomains = ['fabrikam.example']
    delete p.roles['Guests.Manage']!.invitations!.maxPerHour
  })
  const { as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: file })
  const both = await token(['Guests.Invite', 'Guests.Manage'], { name: 'Two Roles' })

  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => as(both, invitation(`burst${i}@partner.example`))))
  const created = answers.filter((a) => a.statusCode === 201)
  const limited = answers.filter((a) => a.statusCode === 429)
  t.equal(created.length, 3, `exactly 3 invitations (answers: ${answers.map((a) => a.statusCode).join(',')})`)
  t.equal(limited.length, 7, 'the other 7 are 429')
  t.ok(limited.every((a) => a.json<Problem>().rule === 'invitations.rate-limit'), 'each 429 names invitations.rate-limit')
  t.ok(limited.every((a) => {
    const seconds = Number(a.headers['retry-after'])
    return seconds > 0 && seconds <= 3600 && a.json<Problem>().retryAfterSeconds === seconds
  }), 'each 429 says when to come back (Retry-After, at most an hour)')
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 3, 'Graph got 3 invitations')
  const denied = await auditRows(databaseUrl, `status = 'denied' AND action = 'invitation.invite'`)
  t.same(denied.map((r) => r.rule_id), Array(7).fill('invitations.rate-limit'), 'every refusal is audited with its rule')
  const operationIds = new Set(denied.map((r) => r.operation_id))
  t.ok(limited.every((a) => operationIds.has(a.json<Problem>().operationId!)), 'each 429 names its audit row')

  // Sequentially, once over the limit: still the limit's 429 (it is not a domain refusal).
  const again = await as(both, invitation('later@partner.example'))
  t.equal(again.statusCode, 429, again.body)
  t.match(again.json(), { code: 'limit_exceeded', rule: 'invitations.rate-limit', reason: /Guests\.Invite may send 3 per hour/ })
  t.ok(Number(again.headers['retry-after']) > 0 && Number(again.headers['retry-after']) <= 3600, 'Retry-After')
  t.notMatch(again.json<Problem>().reason!, /Guests\.Manage/, 'the role that may not invite partner.example is not named as a limit')
  const row = (await auditRows(databaseUrl, `operation_id = $1`, [again.json<Problem>().operationId]))[0]
  t.match(row, { status: 'denied', decision: 'denied', rule_id: 'invitations.rate-limit' }, 'audited as the single route does')

  // The what-if answers the same.
  const whatIf = await as(both, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'invite', target: { email: 'later@partner.example' } } })
  t.match(whatIf.json(), { allowed: false, rule: 'invitations.rate-limit' })

  // The role without a limit: its own domain is not limited, in a burst too.
  const unlimited = await Promise.all(Array.from({ length: 6 }, (_, i) => as(both, invitation(`free${i}@fabrikam.example`))))
  t.same(unlimited.map((a) => a.statusCode), Array(6).fill(201), 'invitations to fabrikam.example are not limited')

  // A domain neither role may invite: refused by domain, not by the limit.
  const other = await as(both, invitation('eve@evil.example'))
  t.equal(other.statusCode, 403)
  t.equal(other.json<Problem>().rule, 'invitations.domain-not-allowed')
})

t.test('a single role with a limit: unchanged (3 of 10 pass)', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => { p.roles['Guests.Invite']!.invitations!.maxPerHour = 3 })
  const { as, token } = await build(t, { GUESTGATE_POLICY_FILE: file })
  const inviter = await token(['Guests.Invite'])
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => as(inviter, invitation(`one${i}@partner.example`))))
  t.equal(answers.filter((a) => a.statusCode === 201).length, 3)
  t.equal(answers.filter((a) => a.statusCode === 429 && a.json<Problem>().rule === 'invitations.rate-limit').length, 7)
})

t.test('two limited roles for one domain: the more generous limit applies', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    p.roles['Guests.Invite']!.invitations!.allowDomains = ['partner.example']
    p.roles['Guests.Invite']!.invitations!.maxPerHour = 2
    p.roles['Guests.Manage']!.invitations!.allowDomains = ['partner.example', 'fabrikam.example']
    p.roles['Guests.Manage']!.invitations!.maxPerHour = 4
  })
  const { as, token } = await build(t, { GUESTGATE_POLICY_FILE: file })
  const both = await token(['Guests.Invite', 'Guests.Manage'])
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => as(both, invitation(`g${i}@partner.example`))))
  t.equal(answers.filter((a) => a.statusCode === 201).length, 4, 'Guests.Manage\'s 4')
  const limited = answers.filter((a) => a.statusCode === 429)
  t.equal(limited.length, 4)
  t.ok(limited.every((a) => a.json<Problem>().rule === 'invitations.rate-limit' && Number(a.headers['retry-after']) > 0), '429 with Retry-After')
  t.match(limited[0]!.json(), { reason: /Guests\.Invite may send 2 per hour; Guests\.Manage may send 4 per hour/ })
})
