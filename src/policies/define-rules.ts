// Pure translation of (principal, policy file, environment) into CASL raw rules.
// Conditions are written on the fields of the subjects built by subjectOf() in ability.ts.
import type { MongoQuery, RawRuleOf } from '@casl/ability'
import { API_ROLES, type ApiRole, type Principal } from '../auth/principal.js'
import { MICROSOFT_GRAPH_APP_ID } from '../graph/graph-gateway.js'
import type { AppAbility } from './ability.js'
import type { PolicyDocument } from './policy-file.js'
import type { PolicyAction, PolicySubject } from './types.js'

export interface PolicyEnv {
  /** The tenant guestgate serves: tokens from any other tenant get no rule at all. */
  tenantId: string
  /** guestgate's own app registration (client id): its app role assignments are never managed here. */
  ownApplicationId: string
}

/** A CASL raw rule plus the id of the policy rule it stands for and the API role that gave it. */
export type PolicyRule = RawRuleOf<AppAbility> & {
  ruleId: string
  role?: ApiRole
}

export function sameTenant(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

/** Roles of the principal that the policy file says something about, sorted and unique. */
export function policyRolesOf(principal: Principal, policy: PolicyDocument): ApiRole[] {
  return API_ROLES.filter((role) => principal.roles.includes(role) && policy.roles[role] !== undefined)
}

/** Application (client) ids whose app role assignments guestgate never touches. */
export function protectedApplicationIds(env: PolicyEnv): string[] {
  return [MICROSOFT_GRAPH_APP_ID, env.ownApplicationId].map((id) => id.toLowerCase())
}

const GUEST_ACTIONS = [
  ['read', 'guests.read'],
  ['resend', 'guests.resend'],
  ['resetRedemption', 'guests.reset-redemption'],
  ['delete', 'guests.delete'],
  ['revokeAccess', 'guests.revoke-access'],
  ['manageSponsors', 'guests.manage-sponsors'],
  ['blockSignIn', 'guests.block-sign-in'],
  ['revokeSessions', 'guests.revoke-sessions'],
] as const

export function defineRulesFor(principal: Principal, policy: PolicyDocument, env: PolicyEnv): PolicyRule[] {
  if (!sameTenant(principal.tenantId, env.tenantId)) return []

  const rules: PolicyRule[] = [{ action: 'check', subject: 'Self', ruleId: 'self.check' }]

  for (const role of policyRolesOf(principal, policy)) {
    const { invitations, guests, groups = [], apps = [], audit, reports, webhooks } = policy.roles[role]!
    const grant = (action: PolicyAction, subject: PolicySubject, ruleId: string, conditions?: MongoQuery) =>
      rules.push({ action, subject, ruleId, role, ...(conditions && { conditions }) })

    if (invitations?.allowDomains) {
      grant('invite', 'Invitation', 'invitations.allowed-domain', { domain: { $in: invitations.allowDomains } })
    } else if (invitations) {
      grant('invite', 'Invitation', 'invitations.domain-not-denied', { domain: { $nin: invitations.denyDomains ?? [] } })
    }

    for (const [action, ruleId] of GUEST_ACTIONS) {
      if (guests?.[action]) grant(action, 'Guest', ruleId)
    }

    if (groups.length > 0) grant('read', 'Group', 'groups.read')
    // Listing a group's members shows guests only. Who may read guests already sees each
    // guest's groups, so may list any group's guests; a group manager may list its own groups.
    if (guests?.read) grant('read', 'GroupMembership', 'guests.read')
    if (groups.length > 0) grant('read', 'GroupMembership', 'groups.members-listed', { groupId: { $in: groups.map((g) => g.id) } })
    const addable = groups.filter((g) => g.add).map((g) => g.id)
    const removable = groups.filter((g) => g.remove).map((g) => g.id)
    if (addable.length > 0) grant('addMember', 'GroupMembership', 'groups.managed', { groupId: { $in: addable } })
    if (removable.length > 0) grant('removeMember', 'GroupMembership', 'groups.managed', { groupId: { $in: removable } })

    if (apps.length > 0) grant('read', 'App', 'apps.read')
    // The file names roles by value, display name or id: the subject carries the file's entries
    // that name the asked role (resolved against the application's roles, see subjectOf).
    for (const app of apps) {
      if (app.grant?.length) {
        grant('assign', 'AppRoleAssignment', 'apps.role-granted', { appId: app.id, policyEntries: { $in: app.grant } })
      }
      if (app.revoke?.length) {
        grant('unassign', 'AppRoleAssignment', 'apps.role-granted', { appId: app.id, policyEntries: { $in: app.revoke } })
      }
    }

    const bundles = (policy.bundles ?? []).filter((b) => b.grantableBy.includes(role)).map((b) => b.name)
    if (bundles.length > 0) {
      grant('grantBundle', 'AccessBundle', 'bundles.grantable', { bundle: { $in: bundles } })
      grant('revokeBundle', 'AccessBundle', 'bundles.grantable', { bundle: { $in: bundles } })
    }

    if (audit?.read) grant('read', 'AuditLog', 'audit.read')
    if (audit?.export) grant('export', 'AuditLog', 'audit.export')
    if (reports?.read) grant('read', 'Report', 'reports.read')
    // Clean-up acts on what a report lists: the role must read it too (each action is then
    // decided on its own, as on the single routes).
    if (reports?.cleanup && reports.read) grant('cleanup', 'Report', 'reports.cleanup')
    if (webhooks?.manage) grant('manage', 'Webhook', 'webhooks.manage')
  }

  // Refusals that no policy file can lift. Defined last: in CASL later rules take precedence.
  // Groups whose members guestgate never changes, by the flag Graph's answer sets on the target.
  const unchangeableGroups = [
    ['isAssignableToRole', 'groups.role-assignable', 'Role-assignable groups grant directory roles; guestgate never changes their members.'],
    ['isDynamic', 'groups.dynamic', 'Members of dynamic groups follow the membership rule; they cannot be added or removed.'],
    ['isMailManaged', 'groups.mail-enabled', 'Exchange keeps the members of mail-enabled security groups and distribution lists; Graph cannot change them.'],
  ] as const
  rules.push(
    ...unchangeableGroups.map(([flag, ruleId, reason]): PolicyRule => ({
      inverted: true, action: ['addMember', 'removeMember'], subject: 'GroupMembership', conditions: { [flag]: true }, reason, ruleId,
    })),
    {
      inverted: true,
      action: ['assign', 'unassign'],
      subject: 'AppRoleAssignment',
      conditions: { applicationId: { $in: protectedApplicationIds(env) } },
      reason: "Microsoft Graph's and guestgate's own app roles are never assigned through guestgate.",
      ruleId: 'apps.protected-application',
    },
  )
  return rules
}
