// The engine's hourly invitation limit with several inviting roles: the limit that applies is the
// one of the roles that allow the invitation (domain and redirect URL); a role that may not invite
// the domain neither lifts that limit nor turns its 429 into a domain refusal.
import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { createPolicyEngine } from '../../src/policies/policy-engine.js'
import { loadPolicyFile } from '../../src/policies/policy-file.js'
import type { PolicyContext, PolicyTarget } from '../../src/policies/types.js'
import { sandboxPolicyWith } from '../helpers/policy-file.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const env = { tenantId: TENANT, ownApplicationId: 'b0000000-0000-4000-8000-000000000004' }
const GI = 'Guests.Invite'
const GM = 'Guests.Manage'
const PORTAL = 'https://portal.fabrikam.example/welcome'

const invitation = (email: string, redirectUrl = 'https://myapps.microsoft.com/'): PolicyTarget => ({ type: 'Invitation', email, redirectUrl })
const principal = (...roles: string[]): Principal => ({ oid: 'f0000000-0000-4000-8000-000000000001', name: 'Adele Vance', tenantId: TENANT, roles })

t.test('one limited role and one without a limit, for different domains', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    p.roles[GI]!.invitations!.allowDomains = ['partner.example']
    p.roles[GI]!.invitations!.maxPerHour = 3
    p.roles[GM]!.invitations!.allowDomains = ['fabrikam.example']
    p.roles[GM]!.invitations!.redirectUrlPrefixes = ['https://myapps.microsoft.com/', PORTAL]
    delete p.roles[GM]!.invitations!.maxPerHour
  })
  const engine = createPolicyEngine(await loadPolicyFile(file), env)
  const both = principal(GI, GM)
  const inAnHour = (seconds: number) => new Date(Date.now() + seconds * 1000)

  const cases: [email: string, context: PolicyContext, allowed: boolean, rule: string, redirectUrl?: string][] = [
    ['bob@partner.example', { invitationsInLastHour: 2 }, true, 'invitations.allowed-domain:Guests.Invite'],
    ['bob@partner.example', { invitationsInLastHour: 3 }, false, 'invitations.rate-limit'],
    ['bob@partner.example', { invitationsInLastHour: 50 }, false, 'invitations.rate-limit'],
    ['ann@fabrikam.example', { invitationsInLastHour: 50 }, true, 'invitations.allowed-domain:Guests.Manage'],
    // Neither role may invite it: a domain refusal, whatever the count (no limit applies to it).
    ['eve@evil.example', { invitationsInLastHour: 50 }, false, 'invitations.domain-not-allowed'],
    ['eve@evil.example', {}, false, 'invitations.domain-not-allowed'],
    // Only Guests.Manage accepts fabrikam's portal as the redirect URL, and it may not invite partner.example.
    ['bob@partner.example', { invitationsInLastHour: 0 }, false, 'invitations.domain-not-allowed', PORTAL],
    ['ann@fabrikam.example', { invitationsInLastHour: 50 }, true, 'invitations.allowed-domain:Guests.Manage', PORTAL],
  ]
  for (const [email, context, allowed, rule, redirectUrl] of cases) {
    const decision = engine.decide(both, 'invite', invitation(email, redirectUrl), context)
    t.match(decision, { allowed, rule }, `${email} after ${context.invitationsInLastHour ?? 0}${redirectUrl ? ` to ${redirectUrl}` : ''}: ${rule}`)
  }

  const refusal = engine.decide(both, 'invite', invitation('bob@partner.example'),
    { invitationsInLastHour: 3, retryAt: { requester: null, tenant: null, requesterAt: { 3: inAnHour(600) } } })
  t.equal(refusal.reason, 'You have sent 3 invitations in the last hour; Guests.Invite may send 3 per hour. Try again later.',
    'the limit named is the one of the role that allows the invitation')
  t.ok(refusal.retryAfterSeconds! >= 599 && refusal.retryAfterSeconds! <= 600, `Retry-After from when the count falls below 3 (${refusal.retryAfterSeconds})`)

  t.same(engine.invitationLimitsOf(both), { requester: undefined, requesterLimits: [3], tenant: undefined },
    'a portal sees no single limit; the requester is still counted under its lock (one role has a limit)')
  t.same(engine.invitationLimitsOf(principal(GM)), { requester: undefined, requesterLimits: [], tenant: undefined }, 'no limited role: no lock')
  t.same(engine.invitationLimitsOf(principal(GI)), { requester: 3, requesterLimits: [3], tenant: undefined })
})

t.test('two limited roles for one domain: the more generous one applies, with its Retry-After', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => {
    p.roles[GI]!.invitations!.allowDomains = ['partner.example']
    p.roles[GI]!.invitations!.maxPerHour = 2
    p.roles[GM]!.invitations!.allowDomains = ['partner.example', 'fabrikam.example']
    p.roles[GM]!.invitations!.maxPerHour = 4
  })
  const engine = createPolicyEngine(await loadPolicyFile(file), env)
  const both = principal(GI, GM)
  const at = (seconds: number) => new Date(Date.now() + seconds * 1000)
  const retryAt = { requester: at(900), tenant: null, requesterAt: { 2: at(1800), 4: at(900) } }

  t.match(engine.decide(both, 'invite', invitation('bob@partner.example'), { invitationsInLastHour: 3, retryAt }),
    { allowed: true, rule: 'invitations.allowed-domain:Guests.Manage' }, 'over Guests.Invite\'s 2, under Guests.Manage\'s 4')
  const refusal = engine.decide(both, 'invite', invitation('bob@partner.example'), { invitationsInLastHour: 4, retryAt })
  t.match(refusal, { allowed: false, rule: 'invitations.rate-limit', reason: /Guests\.Invite may send 2 per hour; Guests\.Manage may send 4 per hour/ })
  t.ok(refusal.retryAfterSeconds! > 890 && refusal.retryAfterSeconds! <= 900, `when the count falls below 4, not 2 (${refusal.retryAfterSeconds})`)
  t.same(engine.invitationLimitsOf(both), { requester: 4, requesterLimits: [2, 4], tenant: undefined })
})

t.test('the tenant limit still comes before the domain, as before', async (t) => {
  const file = await sandboxPolicyWith(t, (p) => { p.limits = { invitationsPerHour: 5 } })
  const engine = createPolicyEngine(await loadPolicyFile(file), env)
  t.match(engine.decide(principal(GI), 'invite', invitation('eve@evil.example'), { tenantInvitationsInLastHour: 5 }),
    { allowed: false, rule: 'invitations.tenant-rate-limit', retryAfterSeconds: 3600 })
})
