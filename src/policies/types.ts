// The contract between the policy engine and the rest of the service.
// Actions and targets are what a request asks to do; the engine answers allow/deny with the
// rule that decided and a sentence a person understands.
import type { Principal } from '../auth/principal.js'
import type { AppRoleRef } from './app-roles.js'

export type PolicyAction =
  | 'invite' // Invitation
  | 'resend' // Guest
  | 'resetRedemption' // Guest
  | 'read' // Guest, Group, App, AuditLog; GroupMembership: list a group's guests
  | 'delete' // Guest
  | 'revokeAccess' // Guest
  | 'addMember' // GroupMembership
  | 'removeMember' // GroupMembership
  | 'assign' // AppRoleAssignment
  | 'unassign' // AppRoleAssignment
  | 'export' // AuditLog
  | 'check' // Self: what-if and my permissions

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
      /** Asked as a part of revoking a guest's whole access (revoke-access), not on its own. */
      via?: 'revokeAccess'
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
      /** Asked as a part of revoking a guest's whole access (revoke-access), not on its own. */
      via?: 'revokeAccess'
    }
  | { type: 'AuditLog' }
  | { type: 'Self' }

export type PolicySubject = PolicyTarget['type']

/** Facts the engine cannot know by itself, supplied by the caller. */
export interface PolicyContext {
  /** Invitations (and resends) this requester started in the last hour (from the audit log). */
  invitationsInLastHour?: number
  /** Invitations (and resends) anyone started in the tenant in the last hour. */
  tenantInvitationsInLastHour?: number
  /** When a count at its limit falls below it again, for the Retry-After of a refusal. */
  retryAt?: { requester: Date | null; tenant: Date | null }
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
}

export interface PolicyEngine {
  readonly version: string
  decide(principal: Principal, action: PolicyAction, target: PolicyTarget, context?: PolicyContext): PolicyDecision
  permissionsOf(principal: Principal): PermissionSummary
}

/** Coarse check before the target is known: does any rule give this action on this kind of
 *  target at all (tenant checked too)? Routes use it first, so a caller with no matching role
 *  is refused before any input is looked up. */
export interface CoarsePolicyEngine {
  decideAny(principal: Principal, action: PolicyAction, subject: PolicySubject): PolicyDecision
}
