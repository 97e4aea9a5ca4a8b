// What a portal shows a caller (GET /v1/me/permissions): the policy's summary for the caller's
// roles, with the names and kinds Graph knows (cached: plugins/directory-cache.ts), each choice
// decided by the same policy question as the real request, and the invitation limits left this hour.
import type { FastifyInstance } from 'fastify'
import type { AppRole, DirectoryGroup, ServicePrincipal } from '../graph/graph-gateway.js'
import type { Principal } from '../auth/principal.js'
import type { Cached } from '../plugins/directory-cache.js'
import type { AppPolicyEngine } from '../policies/policy-engine.js'
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
  groups: readonly {
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
  apps: readonly {
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

type GroupEntry = MyPermissions['groups'][number]
type AppEntry = MyPermissions['apps'][number]

// What the page says about one group or application depends only on that directory object and on
// what the caller's ability depends on (the roles the policy knows, the tenant, the policy
// version). The summary object stands for the latter (the policy engine makes one per such key)
// and the directory cache hands out the same object for as long as it keeps it: so the policy is
// asked once per (summary, object), not on every page load.
const groupEntries = new WeakMap<PermissionSummary, WeakMap<DirectoryGroup, GroupEntry>>()
const appEntries = new WeakMap<PermissionSummary, WeakMap<ServicePrincipal, AppEntry>>()

function remembered<K extends object, V>(caller: Caller, cache: WeakMap<PermissionSummary, WeakMap<K, V>>, summary: PermissionSummary, object: K, compute: () => V): V {
  // A dry run records every question asked: it asks them all.
  if (caller.dryRun) return compute()
  let entries = cache.get(summary)
  if (!entries) cache.set(summary, entries = new WeakMap())
  let entry = entries.get(object)
  if (entry === undefined) entries.set(object, entry = Object.freeze(compute()))
  return entry
}

// Module functions rather than closures: the page is asked for on every portal page load.
function groupEntry(caller: Caller, summary: PermissionSummary, groupId: string, group: DirectoryGroup | null): GroupEntry {
  if (group === null) return { groupId, found: false, displayName: null, kind: null, isDynamic: false, isAssignableToRole: false, add: false, remove: false }
  return remembered(caller, groupEntries, summary, group, () => {
    const may = (action: 'addMember' | 'removeMember') => caller.evaluate(action, groupMembershipTarget(groupId, group)).allowed
    return {
      groupId,
      found: true,
      displayName: group.displayName,
      kind: groupKind(group),
      isDynamic: group.isDynamic,
      isAssignableToRole: group.isAssignableToRole,
      add: may('addMember'),
      remove: may('removeMember'),
    }
  })
}

function appEntry(caller: Caller, summary: PermissionSummary, appId: string, sp: ServicePrincipal | null): AppEntry {
  if (sp === null) return { appId, found: false, displayName: null, grant: [], revoke: [] }
  return remembered(caller, appEntries, summary, sp, () => {
    const allowed = (action: 'assign' | 'unassign', roles: AppRole[]) =>
      roles.filter((role) => caller.evaluate(action, appRoleTarget(appId, role, sp)).allowed).map(toAppRole)
    return { appId, found: true, displayName: sp.displayName, grant: allowed('assign', assignableRoles(sp)), revoke: allowed('unassign', sp.appRoles) }
  })
}

async function readGroupEntry(app: FastifyInstance, caller: Caller, summary: PermissionSummary, groupId: string): Promise<GroupEntry> {
  return groupEntry(caller, summary, groupId, await app.directoryCache.group(caller, groupId))
}

async function readAppEntry(app: FastifyInstance, caller: Caller, summary: PermissionSummary, appId: string): Promise<AppEntry> {
  return appEntry(caller, summary, appId, await app.directoryCache.servicePrincipal(caller, appId))
}

interface Parts {
  groups: readonly GroupEntry[]
  apps: readonly AppEntry[]
  /** The whole page when it has nothing else to read (no invitation counts): one frozen object
   *  answered to every request while the parts are fresh, so its JSON is made once too. */
  page: MyPermissions | undefined
}

// The groups and applications parts, built from the directory cache, kept per summary until the
// first of the objects they show would go stale there: until then the directory cache would
// answer the same objects, so the page is the same (and asks it nothing).
const cachedPages = new WeakMap<PermissionSummary, Parts & { freshUntil: number }>()

/**
 * The groups and applications parts when the directory cache holds every object they name (the
 * usual case): no promise per object. undefined when one is missing or stale: then they are read.
 * A dry run reads them the usual way (it records every question).
 */
function cachedParts(app: FastifyInstance, caller: Caller, summary: PermissionSummary): Parts | undefined {
  if (caller.dryRun) return undefined
  const kept = cachedPages.get(summary)
  if (kept && performance.now() < kept.freshUntil) return kept
  const fresh = { until: Infinity }
  const groups = fromCache(summary.groups.map((g) => g.groupId), (id) => app.directoryCache.cachedGroup(caller, id), (id, group) => groupEntry(caller, summary, id, group), fresh)
  if (groups === undefined) return undefined
  const apps = fromCache(summary.appRoles.map((a) => a.appId), (id) => app.directoryCache.cachedServicePrincipal(caller, id), (id, sp) => appEntry(caller, summary, id, sp), fresh)
  if (apps === undefined) return undefined
  const freshUntil = fresh.until
  // Shared by every answer until then: frozen.
  Object.freeze(groups)
  Object.freeze(apps)
  const whole = summary.invitations ? undefined : Object.freeze(page(summary, null, groups, apps))
  const parts = Object.freeze({ groups, apps, page: whole, freshUntil })
  cachedPages.set(summary, parts)
  return parts
}

/** An entry per id from what the directory cache holds now (undefined when one is missing or
 *  stale); `fresh.until` becomes the earliest time one of them goes stale. */
function fromCache<T, E>(ids: string[], peek: (id: string) => Cached<T> | undefined, entry: (id: string, value: T | null) => E, fresh: { until: number }): E[] | undefined {
  const entries: E[] = []
  for (const id of ids) {
    const cached = peek(id)
    if (cached === undefined) return undefined
    fresh.until = Math.min(fresh.until, cached.freshUntil)
    entries.push(entry(id, cached.value))
  }
  return entries
}

const hourly = (limit: number | undefined, used: number, retryAt: Date | null): HourlyLimit => ({
  limit: limit ?? null, used, remaining: limit === undefined ? null : Math.max(0, limit - used), retryAt: retryAt?.toISOString() ?? null,
})

async function invitationsPart(app: FastifyInstance, policy: AppPolicyEngine, principal: Principal, summary: PermissionSummary): Promise<MyPermissions['invitations']> {
  if (!summary.invitations) return null
  const { requester, tenant } = policy.invitationLimitsOf(principal)
  const counts = await invitationContext(app, principal)
  return {
    ...summary.invitations,
    limits: {
      requester: hourly(requester, counts.invitationsInLastHour ?? 0, counts.retryAt?.requester ?? null),
      tenant: tenant === undefined ? null : hourly(tenant, counts.tenantInvitationsInLastHour ?? 0, counts.retryAt?.tenant ?? null),
    },
  }
}

/** Synchronous when nothing needs reading (no invitation counts, every directory object cached). */
export function myPermissions(app: FastifyInstance, caller: Caller): MyPermissions | Promise<MyPermissions> {
  const principal = caller.authenticatedPrincipal()
  const policy = app.policies.current()
  const summary = policy.permissionsOf(principal)
  const cached = cachedParts(app, caller, summary)
  if (cached?.page) return cached.page
  return readPermissions(app, caller, policy, principal, summary, cached)
}

async function readPermissions(app: FastifyInstance, caller: Caller, policy: AppPolicyEngine, principal: Principal, summary: PermissionSummary,
  cached: Parts | undefined): Promise<MyPermissions> {
  let groups: readonly GroupEntry[] | Promise<GroupEntry[]>
  let apps: readonly AppEntry[] | Promise<AppEntry[]>
  if (cached) {
    ({ groups, apps } = cached)
  } else {
    const groupReads: Promise<GroupEntry>[] = []
    for (const { groupId } of summary.groups) groupReads.push(readGroupEntry(app, caller, summary, groupId))
    const appReads: Promise<AppEntry>[] = []
    for (const { appId } of summary.appRoles) appReads.push(readAppEntry(app, caller, summary, appId))
    groups = Promise.all(groupReads)
    apps = Promise.all(appReads)
  }
  const [invitationPart, groupPart, appPart] = await Promise.all([invitationsPart(app, policy, principal, summary), groups, apps])
  return page(summary, invitationPart, groupPart, appPart)
}

const page = (summary: PermissionSummary, invitations: MyPermissions['invitations'], groups: readonly GroupEntry[], apps: readonly AppEntry[]): MyPermissions => ({
  policyVersion: summary.policyVersion, roles: summary.roles, actions: summary.actions, invitations, groups, apps,
  bundles: summary.bundles, expiryMaxDays: summary.expiryMaxDays,
})
