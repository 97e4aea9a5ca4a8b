// permissionsOf (in src/policies/policy-engine.ts): what a portal may offer the caller.
import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { loadPolicyFile } from '../../src/policies/policy-file.js'
import { createPolicyEngine } from '../../src/policies/policy-engine.js'
import { repoFile } from '../helpers/repo.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const env = { tenantId: TENANT, ownApplicationId: 'b0000000-0000-4000-8000-000000000004' }
const load = async (path: string) => createPolicyEngine(await loadPolicyFile(repoFile(path)), env)
const sandbox = await load('config/policy.sandbox.yaml')
const denyList = await load('test/fixtures/policies/deny-list.yaml')
const principal = (roles: string[], tenantId = TENANT): Principal => ({ oid: 'o', name: 'n', tenantId, roles })

t.test('Guests.Invite: invitations and guest actions, nothing else', async (t) => {
  const summary = sandbox.permissionsOf(principal(['Guests.Invite']))
  t.same(summary, {
    policyVersion: sandbox.version,
    roles: ['Guests.Invite'],
    actions: [
      { action: 'invite', subject: 'Invitation' },
      { action: 'resend', subject: 'Guest' },
      { action: 'read', subject: 'Guest' },
      { action: 'read', subject: 'GroupMembership' },
      { action: 'check', subject: 'Self' },
    ],
    invitations: {
      allowedDomains: ['partner.example', 'fabrikam.example'],
      deniedDomains: [],
      redirectUrlPrefixes: ['https://myapps.microsoft.com/', 'https://portal.partner.example/'],
      maxPerHour: 20,
    },
    groups: [],
    appRoles: [],
    bundles: [],
    expiryMaxDays: { guest: null, group: null, appRole: null },
  })
})

t.test('Groups.ManageMembers and Apps.AssignRoles: the groups and app roles they may manage', async (t) => {
  const summary = sandbox.permissionsOf(principal(['Apps.AssignRoles', 'Groups.ManageMembers', 'Unknown.Role']))
  t.same(summary.roles, ['Groups.ManageMembers', 'Apps.AssignRoles'])
  t.equal(summary.invitations, null)
  t.same(summary.groups, [
    { groupId: 'd0000000-0000-4000-8000-000000000001', add: true, remove: true },
    { groupId: 'd0000000-0000-4000-8000-000000000002', add: true, remove: true },
  ])
  t.same(summary.appRoles, [
    { appId: 'a0000000-0000-4000-8000-000000000001', grant: ['DocuSign.Sender', 'DocuSign.Viewer'], revoke: ['DocuSign.Sender', 'DocuSign.Viewer'] },
    { appId: 'a0000000-0000-4000-8000-000000000002', grant: ['User'], revoke: ['User'] },
  ])
  t.same(
    summary.actions.map((a) => `${a.action} ${a.subject}`).sort(),
    ['addMember GroupMembership', 'assign AppRoleAssignment', 'check Self', 'read App', 'read Group', 'read GroupMembership', 'read Guest', 'removeMember GroupMembership', 'unassign AppRoleAssignment'],
  )
})

t.test('a deny-list role and an allow-list role together', async (t) => {
  const summary = denyList.permissionsOf(principal(['Guests.Invite', 'Guests.Manage']))
  t.same(summary.invitations, {
    allowedDomains: null,
    deniedDomains: ['evil.example', 'gmail.com'],
    redirectUrlPrefixes: ['https://myapps.microsoft.com/', 'https://portal.partner.example/welcome'],
    maxPerHour: null,
  })
  t.same(summary.groups, [], 'no group role')
})

t.test('no roles, unknown roles and other tenants: only what anyone may do', async (t) => {
  for (const roles of [[], ['Guests.Admin']]) {
    const summary = sandbox.permissionsOf(principal(roles))
    t.same(summary.roles, [])
    t.same(summary.actions, [{ action: 'check', subject: 'Self' }])
    t.equal(summary.invitations, null)
  }
  const foreign = sandbox.permissionsOf(principal(['Guests.Manage', 'Audit.Read'], '0badc0de-0000-4000-8000-000000000001'))
  t.same(foreign, { policyVersion: sandbox.version, roles: [], actions: [], invitations: null, groups: [], appRoles: [], bundles: [], expiryMaxDays: { guest: null, group: null, appRole: null } })
})

t.test('what permissionsOf offers, decide allows', async (t) => {
  const p = principal(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const summary = sandbox.permissionsOf(p)
  for (const domain of summary.invitations?.allowedDomains ?? []) {
    t.ok(sandbox.decide(p, 'invite', { type: 'Invitation', email: `x@${domain}`, redirectUrl: summary.invitations!.redirectUrlPrefixes[0] }).allowed, domain)
  }
  for (const g of summary.groups) t.ok(sandbox.decide(p, 'addMember', { type: 'GroupMembership', groupId: g.groupId }).allowed, g.groupId)
  for (const a of summary.appRoles) {
    for (const value of a.grant) t.ok(sandbox.decide(p, 'assign', { type: 'AppRoleAssignment', appId: a.appId, appRoleValue: value }).allowed, value)
  }
})
