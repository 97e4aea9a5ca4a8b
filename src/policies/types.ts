// The contract between the policy engine and the rest of the service.
// Actions and targets are what a request asks to do; the engine answers allow/deny with the
// rule that decided and a sentence a person understands.
import type { Principal } from '../auth/principal.js'
import type { AppRoleRef } from './app-roles.js'

export type PolicyAction =
  | 'invite' // Invitation
  | 'resend' // Guest
  | 'resetRedemption' // Guest
  | 'read' // Guest, Group, App, AuditLog, Report; GroupMembership: list a group's guests
  | 'delete' // Guest
  | 'revokeAccess' // Guest
  | 'manageSponsors' // Guest: add or remove its sponsors, name sponsors at invitation
  | 'blockSignIn' // Guest: accountEnabled false (an offboarding part of revoke-access)
  | 'revokeSessions' // Guest: revokeSignInSessions (an offboarding part of revoke-access)
  | 'addMember' // GroupMembership
  | 'removeMember' // GroupMembership
  | 'assign' // AppRoleAssignment
  | 'unassign' // AppRoleAssignment
  | 'export' // AuditLog
  | 'check' // Self: what-if and my permissions
  | 'grantBundle' // AccessBundle
  | 'revokeBundle' // AccessBundle
  | 'cleanup' // Report: act on a hygiene report (each action still asks its own question)
  | 'manage' // Webhook: create, list, delete subscriptions and read their deliveries

export type PolicyTarget =
  | { type: 'Invitation'; email: string; redirectUrl?: string }
  | { type: 'Guest'; id?: string }
  | { type: 'Group' }
  | { type: 'App' }
  | {
      type: 'GroupMembership'
      groupId: string
      groupName?: string
      /** From Graph: role-assignable groups are refused whatever the file says. */
      isAssignableToRole?: boolean
      /** From Graph: dynamic groups have no assignable members. */
      isDynamic?: boolean
      /** From Graph: a mail-enabled security group or a distribution list, whose members Exchange
       *  keeps; Graph refuses to change them. */
      isMailManaged?: boolean
      /** Asked as a part of revoking a guest's whole access (revoke-access), or of the expiry
       *  scheduler taking access away, not on its own. */
      via?: PartOf
    }
  | {
      type: 'AppRoleAssignment'
      /** Service principal id of the enterprise application. */
      appId: string
      /** Application (client) id behind the service principal, when known. */
      applicationId?: string
      appDisplayName?: string
      /** The role by value (or by id, appRoleId). Neither: the question "may some role of this
       *  application be granted?", asked before Graph is read. */
      appRoleValue?: string
      appRoleId?: string
      appRoleDisplayName?: string
      /** From Graph: the application's roles. The policy file may name a role by value, display
       *  name or id: its entries are resolved against these (app-roles.ts). */
      appRoles?: readonly AppRoleRef[]
      /** Asked as a part of revoking a guest's whole access (revoke-access), or of the expiry
       *  scheduler taking access away, not on its own. */
      via?: PartOf
    }
  | { type: 'AccessBundle'; bundle: string }
  | { type: 'AuditLog' }
  | { type: 'Self' }
  | { type: 'Report' }
  | { type: 'Webhook' }

/** A removal asked as a part of something larger: revoke-access (the right to revoke the guest's
 *  access grants it) or an expiry (the expiry scheduler's own principal, nobody else). */
export type PartOf = 'revokeAccess' | 'expiry'

export type PolicySubject = PolicyTarget['type']

/** What an expiry is set on: its cap comes from the policy (a role's, or the bundle's). */
export type ExpiryKind = 'guest' | 'group' | 'appRole'
export type ExpiryCapQuestion = { kind: ExpiryKind } | { kind: 'bundle'; bundle: string }

export interface ExpiryCap {
  /** Longest expiry in days from now; null: no cap. */
  maxDays: number | null
  /** Where the cap comes from, for messages ("Groups.ManageMembers", "bundle contractor-dev"). */
  source: string
}

/** Facts the engine cannot know by itself, supplied by the caller. */
export interface PolicyContext {
  /** Invitations (and resends) this requester started in the last hour (from the audit log). */
  invitationsInLastHour?: number
  /** Invitations (and resends) anyone started in the tenant in the last hour. */
  tenantInvitationsInLastHour?: number
  /** When a count at its limit falls below it again, for the Retry-After of a refusal. */
  retryAt?: {
    /** For the requester limit of invitationLimitsOf(principal) (what me/permissions shows). */
    requester: Date | null
    tenant: Date | null
    /** Per hourly limit of the requester's inviting roles (keyed by maxPerHour): when the count
     *  falls below that limit. The limit that applies to one invitation is the one of the roles
     *  that allow it, so a refusal looks its own up here. */
    requesterAt?: Readonly<Record<number, Date | null>>
  }
}

export interface PolicyDecision {
  allowed: boolean
  /** Stable id of the rule that decided, e.g. "invitations.domain-not-allowed". */
  rule: string
  /** A sentence a person understands. */
  reason: string
  /** Version of the policy file that decided. */
  policyVersion: string
  /** A limit refused: when it lets the request through again (seconds). */
  retryAfterSeconds?: number
}

/** What the caller may do, for portals to offer only valid choices. */
export interface PermissionSummary {
  policyVersion: string
  roles: string[]
  actions: { action: PolicyAction; subject: PolicySubject }[]
  invitations: {
    allowedDomains: string[] | null
    deniedDomains: string[]
    redirectUrlPrefixes: string[]
    maxPerHour: number | null
  } | null
  groups: { groupId: string; add: boolean; remove: boolean }[]
  appRoles: { appId: string; grant: string[]; revoke: string[] }[]
  /** Bundles the caller may grant: the bundle's roles and every part allowed. */
  bundles: { name: string; description: string | null; maxDays: number; groups: string[]; appRoles: { appId: string; appRole: string }[] }[]
  /** The longest expiry the caller may set, per kind of grant (null: no cap). */
  expiryMaxDays: { guest: number | null; group: number | null; appRole: number | null }
}

export interface PolicyEngine {
  readonly version: string
  decide(principal: Principal, action: PolicyAction, target: PolicyTarget, context?: PolicyContext): PolicyDecision
  permissionsOf(principal: Principal): PermissionSummary
  /** The longest expiry this principal may set on this kind of grant. */
  expiryCap(principal: Principal, question: ExpiryCapQuestion): ExpiryCap
}

/** Coarse check before the target is known: does any rule give this action on this kind of
 *  target at all (tenant checked too)? Routes use it first, so a caller with no matching role
 *  is refused before any input is looked up. */
export interface CoarsePolicyEngine {
  decideAny(principal: Principal, action: PolicyAction, subject: PolicySubject): PolicyDecision
}
