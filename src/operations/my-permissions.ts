// What a portal shows a caller (GET /v1/me/permissions): the policy's summary for the caller's
// roles, with the names and kinds Graph knows (cached: plugins/directory-cache.ts), each choice
// decided by the same policy question as the real request, and the invitation limits left this hour.
import type { FastifyInstance } from 'fastify'
import type { AppRole, DirectoryGroup } from '../graph/graph-gateway.js'
import type { PermissionSummary } from '../policies/types.js'
import { toAppRole, type AppRoleBody } from '../schemas/directory.js'
import type { Caller } from './caller.js'
import { invitationContext } from './limits.js'
import { appRoleTarget, assignableRoles, groupMembershipTarget } from './policy-targets.js'

export type GroupKind = 'security' | 'microsoft365' | 'mailEnabledSecurity' | 'distribution'

export interface HourlyLimit {
  /** Invitations (and resends) allowed per hour; null: no limit. The tenant's limit: null when the policy sets none. */
  limit: number | null
  /** Sent in the last hour (a sliding window). */
  used: number
  /** Left now; null: no limit. */
  remaining: number | null
  /** When the limit is reached: when the next one may go. */
  retryAt: string | null
}

export interface MyPermissions {
  policyVersion: string
  roles: string[]
  actions: PermissionSummary['actions']
  invitations: NonNullable<PermissionSummary['invitations']> & { limits: { requester: HourlyLimit; tenant: HourlyLimit | null } } | null
  groups: {
    groupId: string
    /** false: Graph has no such group (the policy names one that is gone). */
    found: boolean
    displayName: string | null
    kind: GroupKind | null
    isDynamic: boolean
    isAssignableToRole: boolean
    /** Whether the caller may add or remove guests, as the real request would be decided. */
    add: boolean
    remove: boolean
  }[]
  apps: {
    appId: string
    found: boolean
    displayName: string | null
    /** Roles a guest can hold that the caller may grant / revoke. */
    grant: AppRoleBody[]
    revoke: AppRoleBody[]
  }[]
  bundles: PermissionSummary['bundles']
  expiryMaxDays: PermissionSummary['expiryMaxDays']
}

/** Graph's kinds of group (https://learn.microsoft.com/en-us/graph/api/resources/groups-overview#group-types-in-microsoft-entra-id-and-microsoft-graph). */
export function groupKind(group: DirectoryGroup): GroupKind {
  if (group.groupTypes.includes('Unified')) return 'microsoft365'
  if (group.securityEnabled) return group.mailEnabled ? 'mailEnabledSecurity' : 'security'
  return 'distribution'
}

export async function myPermissions(app: FastifyInstance, caller: Caller): Promise<MyPermissions> {
  const principal = caller.authenticatedPrincipal()
  const summary = app.policies.current().permissionsOf(principal)

  const groups = () => Promise.all(summary.groups.map(async ({ groupId }) => {
    const group = await app.directoryCache.group(caller, groupId)
    const may = (action: 'addMember' | 'removeMember') => caller.evaluate(action, groupMembershipTarget(groupId, group ?? undefined)).allowed
    return {
      groupId,
      found: group !== null,
      displayName: group?.displayName ?? null,
      kind: group ? groupKind(group) : null,
      isDynamic: group?.isDynamic ?? false,
      isAssignableToRole: group?.isAssignableToRole ?? false,
      add: group !== null && may('addMember'),
      remove: group !== null && may('removeMember'),
    }
  }))

  const apps = () => Promise.all(summary.appRoles.map(async ({ appId }) => {
    const sp = await app.directoryCache.servicePrincipal(caller, appId)
    const allowed = (action: 'assign' | 'unassign', roles: AppRole[]) =>
      sp ? roles.filter((role) => caller.evaluate(action, appRoleTarget(appId, role, sp)).allowed).map(toAppRole) : []
    return {
      appId,
      found: sp !== null,
      displayName: sp?.displayName ?? null,
      grant: allowed('assign', sp ? assignableRoles(sp) : []),
      revoke: allowed('unassign', sp?.appRoles ?? []),
    }
  }))

  const invitations = async () => {
    if (!summary.invitations) return null
    const { requester, tenant } = app.policies.current().invitationLimitsOf(principal)
    const counts = await invitationContext(app, principal)
    const hourly = (limit: number | undefined, used: number, retryAt: Date | null): HourlyLimit => ({
      limit: limit ?? null, used, remaining: limit === undefined ? null : Math.max(0, limit - used), retryAt: retryAt?.toISOString() ?? null,
    })
    return {
      ...summary.invitations,
      limits: {
        requester: hourly(requester, counts.invitationsInLastHour ?? 0, counts.retryAt?.requester ?? null),
        tenant: tenant === undefined ? null : hourly(tenant, counts.tenantInvitationsInLastHour ?? 0, counts.retryAt?.tenant ?? null),
      },
    }
  }

  const [invitationPart, groupPart, appPart] = await Promise.all([invitations(), groups(), apps()])
  return {
    policyVersion: summary.policyVersion, roles: summary.roles, actions: summary.actions, invitations: invitationPart, groups: groupPart, apps: appPart,
    bundles: summary.bundles, expiryMaxDays: summary.expiryMaxDays,
  }
}
