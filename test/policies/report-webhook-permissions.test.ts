// The permissions of hygiene reports and webhooks, as a table: who may read reports, clean up
// from them and manage webhook subscriptions under the sandbox policy, and the file's checks.
import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { loadPolicyFile, parsePolicyDocument, PolicyFileError } from '../../src/policies/policy-file.js'
import { createPolicyEngine } from '../../src/policies/policy-engine.js'
import type { PolicyAction, PolicyTarget } from '../../src/policies/types.js'
import { repoFile } from '../helpers/repo.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const env = { tenantId: TENANT, ownApplicationId: 'b0000000-0000-4000-8000-000000000004' }
const sandbox = createPolicyEngine(await loadPolicyFile(repoFile('config/policy.sandbox.yaml')), env)
const principal = (roles: string[], tenantId = TENANT): Principal =>
  ({ oid: 'o-1', tenantId, roles, name: 'Test' })

const report: PolicyTarget = { type: 'Report' }
const webhook: PolicyTarget = { type: 'Webhook' }

const cases: { roles: string[]; action: PolicyAction; target: PolicyTarget; allowed: boolean; rule: string; tenantId?: string }[] = [
  { roles: ['Guests.Manage'], action: 'read', target: report, allowed: true, rule: 'reports.read:Guests.Manage' },
  { roles: ['Guests.Manage'], action: 'cleanup', target: report, allowed: true, rule: 'reports.cleanup:Guests.Manage' },
  { roles: ['Guests.Manage'], action: 'manage', target: webhook, allowed: true, rule: 'webhooks.manage:Guests.Manage' },
  { roles: ['Audit.Read'], action: 'read', target: report, allowed: true, rule: 'reports.read:Audit.Read' },
  { roles: ['Audit.Read'], action: 'cleanup', target: report, allowed: false, rule: 'role.missing' },
  { roles: ['Audit.Read'], action: 'manage', target: webhook, allowed: false, rule: 'role.missing' },
  { roles: ['Guests.Invite'], action: 'read', target: report, allowed: false, rule: 'role.missing' },
  { roles: ['Groups.ManageMembers'], action: 'manage', target: webhook, allowed: false, rule: 'role.missing' },
  { roles: [], action: 'read', target: report, allowed: false, rule: 'role.missing' },
  { roles: ['Guests.Manage'], action: 'read', target: report, allowed: false, rule: 'tenant.mismatch', tenantId: '0badc0de-0000-4000-8000-000000000001' },
  { roles: ['Guests.Manage'], action: 'cleanup', target: webhook, allowed: false, rule: 'action.not-applicable' },
]

for (const c of cases) {
  t.test(`${c.roles.join('+') || 'no role'} ${c.action} ${c.target.type}${c.tenantId ? ' (other tenant)' : ''}: ${c.allowed ? 'allowed' : 'denied'} by ${c.rule}`, async (t) => {
    const who = principal(c.roles, c.tenantId)
    const decision = sandbox.decide(who, c.action, c.target)
    t.equal(decision.allowed, c.allowed)
    t.equal(decision.rule, c.rule)
    t.ok(decision.reason.length > 10, decision.reason)
    // The route-level gate gives the same answer.
    t.equal(sandbox.decideAny(who, c.action, c.target.type).allowed, c.allowed)
  })
}

t.test('a refusal names the roles that may', async (t) => {
  const decision = sandbox.decide(principal(['Audit.Read']), 'cleanup', report)
  t.match(decision.reason, /Guests\.Manage/)
})

t.test('permissions list reports and webhooks', async (t) => {
  const actions = sandbox.permissionsOf(principal(['Guests.Manage'])).actions
  t.ok(actions.some((a) => a.action === 'read' && a.subject === 'Report'))
  t.ok(actions.some((a) => a.action === 'cleanup' && a.subject === 'Report'))
  t.ok(actions.some((a) => a.action === 'manage' && a.subject === 'Webhook'))
})

t.test('cleanup without read gives no clean-up; the safety gate must be a whole number', async (t) => {
  const doc = parsePolicyDocument([
    'version: "t1"',
    'cleanup: { maxRemovalsPerRun: 3 }',
    'roles:',
    '  Guests.Manage:',
    '    reports: { cleanup: true }',
  ].join('\n'), 'policy.yaml')
  t.equal(doc.cleanup?.maxRemovalsPerRun, 3)
  const engine = createPolicyEngine(doc, env)
  t.equal(engine.decide(principal(['Guests.Manage']), 'cleanup', report).allowed, false)
  const err = t.throws(() => parsePolicyDocument('version: "t2"\ncleanup: { maxRemovalsPerRun: -1 }\nroles: {}\n', 'policy.yaml')) as PolicyFileError
  t.equal(err.errors[0]?.path, '/cleanup/maxRemovalsPerRun')
  const err2 = t.throws(() => parsePolicyDocument('version: "t3"\nroles:\n  Audit.Read:\n    webhooks: { manage: yes please }\n', 'policy.yaml')) as PolicyFileError
  t.equal(err2.errors[0]?.path, '/roles/Audit.Read/webhooks/manage')
})
