import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { loadPolicyFile } from '../../src/policies/policy-file.js'
import { createPolicyEngine } from '../../src/policies/policy-engine.js'
import type { PolicyAction, PolicyContext, PolicyTarget } from '../../src/policies/types.js'
import { repoFile } from '../helpers/repo.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const OTHER_TENANT = '0badc0de-0000-4000-8000-000000000001'
const env = { tenantId: TENANT, ownApplicationId: 'b0000000-0000-4000-8000-000000000004' }

const engines = {
  sandbox: createPolicyEngine(await loadPolicyFile(repoFile('config/policy.sandbox.yaml')), env),
  denyList: createPolicyEngine(await loadPolicyFile(repoFile('test/fixtures/policies/deny-list.yaml')), env),
}

const DEVELOPERS = 'd0000000-0000-4000-8000-000000000001'
const MARKETING = 'd0000000-0000-4000-8000-000000000002'
const FINANCE_ADMINS = 'd0000000-0000-4000-8000-000000000003'
const ALL_PARTNERS = 'd0000000-0000-4000-8000-000000000004'
const NOT_LISTED_GROUP = 'd0000000-0000-4000-8000-000000000099'
const DOCUSIGN = { appId: 'a0000000-0000-4000-8000-000000000001', applicationId: 'b0000000-0000-4000-8000-000000000001' }
const JIRA = { appId: 'a0000000-0000-4000-8000-000000000002', applicationId: 'b0000000-0000-4000-8000-000000000002' }
const GRAPH = { appId: 'a0000000-0000-4000-8000-000000000003', applicationId: '00000003-0000-0000-c000-000000000000' }
const GUESTGATE = { appId: 'a0000000-0000-4000-8000-000000000004', applicationId: 'b0000000-0000-4000-8000-000000000004' }
const NOT_LISTED_APP = { appId: 'a0000000-0000-4000-8000-000000000099', applicationId: 'b0000000-0000-4000-8000-000000000099' }

const MYAPPS = 'https://myapps.microsoft.com/'
const invitation = (email: string, redirectUrl: string | undefined = MYAPPS): PolicyTarget =>
  redirectUrl === undefined ? { type: 'Invitation', email } : { type: 'Invitation', email, redirectUrl }
const membership = (groupId: string, flags: { isAssignableToRole?: boolean; isDynamic?: boolean; isMailManaged?: boolean } = {}): PolicyTarget => ({
  type: 'GroupMembership',
  groupId,
  ...flags,
})
const assignment = (app: { appId: string; applicationId: string }, appRoleValue: string): PolicyTarget => ({
  type: 'AppRoleAssignment',
  ...app,
  appRoleValue,
})
const guest: PolicyTarget = { type: 'Guest', id: 'f0000000-0000-4000-8000-000000000002' }
const auditLog: PolicyTarget = { type: 'AuditLog' }
const self: PolicyTarget = { type: 'Self' }

interface Case {
  roles: string[]
  action: PolicyAction
  target: PolicyTarget
  allowed: boolean
  rule: string
  context?: PolicyContext
  tenantId?: string
  policy?: keyof typeof engines
  /** Decided by the engine only (redirect URL, hourly limit, role mixing): the ability alone cannot know. */
  engineOnly?: true
}

const GI = 'Guests.Invite'
const GM = 'Guests.Manage'
const GMM = 'Groups.ManageMembers'
const AAR = 'Apps.AssignRoles'
const AR = 'Audit.Read'
const ALL = [GI, GM, GMM, AAR, AR]

const cases: Case[] = [
  // Guests.Invite: invitations
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example'), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  { roles: [GI], action: 'invite', target: invitation('ann@fabrikam.example'), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  { roles: [GI], action: 'invite', target: invitation('Bob@Partner.EXAMPLE'), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  { roles: [GI], action: 'invite', target: invitation('bob@sub.partner.example'), allowed: false, rule: 'invitations.domain-not-allowed' },
  { roles: [GI], action: 'invite', target: invitation('eve@evil.example'), allowed: false, rule: 'invitations.domain-not-allowed' },
  { roles: [GI], action: 'invite', target: invitation('eve@partner.example.evil.example'), allowed: false, rule: 'invitations.domain-not-allowed' },
  { roles: [GI], action: 'invite', target: invitation('eve@notpartner.example'), allowed: false, rule: 'invitations.domain-not-allowed' },
  { roles: [GI], action: 'invite', target: invitation('not-an-email'), allowed: false, rule: 'invitations.email-invalid', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', undefined), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  // Guests.Invite: redirect URLs
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'https://portal.partner.example/welcome?x=1'), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'HTTPS://MyApps.Microsoft.com/apps'), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'http://myapps.microsoft.com/'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'https://evil.example/'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'https://myapps.microsoft.com.evil.example/'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'https://evil.example/?https://myapps.microsoft.com/'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'https://myapps.microsoft.com@evil.example/'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'https://myapps.microsoft.com:8443/'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'https://portal.partner.example.evil.example/'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'javascript:alert(1)'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example', 'not a url'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  // Guests.Invite: hourly limit (20 in the sandbox)
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example'), context: { invitationsInLastHour: 19 }, allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example'), context: { invitationsInLastHour: 20 }, allowed: false, rule: 'invitations.rate-limit', engineOnly: true },
  { roles: [GI], action: 'invite', target: invitation('bob@partner.example'), context: { invitationsInLastHour: 500 }, allowed: false, rule: 'invitations.rate-limit', engineOnly: true },
  // Guests.Invite: everything else
  { roles: [GI], action: 'resend', target: guest, allowed: true, rule: 'guests.resend:Guests.Invite' },
  { roles: [GI], action: 'read', target: guest, allowed: true, rule: 'guests.read:Guests.Invite' },
  { roles: [GI], action: 'delete', target: guest, allowed: false, rule: 'role.missing' },
  { roles: [GI], action: 'revokeAccess', target: guest, allowed: false, rule: 'role.missing' },
  { roles: [GI], action: 'addMember', target: membership(DEVELOPERS), allowed: false, rule: 'role.missing' },
  { roles: [GI], action: 'assign', target: assignment(DOCUSIGN, 'DocuSign.Sender'), allowed: false, rule: 'role.missing' },
  { roles: [GI], action: 'read', target: auditLog, allowed: false, rule: 'role.missing' },
  { roles: [GI], action: 'export', target: auditLog, allowed: false, rule: 'role.missing' },
  { roles: [GI], action: 'read', target: { type: 'Group' }, allowed: false, rule: 'role.missing' },
  { roles: [GI], action: 'check', target: self, allowed: true, rule: 'self.check' },

  // Guests.Manage
  { roles: [GM], action: 'invite', target: invitation('bob@partner.example'), allowed: true, rule: 'invitations.allowed-domain:Guests.Manage' },
  { roles: [GM], action: 'invite', target: invitation('eve@evil.example'), allowed: false, rule: 'invitations.domain-not-allowed' },
  { roles: [GM], action: 'invite', target: invitation('bob@partner.example'), context: { invitationsInLastHour: 20 }, allowed: false, rule: 'invitations.rate-limit', engineOnly: true },
  { roles: [GM], action: 'delete', target: guest, allowed: true, rule: 'guests.delete:Guests.Manage' },
  { roles: [GM], action: 'revokeAccess', target: guest, allowed: true, rule: 'guests.revoke-access:Guests.Manage' },
  { roles: [GM], action: 'manageSponsors', target: guest, allowed: true, rule: 'guests.manage-sponsors:Guests.Manage' },
  { roles: [GI], action: 'manageSponsors', target: guest, allowed: false, rule: 'role.missing' },
  { roles: [GM], action: 'blockSignIn', target: guest, allowed: true, rule: 'guests.block-sign-in:Guests.Manage' },
  { roles: [GM], action: 'revokeSessions', target: guest, allowed: true, rule: 'guests.revoke-sessions:Guests.Manage' },
  { roles: [GMM], action: 'blockSignIn', target: guest, allowed: false, rule: 'role.missing' },
  { roles: [GM], action: 'resend', target: guest, allowed: true, rule: 'guests.resend:Guests.Manage' },
  { roles: [GM], action: 'read', target: guest, allowed: true, rule: 'guests.read:Guests.Manage' },
  { roles: [GM], action: 'read', target: auditLog, allowed: false, rule: 'role.missing' },
  { roles: [GM], action: 'addMember', target: membership(DEVELOPERS), allowed: false, rule: 'role.missing' },

  // Groups.ManageMembers
  { roles: [GMM], action: 'addMember', target: membership(DEVELOPERS), allowed: true, rule: 'groups.managed:Groups.ManageMembers' },
  { roles: [GMM], action: 'removeMember', target: membership(DEVELOPERS), allowed: true, rule: 'groups.managed:Groups.ManageMembers' },
  { roles: [GMM], action: 'addMember', target: membership(MARKETING), allowed: true, rule: 'groups.managed:Groups.ManageMembers' },
  { roles: [GMM], action: 'removeMember', target: membership(MARKETING), allowed: true, rule: 'groups.managed:Groups.ManageMembers' },
  { roles: [GMM], action: 'addMember', target: membership(DEVELOPERS.toUpperCase()), allowed: true, rule: 'groups.managed:Groups.ManageMembers' },
  { roles: [GMM], action: 'addMember', target: membership(FINANCE_ADMINS, { isAssignableToRole: true }), allowed: false, rule: 'groups.role-assignable' },
  { roles: [GMM], action: 'removeMember', target: membership(FINANCE_ADMINS, { isAssignableToRole: true }), allowed: false, rule: 'groups.role-assignable' },
  // Even a listed group is refused once Graph says it is role-assignable or dynamic.
  { roles: [GMM], action: 'addMember', target: membership(DEVELOPERS, { isAssignableToRole: true }), allowed: false, rule: 'groups.role-assignable' },
  { roles: [GMM], action: 'addMember', target: membership(ALL_PARTNERS, { isDynamic: true }), allowed: false, rule: 'groups.dynamic' },
  { roles: [GMM], action: 'removeMember', target: membership(ALL_PARTNERS, { isDynamic: true }), allowed: false, rule: 'groups.dynamic' },
  { roles: [GMM], action: 'addMember', target: membership(MARKETING, { isDynamic: true }), allowed: false, rule: 'groups.dynamic' },
  // A listed group that Graph says is a mail-enabled security group or a distribution list: Graph
  // would refuse the change (groups overview: read-only), so the policy refuses it first.
  { roles: [GMM], action: 'addMember', target: membership(MARKETING, { isMailManaged: true }), allowed: false, rule: 'groups.mail-enabled' },
  { roles: [GMM], action: 'removeMember', target: membership(DEVELOPERS, { isMailManaged: true }), allowed: false, rule: 'groups.mail-enabled' },
  { roles: [GMM], action: 'addMember', target: membership(NOT_LISTED_GROUP), allowed: false, rule: 'groups.not-managed' },
  { roles: [GMM], action: 'removeMember', target: membership(NOT_LISTED_GROUP), allowed: false, rule: 'groups.not-managed' },
  // Without Graph's flags, Finance Admins is still refused: it is not listed (default deny).
  { roles: [GMM], action: 'addMember', target: membership(FINANCE_ADMINS), allowed: false, rule: 'groups.not-managed' },
  { roles: [GMM], action: 'read', target: { type: 'Group' }, allowed: true, rule: 'groups.read:Groups.ManageMembers' },
  { roles: [GMM], action: 'read', target: guest, allowed: true, rule: 'guests.read:Groups.ManageMembers' },
  { roles: [GMM], action: 'invite', target: invitation('bob@partner.example'), allowed: false, rule: 'role.missing' },
  { roles: [GMM], action: 'assign', target: assignment(DOCUSIGN, 'DocuSign.Sender'), allowed: false, rule: 'role.missing' },
  { roles: [GMM], action: 'delete', target: guest, allowed: false, rule: 'role.missing' },

  // Apps.AssignRoles
  { roles: [AAR], action: 'assign', target: assignment(DOCUSIGN, 'DocuSign.Sender'), allowed: true, rule: 'apps.role-granted:Apps.AssignRoles' },
  { roles: [AAR], action: 'assign', target: assignment(DOCUSIGN, 'DocuSign.Viewer'), allowed: true, rule: 'apps.role-granted:Apps.AssignRoles' },
  { roles: [AAR], action: 'unassign', target: assignment(DOCUSIGN, 'DocuSign.Viewer'), allowed: true, rule: 'apps.role-granted:Apps.AssignRoles' },
  { roles: [AAR], action: 'assign', target: assignment(JIRA, 'User'), allowed: true, rule: 'apps.role-granted:Apps.AssignRoles' },
  { roles: [AAR], action: 'assign', target: assignment(DOCUSIGN, 'DocuSign.Admin'), allowed: false, rule: 'apps.role-not-granted' },
  { roles: [AAR], action: 'unassign', target: assignment(DOCUSIGN, 'DocuSign.Admin'), allowed: false, rule: 'apps.role-not-granted' },
  { roles: [AAR], action: 'assign', target: assignment(DOCUSIGN, 'docusign.sender'), allowed: false, rule: 'apps.role-not-granted' },
  { roles: [AAR], action: 'assign', target: assignment(JIRA, 'Admin'), allowed: false, rule: 'apps.role-not-granted' },
  // A value granted on one app does not carry over to another.
  { roles: [AAR], action: 'assign', target: assignment(JIRA, 'DocuSign.Sender'), allowed: false, rule: 'apps.role-not-granted' },
  { roles: [AAR], action: 'assign', target: assignment(NOT_LISTED_APP, 'User'), allowed: false, rule: 'apps.role-not-granted' },
  { roles: [AAR], action: 'assign', target: assignment(GRAPH, 'Directory.Read.All'), allowed: false, rule: 'apps.protected-application' },
  { roles: [AAR], action: 'unassign', target: assignment(GRAPH, 'Directory.Read.All'), allowed: false, rule: 'apps.protected-application' },
  { roles: [AAR], action: 'assign', target: assignment({ ...GRAPH, applicationId: GRAPH.applicationId.toUpperCase() }, 'Directory.Read.All'), allowed: false, rule: 'apps.protected-application' },
  { roles: [AAR], action: 'assign', target: assignment(GUESTGATE, 'Guests.Manage'), allowed: false, rule: 'apps.protected-application' },
  { roles: [AAR], action: 'unassign', target: assignment(GUESTGATE, 'Audit.Read'), allowed: false, rule: 'apps.protected-application' },
  // The protected check is on the application id: a listed service principal id does not lift it.
  { roles: [AAR], action: 'assign', target: assignment({ ...DOCUSIGN, applicationId: GUESTGATE.applicationId }, 'DocuSign.Sender'), allowed: false, rule: 'apps.protected-application' },
  { roles: [AAR], action: 'read', target: { type: 'App' }, allowed: true, rule: 'apps.read:Apps.AssignRoles' },
  { roles: [AAR], action: 'read', target: guest, allowed: true, rule: 'guests.read:Apps.AssignRoles' },
  { roles: [AAR], action: 'addMember', target: membership(DEVELOPERS), allowed: false, rule: 'role.missing' },
  { roles: [AAR], action: 'read', target: auditLog, allowed: false, rule: 'role.missing' },

  // Audit.Read
  { roles: [AR], action: 'read', target: auditLog, allowed: true, rule: 'audit.read:Audit.Read' },
  { roles: [AR], action: 'export', target: auditLog, allowed: true, rule: 'audit.export:Audit.Read' },
  { roles: [AR], action: 'read', target: guest, allowed: true, rule: 'guests.read:Audit.Read' },
  { roles: [AR], action: 'delete', target: guest, allowed: false, rule: 'role.missing' },
  { roles: [AR], action: 'invite', target: invitation('bob@partner.example'), allowed: false, rule: 'role.missing' },

  // No roles, unknown roles
  { roles: [], action: 'invite', target: invitation('bob@partner.example'), allowed: false, rule: 'role.missing' },
  { roles: [], action: 'read', target: guest, allowed: false, rule: 'role.missing' },
  { roles: [], action: 'read', target: auditLog, allowed: false, rule: 'role.missing' },
  { roles: [], action: 'check', target: self, allowed: true, rule: 'self.check' },
  { roles: [], action: 'addMember', target: membership(FINANCE_ADMINS, { isAssignableToRole: true }), allowed: false, rule: 'groups.role-assignable' },
  { roles: ['Guests.Admin'], action: 'invite', target: invitation('bob@partner.example'), allowed: false, rule: 'role.missing' },
  { roles: ['guests.invite'], action: 'read', target: guest, allowed: false, rule: 'role.missing' },
  { roles: ['Directory.ReadWrite.All'], action: 'delete', target: guest, allowed: false, rule: 'role.missing' },
  { roles: ['Guests.Admin'], action: 'check', target: self, allowed: true, rule: 'self.check' },

  // A token from another tenant gets nothing, not even what its roles would give here.
  { roles: ALL, tenantId: OTHER_TENANT, action: 'invite', target: invitation('bob@partner.example'), allowed: false, rule: 'tenant.mismatch' },
  { roles: ALL, tenantId: OTHER_TENANT, action: 'read', target: auditLog, allowed: false, rule: 'tenant.mismatch' },
  { roles: ALL, tenantId: OTHER_TENANT, action: 'addMember', target: membership(DEVELOPERS), allowed: false, rule: 'tenant.mismatch' },
  { roles: [], tenantId: OTHER_TENANT, action: 'check', target: self, allowed: false, rule: 'tenant.mismatch' },
  { roles: [AR], tenantId: TENANT.toUpperCase(), action: 'read', target: auditLog, allowed: true, rule: 'audit.read:Audit.Read' },

  // Listing a group's members (guests only): who may read guests, or who manages the group.
  // Looking is not changing: role-assignable and dynamic groups may be listed.
  { roles: [GMM], action: 'read', target: membership(DEVELOPERS), allowed: true, rule: 'groups.members-listed:Groups.ManageMembers' },
  { roles: [GMM], action: 'read', target: membership(NOT_LISTED_GROUP), allowed: true, rule: 'guests.read:Groups.ManageMembers' },
  { roles: [GI], action: 'read', target: membership(FINANCE_ADMINS, { isAssignableToRole: true }), allowed: true, rule: 'guests.read:Guests.Invite' },
  { roles: [AR], action: 'read', target: membership(ALL_PARTNERS, { isDynamic: true }), allowed: true, rule: 'guests.read:Audit.Read' },
  { roles: [], action: 'read', target: membership(DEVELOPERS), allowed: false, rule: 'role.missing' },
  { roles: ALL, tenantId: OTHER_TENANT, action: 'read', target: membership(DEVELOPERS), allowed: false, rule: 'tenant.mismatch' },
  { policy: 'denyList', roles: [GMM], action: 'read', target: membership(DEVELOPERS), allowed: true, rule: 'groups.members-listed:Groups.ManageMembers' },
  { policy: 'denyList', roles: [GMM], action: 'read', target: membership(MARKETING), allowed: false, rule: 'groups.not-managed' },
  { policy: 'denyList', roles: [GMM], action: 'read', target: membership(FINANCE_ADMINS, { isAssignableToRole: true }), allowed: false, rule: 'groups.not-managed' },

  // Action and subject that do not go together
  { roles: ALL, action: 'invite', target: guest, allowed: false, rule: 'action.not-applicable', engineOnly: true },
  { roles: ALL, action: 'check', target: auditLog, allowed: false, rule: 'action.not-applicable', engineOnly: true },

  // Several roles: a grant from any role allows; refusals still win.
  { roles: [GI, AR], action: 'read', target: auditLog, allowed: true, rule: 'audit.read:Audit.Read' },
  { roles: [GI, AR], action: 'invite', target: invitation('bob@partner.example'), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },
  { roles: [GI, GM], action: 'delete', target: guest, allowed: true, rule: 'guests.delete:Guests.Manage' },
  { roles: [GMM, AAR], action: 'addMember', target: membership(DEVELOPERS), allowed: true, rule: 'groups.managed:Groups.ManageMembers' },
  { roles: [GMM, AAR], action: 'assign', target: assignment(DOCUSIGN, 'DocuSign.Sender'), allowed: true, rule: 'apps.role-granted:Apps.AssignRoles' },
  { roles: [GMM, AAR], action: 'addMember', target: membership(FINANCE_ADMINS, { isAssignableToRole: true }), allowed: false, rule: 'groups.role-assignable' },
  { roles: [GI, AAR], action: 'assign', target: assignment(DOCUSIGN, 'DocuSign.Admin'), allowed: false, rule: 'apps.role-not-granted' },
  { roles: ALL, action: 'assign', target: assignment(GRAPH, 'Directory.Read.All'), allowed: false, rule: 'apps.protected-application' },
  { roles: ALL, action: 'invite', target: invitation('eve@evil.example'), allowed: false, rule: 'invitations.domain-not-allowed' },
  { roles: [GI, 'Unknown.Role'], action: 'invite', target: invitation('bob@partner.example'), allowed: true, rule: 'invitations.allowed-domain:Guests.Invite' },

  // Deny-list fixture: Guests.Invite invites anyone but evil.example and gmail.com (limit 5);
  // Guests.Manage only partner.example, and only with the portal redirect prefix.
  { policy: 'denyList', roles: [GI], action: 'invite', target: invitation('carl@contoso.example'), allowed: true, rule: 'invitations.domain-not-denied:Guests.Invite' },
  { policy: 'denyList', roles: [GI], action: 'invite', target: invitation('eve@evil.example'), allowed: false, rule: 'invitations.domain-denied' },
  { policy: 'denyList', roles: [GI], action: 'invite', target: invitation('eve@Evil.Example'), allowed: false, rule: 'invitations.domain-denied' },
  { policy: 'denyList', roles: [GI], action: 'invite', target: invitation('joe@gmail.com'), allowed: false, rule: 'invitations.domain-denied' },
  { policy: 'denyList', roles: [GI], action: 'invite', target: invitation('eve@mail.evil.example'), allowed: true, rule: 'invitations.domain-not-denied:Guests.Invite' },
  { policy: 'denyList', roles: [GI], action: 'invite', target: invitation('carl@contoso.example'), context: { invitationsInLastHour: 5 }, allowed: false, rule: 'invitations.rate-limit', engineOnly: true },
  { policy: 'denyList', roles: [GM], action: 'invite', target: invitation('bob@partner.example', 'https://portal.partner.example/welcome'), allowed: true, rule: 'invitations.allowed-domain:Guests.Manage' },
  { policy: 'denyList', roles: [GM], action: 'invite', target: invitation('bob@partner.example', 'https://portal.partner.example/welcome/step2'), allowed: true, rule: 'invitations.allowed-domain:Guests.Manage' },
  { policy: 'denyList', roles: [GM], action: 'invite', target: invitation('bob@partner.example', 'https://portal.partner.example/welcomepage'), allowed: false, rule: 'invitations.redirect-url-not-allowed', engineOnly: true },
  { policy: 'denyList', roles: [GM], action: 'invite', target: invitation('carl@contoso.example', 'https://portal.partner.example/welcome'), allowed: false, rule: 'invitations.domain-not-allowed' },
  // Guests.Manage has no hourly limit: with both roles, it carries the invitation past Guests.Invite's.
  { policy: 'denyList', roles: [GI, GM], action: 'invite', target: invitation('bob@partner.example', 'https://portal.partner.example/welcome'), context: { invitationsInLastHour: 9 }, allowed: true, rule: 'invitations.allowed-domain:Guests.Manage' },
  { policy: 'denyList', roles: [GI, GM], action: 'invite', target: invitation('eve@evil.example'), allowed: false, rule: 'invitations.domain-denied' },
  // Roles are not mixed: Guests.Invite's domain with Guests.Manage's redirect prefix is refused.
  { policy: 'denyList', roles: [GI, GM], action: 'invite', target: invitation('carl@contoso.example', 'https://portal.partner.example/welcome'), allowed: false, rule: 'invitations.domain-not-allowed', engineOnly: true },
  { policy: 'denyList', roles: [GMM], action: 'removeMember', target: membership(DEVELOPERS), allowed: false, rule: 'role.missing' },
  { policy: 'denyList', roles: [GMM], action: 'read', target: guest, allowed: false, rule: 'role.missing' },
]

const principal = (c: Case): Principal => ({ oid: 'f0000000-0000-4000-8000-000000000001', name: 'Adele Vance', tenantId: c.tenantId ?? TENANT, roles: c.roles })
const describe = (c: Case) =>
  `${c.policy ?? 'sandbox'} [${c.roles.join(', ') || 'no roles'}]${c.tenantId ? ` from ${c.tenantId}` : ''} ${c.action} ${JSON.stringify(c.target)}` +
  `${c.context ? ` ${JSON.stringify(c.context)}` : ''} -> ${c.allowed ? 'allowed' : 'denied'} by ${c.rule}`

t.ok(cases.length >= 80, `at least 80 cases (${cases.length})`)

for (const c of cases) {
  t.test(describe(c), async (t) => {
    const engine = engines[c.policy ?? 'sandbox']
    const decision = engine.decide(principal(c), c.action, c.target, c.context)
    t.equal(decision.allowed, c.allowed, 'allowed')
    t.equal(decision.rule, c.rule, 'rule')
    t.equal(decision.policyVersion, engine.version, 'policy version')
    t.match(decision.reason, /^\S.*\.$/, 'reason is a sentence')
    if (!c.engineOnly) {
      t.equal(engine.ability(principal(c)).can(c.action, engine.subjectOf(c.target)), c.allowed, 'the CASL ability agrees')
    }
  })
}

t.test('reasons name what was asked and what the role may do, with display names', async (t) => {
  const engine = engines.sandbox
  const p = (...roles: string[]): Principal => ({ oid: 'o', name: 'n', tenantId: TENANT, roles })

  t.equal(
    engine.decide(p(AAR), 'assign', { ...assignment(DOCUSIGN, 'DocuSign.Admin'), appRoleDisplayName: 'DocuSign Admin' } as PolicyTarget).reason,
    'Apps.AssignRoles may grant DocuSign Sender (DocuSign.Sender) and DocuSign Viewer (DocuSign.Viewer) on DocuSign, not DocuSign Admin (DocuSign.Admin).',
  )
  t.equal(
    engine.decide(p(AAR), 'assign', { ...assignment(NOT_LISTED_APP, 'User'), appDisplayName: 'Salesforce' } as PolicyTarget).reason,
    'Apps.AssignRoles may grant roles on DocuSign and Jira, not on Salesforce.',
  )
  t.equal(
    engine.decide(p(GI), 'invite', invitation('eve@evil.example')).reason,
    'Invitations from evil.example are not allowed: Guests.Invite may invite partner.example and fabrikam.example.',
  )
  t.match(engine.decide(p(GI), 'invite', invitation('bob@sub.partner.example')).reason, /Subdomains of a listed domain are not included/)
  t.equal(
    engine.decide(p(GMM), 'addMember', { ...membership(NOT_LISTED_GROUP), groupName: 'Sales' } as PolicyTarget).reason,
    'Groups.ManageMembers may add guests to Developers and Marketing, not Sales.',
  )
  t.equal(
    engines.denyList.decide(p(GMM), 'read', { ...membership(NOT_LISTED_GROUP), groupName: 'Sales' } as PolicyTarget).reason,
    'Groups.ManageMembers may list the guests of Developers, not Sales.',
  )
  t.equal(engine.decide(p(GMM), 'read', membership(DEVELOPERS)).reason, 'Groups.ManageMembers may list the guests of Developers.')
  t.match(engine.decide(p(GMM), 'addMember', { ...membership(FINANCE_ADMINS, { isAssignableToRole: true }), groupName: 'Finance Admins' } as PolicyTarget).reason, /^Finance Admins is a role-assignable group/)
  t.match(engine.decide(p(AAR), 'assign', assignment(GRAPH, 'Directory.Read.All')).reason, /Microsoft Graph/)
  t.equal(engine.decide(p(GI), 'read', auditLog).reason, 'None of your roles (Guests.Invite) may read the audit log. This needs Audit.Read.')
  t.equal(engine.decide(p(), 'delete', guest).reason, 'Your token has no guestgate role, so you may not remove guests. This needs Guests.Manage.')
  t.match(engine.decide(p(GI), 'invite', invitation('bob@partner.example', 'https://evil.example/')).reason, /Guests\.Invite may redirect to URLs under https:\/\/myapps\.microsoft\.com\//)
  t.match(engine.decide(p(GI), 'invite', invitation('bob@partner.example'), { invitationsInLastHour: 20 }).reason, /sent 20 invitations in the last hour; Guests\.Invite may send 20 per hour/)
  t.equal(engine.decide(p(AAR), 'assign', assignment(DOCUSIGN, 'DocuSign.Sender')).reason, 'Apps.AssignRoles may grant DocuSign Sender (DocuSign.Sender) on DocuSign.')
  t.equal(engines.denyList.decide(p(GI), 'invite', invitation('eve@evil.example')).reason, 'Invitations from evil.example are denied: Guests.Invite may invite any domain except evil.example or gmail.com.')
})

t.test('requester-supplied text in a reason is quoted and cut short', async (t) => {
  const long = `https://evil.example/${'a'.repeat(5000)}\n`
  const { reason } = engines.sandbox.decide({ oid: 'o', name: 'n', tenantId: TENANT, roles: [GI] }, 'invite', invitation('bob@partner.example', long))
  t.ok(reason.length < 600, 'short')
  t.notMatch(reason, /\n/, 'no raw newline')
})

t.test('odd tokens never throw', async (t) => {
  const odd: Principal = { oid: '', name: '', tenantId: TENANT, roles: ['', '__proto__', 'constructor', 'toString'] }
  for (const [action, target] of [['invite', invitation('a@partner.example')], ['read', auditLog], ['check', self]] as const) {
    t.doesNotThrow(() => engines.sandbox.decide(odd, action, target))
  }
  t.equal(engines.sandbox.decide(odd, 'read', auditLog).rule, 'role.missing')
  t.same(engines.sandbox.permissionsOf(odd).roles, [])
})

t.test('decideAny: the route-level gate, before the target is known', async (t) => {
  const engine = engines.sandbox
  const p = (roles: string[], tenantId = TENANT): Principal => ({ oid: 'o', name: 'n', tenantId, roles })
  const gates: [roles: string[], action: PolicyAction, subject: PolicyTarget['type'], allowed: boolean, rule: string][] = [
    [[GMM], 'addMember', 'GroupMembership', true, 'groups.managed:Groups.ManageMembers'],
    [[AAR], 'assign', 'AppRoleAssignment', true, 'apps.role-granted:Apps.AssignRoles'],
    [[GI], 'invite', 'Invitation', true, 'invitations.allowed-domain:Guests.Invite'],
    [[AR], 'export', 'AuditLog', true, 'audit.export:Audit.Read'],
    [[], 'check', 'Self', true, 'self.check'],
    [[GI], 'addMember', 'GroupMembership', false, 'role.missing'],
    [[GI], 'read', 'AuditLog', false, 'role.missing'],
    [['Unknown.Role'], 'read', 'Guest', false, 'role.missing'],
    [[], 'invite', 'Invitation', false, 'role.missing'],
    [[GM], 'invite', 'Guest', false, 'action.not-applicable'],
  ]
  for (const [roles, action, subject, allowed, rule] of gates) {
    const decision = engine.decideAny(p(roles), action, subject)
    t.match(decision, { allowed, rule, policyVersion: engine.version }, `[${roles.join(', ')}] ${action} ${subject}`)
  }
  t.match(engine.decideAny(p(ALL, OTHER_TENANT), 'read', 'Guest'), { allowed: false, rule: 'tenant.mismatch' })
  t.equal(engine.decideAny(p([GMM]), 'addMember', 'GroupMembership').reason, 'Groups.ManageMembers may add guests to groups.')
})

// Bare questions (a subject type alone) are remembered per principal object and per roles: each
// principal still gets its own roles' answer, and the same principal the same (frozen) decision.
t.test('bare decisions are remembered per principal without mixing principals', async (t) => {
  const engine = engines.sandbox
  const reader: Principal = { oid: 'f0000000-0000-4000-8000-0000000000a1', name: 'Reader', tenantId: TENANT, roles: ['Audit.Read'] }
  const inviter: Principal = { oid: 'f0000000-0000-4000-8000-0000000000a2', name: 'Inviter', tenantId: TENANT, roles: ['Guests.Invite'] }
  const stranger: Principal = { ...inviter, tenantId: OTHER_TENANT }
  for (let round = 0; round < 2; round++) {
    t.equal(engine.decideAny(reader, 'invite', 'Invitation').allowed, false, `round ${round}: reader may not invite`)
    t.equal(engine.decideAny(inviter, 'invite', 'Invitation').allowed, true, `round ${round}: inviter may`)
    t.equal(engine.decideAny(stranger, 'invite', 'Invitation').allowed, false, `round ${round}: not from another tenant`)
    t.equal(engine.decide(reader, 'read', { type: 'AuditLog' }).allowed, true)
    t.equal(engine.decide(inviter, 'read', { type: 'AuditLog' }).allowed, false)
    t.equal(engine.decideAny(inviter, 'read', 'AuditLog').allowed, false, 'decideAny and decide are separate questions')
  }
  t.equal(engine.decideAny(inviter, 'invite', 'Invitation'), engine.decideAny(inviter, 'invite', 'Invitation'), 'the same decision object')
  t.equal(engine.decideAny({ ...inviter }, 'invite', 'Invitation'), engine.decideAny(inviter, 'invite', 'Invitation'), 'shared by principals with the same roles')
  t.ok(Object.isFrozen(engine.decideAny(inviter, 'invite', 'Invitation')))
})
