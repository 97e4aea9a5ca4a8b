// The one resolver of app role references (src/policies/app-roles.ts), and the policy file naming
// roles by display name or id: resolved against the application's roles Graph declares.
import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { appRoleLabel, matchAppRoles } from '../../src/policies/app-roles.js'
import { parsePolicyDocument } from '../../src/policies/policy-file.js'
import { createPolicyEngine } from '../../src/policies/policy-engine.js'
import type { PolicyTarget } from '../../src/policies/types.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const DOCUSIGN = 'a0000000-0000-4000-8000-000000000001'
const roles = [
  { id: 'e0000000-0000-4000-8000-000000000011', value: 'DocuSign.Sender', displayName: 'DocuSign Sender' },
  { id: 'e0000000-0000-4000-8000-000000000012', value: 'DocuSign.Viewer', displayName: 'DocuSign Viewer' },
  { id: 'e0000000-0000-4000-8000-000000000013', value: 'DocuSign.Admin', displayName: 'DocuSign Admin' },
  { id: 'e0000000-0000-4000-8000-000000000016', value: 'Twin.A', displayName: 'Twin' },
  { id: 'e0000000-0000-4000-8000-000000000017', value: 'Twin.B', displayName: 'twin' },
]
const [sender, viewer, admin] = roles

t.test('by id (any case), by value (exact), by display name (any case); ambiguous names give several', async (t) => {
  t.same(matchAppRoles(roles, sender!.id.toUpperCase()), [sender])
  t.same(matchAppRoles(roles, 'DocuSign.Sender'), [sender])
  t.same(matchAppRoles(roles, 'docusign.sender'), [], 'a value is exact: Graph values are case-sensitive')
  t.same(matchAppRoles(roles, 'DOCUSIGN viewer'), [viewer])
  t.same(matchAppRoles(roles, 'TWIN').length, 2)
  t.same(matchAppRoles(roles, 'Nope'), [])
  t.equal(appRoleLabel(sender!), 'DocuSign Sender (DocuSign.Sender)')
  t.equal(appRoleLabel({ value: 'User', displayName: 'User' }), 'User', 'a value that says nothing more is left out')
})

t.test('the policy file may name roles by display name or id; messages name both, never contradict', async (t) => {
  const policy = parsePolicyDocument([
    'version: names-1',
    'roles:',
    '  Apps.AssignRoles:',
    '    apps:',
    `      - { id: ${DOCUSIGN}, name: DocuSign, grant: [docusign sender, "${viewer!.id}"], revoke: [DocuSign.Admin, Nothing Such] }`,
  ].join('\n'), 'names.yaml')
  const engine = createPolicyEngine(policy, { tenantId: TENANT, ownApplicationId: 'b0000000-0000-4000-8000-000000000004' })
  const p: Principal = { oid: 'o', name: 'n', tenantId: TENANT, roles: ['Apps.AssignRoles'] }
  const target = (role?: (typeof roles)[number]): PolicyTarget => ({
    type: 'AppRoleAssignment', appId: DOCUSIGN, applicationId: 'b0000000-0000-4000-8000-000000000001', appDisplayName: 'DocuSign', appRoles: roles,
    ...(role ? { appRoleId: role.id, appRoleValue: role.value, appRoleDisplayName: role.displayName } : {}),
  })

  t.ok(engine.decide(p, 'assign', target()).allowed, 'some role of DocuSign may be granted (the question before Graph is read)')
  t.ok(engine.decide(p, 'assign', target(sender)).allowed, 'granted by display name in another case')
  t.ok(engine.decide(p, 'assign', target(viewer)).allowed, 'granted by id')
  t.ok(engine.decide(p, 'unassign', target(admin)).allowed, 'revoked by value')
  for (const action of ['assign', 'unassign'] as const) {
    t.equal(engine.ability(p).can(action, engine.subjectOf(target(admin))), action === 'unassign', `the CASL ability agrees (${action})`)
  }
  const denied = engine.decide(p, 'assign', target(admin))
  t.same({ allowed: denied.allowed, rule: denied.rule }, { allowed: false, rule: 'apps.role-not-granted' })
  t.equal(denied.reason,
    'Apps.AssignRoles may grant DocuSign Sender (DocuSign.Sender) and DocuSign Viewer (DocuSign.Viewer) on DocuSign, not DocuSign Admin (DocuSign.Admin).')
  t.equal(engine.decide(p, 'unassign', target(sender)).reason,
    'Apps.AssignRoles may revoke DocuSign Admin (DocuSign.Admin) and "Nothing Such" (no such role) on DocuSign, not DocuSign Sender (DocuSign.Sender).',
    'an entry that names no role of the application says so')
  t.equal(engine.decide(p, 'assign', target(sender)).reason, 'Apps.AssignRoles may grant DocuSign Sender (DocuSign.Sender) on DocuSign.')
  const other = engine.decide(p, 'assign', { type: 'AppRoleAssignment', appId: 'a0000000-0000-4000-8000-000000000099' })
  t.equal(other.reason, 'Apps.AssignRoles may grant roles on DocuSign, not on a0000000-0000-4000-8000-000000000099.')
})
