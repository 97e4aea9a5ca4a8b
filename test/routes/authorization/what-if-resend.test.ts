// The what-if and the real resend ask one question (operations/guest-actions.ts checkResend):
// the resend grant, then the invitation to the guest's address as a new one (domain, redirect
// URL, hourly limits). For each case the what-if's answer and rule are what the real route does:
// allowed (and the rule its write's rows carry) or refused (with the same rule, audited), and a
// refusal before the policy (404, 409) is the same problem.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'
import type { Problem, ResendReply } from '../../helpers/replies.js'

const UNKNOWN = '0f000000-0000-4000-8000-00000000abcd'

t.test('what-if resend answers what the real resend does', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    // Guests.Invite: partner.example only, 2 per hour. Guests.Manage: anyone but blocked.example.
    p.roles['Guests.Invite']!.invitations!.allowDomains = ['partner.example']
    p.roles['Guests.Invite']!.invitations!.maxPerHour = 2
    const manage = p.roles['Guests.Manage']!.invitations!
    delete manage.allowDomains
    manage.denyDomains = ['blocked.example']
  })
  const { as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: file })
  const manager = await token(['Guests.Manage'], { name: 'Max Manager' })
  const invite = async (by: string, email: string) => {
    const res = await as(by, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })
    if (res.statusCode !== 201) throw new Error(`invitation of ${email} failed: ${res.body}`)
    return res.json<{ id: string }>().id
  }
  const atOther = await invite(manager, 'olga@other.example')
  const atPartner = await invite(manager, 'pat@partner.example')
  // A guest whose address is on Guests.Manage's deny list (its address changed after the invitation).
  const atBlocked = await invite(manager, 'bo@other.example')
  simulator.state.users.get(atBlocked)!.mail = 'bo@blocked.example'

  // A Guests.Invite caller at its hourly limit (2 invitations sent).
  const busy = await token(['Guests.Invite'], { name: 'Busy Inviter' })
  await invite(busy, 'one@partner.example')
  await invite(busy, 'two@partner.example')

  const caller = {
    inviter: () => token(['Guests.Invite'], { name: 'Ivy Inviter' }),
    manager: () => token(['Guests.Manage'], { name: 'Max Manager' }),
    both: () => token(['Guests.Invite', 'Guests.Manage'], { name: 'Two Roles' }),
    auditor: () => token(['Audit.Read'], { name: 'Aud Itor' }),
    busy: async () => busy,
  }
  interface Case {
    name: string
    as: keyof typeof caller
    guestId: string
    redirectUrl?: string
    /** allowed: 200 and the write's rule; refused: 403/429 with this rule; problem: 404/409 with this code. */
    expect: { allowed: string } | { refused: string; status: 403 | 429 } | { problem: string; status: 404 | 409 }
  }
  const cases: Case[] = [
    { name: 'Guests.Invite, guest at a domain only Guests.Manage may invite', as: 'inviter', guestId: atOther,
      expect: { refused: 'invitations.domain-not-allowed', status: 403 } },
    { name: 'Guests.Invite, guest at its own domain', as: 'inviter', guestId: atPartner,
      expect: { allowed: 'guests.resend:Guests.Invite' } },
    { name: 'Guests.Invite, a redirect URL no role accepts', as: 'inviter', guestId: atPartner, redirectUrl: 'https://evil.example/welcome',
      expect: { refused: 'invitations.redirect-url-not-allowed', status: 403 } },
    { name: 'Guests.Manage, guest at a denied domain', as: 'manager', guestId: atBlocked,
      expect: { refused: 'invitations.domain-denied', status: 403 } },
    { name: 'Guests.Manage, guest at any other domain', as: 'manager', guestId: atOther,
      expect: { allowed: 'guests.resend:Guests.Manage' } },
    { name: 'both roles, guest only Guests.Manage may invite', as: 'both', guestId: atOther,
      expect: { allowed: 'guests.resend:Guests.Manage' } },
    { name: 'Guests.Invite at its hourly limit', as: 'busy', guestId: atPartner,
      expect: { refused: 'invitations.rate-limit', status: 429 } },
    { name: 'no resend grant', as: 'auditor', guestId: atPartner,
      expect: { refused: 'role.missing', status: 403 } },
    { name: 'a guest who already accepted', as: 'inviter', guestId: SEED.users.existingGuest.id,
      expect: { problem: 'invitation_already_accepted', status: 409 } },
    { name: 'a member of the directory', as: 'inviter', guestId: SEED.users.adele.id,
      expect: { problem: 'not_found', status: 404 } },
    { name: 'an unknown id', as: 'inviter', guestId: UNKNOWN,
      expect: { problem: 'not_found', status: 404 } },
  ]

  for (const c of cases) {
    await t.test(c.name, async (t) => {
      const who = await caller[c.as]()
      const target = { guestId: c.guestId, ...(c.redirectUrl ? { redirectUrl: c.redirectUrl } : {}) }
      const sentBefore = simulator.callsTo('POST', /\/invitations$/).length
      const whatIf = await as(who, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'resend', target } })
      t.equal(simulator.callsTo('POST', /\/invitations$/).length, sentBefore, 'the what-if sends nothing')
      const real = await as(who, { method: 'POST', url: `/v1/guests/${c.guestId}/resend-invitation`,
        payload: c.redirectUrl ? { redirectUrl: c.redirectUrl } : {} })

      if ('allowed' in c.expect) {
        t.equal(whatIf.statusCode, 200, whatIf.body)
        t.match(whatIf.json(), { allowed: true, rule: c.expect.allowed }, 'what-if: allowed')
        t.equal(real.statusCode, 200, `the route resends (${real.body})`)
        const rows = await auditRows(databaseUrl, `operation_id = $1 AND status = 'intent'`, [real.json<ResendReply>().operationId])
        t.same(rows.map((r) => [r.action, r.rule_id]), [['guest.resend', c.expect.allowed]], 'the route\'s write carries the what-if\'s rule')
      } else if ('refused' in c.expect) {
        t.equal(whatIf.statusCode, 200, whatIf.body)
        t.match(whatIf.json(), { allowed: false, rule: c.expect.refused }, 'what-if: refused')
        t.equal(real.statusCode, c.expect.status, `the route: ${c.expect.status} (${real.body})`)
        const problem = real.json<Problem>()
        t.equal(problem.rule, c.expect.refused, 'the route refuses by the same rule')
        t.equal(problem.reason, whatIf.json<{ reason: string }>().reason, 'and says the same')
        if (c.expect.status === 429) t.ok(Number(real.headers['retry-after']) > 0, 'Retry-After')
        const rows = await auditRows(databaseUrl, `operation_id = $1`, [problem.operationId])
        t.same(rows.map((r) => [r.status, r.rule_id]), [['denied', c.expect.refused]], 'the refusal is audited')
      } else {
        t.equal(whatIf.statusCode, c.expect.status, whatIf.body)
        t.equal(whatIf.json<Problem>().code, c.expect.problem, 'what-if: the route\'s problem')
        t.equal(real.statusCode, c.expect.status, real.body)
        t.equal(real.json<Problem>().code, c.expect.problem, 'the route: the same problem')
      }
    })
  }

  // Every what-if answer has its row, as before.
  t.equal((await auditRows(databaseUrl, `action = 'authorization.check'`)).length, cases.length, 'every what-if is audited')
})
