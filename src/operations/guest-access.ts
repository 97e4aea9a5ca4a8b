// The writes that give and take a guest's access: group membership and app role assignments.
// Single routes, onboarding and revoke-access all go through these, so each is audited the same.
import type { FastifyInstance } from 'fastify'
import type { Caller } from './caller.js'
import type { AuditTarget } from '../audit/types.js'
import { type AppRole, type AppRoleAssignment, type Change, type DirectoryGroup, type ServicePrincipal } from '../graph/graph-gateway.js'
import { retryWhileNotReplicated } from '../graph/replication.js'
import type { PolicyDecision } from '../policies/types.js'
import { conflict, databaseUnavailable } from '../errors.js'
import { identityOf } from '../routes/request-identity.js'
import type { RequestIdentity, WriteOutcome } from './audited-graph.js'
import { denialEntry } from './denials.js'
import { appRoleTarget, groupMembershipTarget, loadApp } from './policy-targets.js'

export interface GuestRef {
  id: string
  label: string | null
}

const guestTarget = (guest: GuestRef): AuditTarget => ({ type: 'guest', id: guest.id, displayName: guest.label })

export interface AccessWrite {
  decision: PolicyDecision
  operationId?: string
  /** Right after the invitation: retry Graph's not-yet-replicated answers with backoff. */
  newlyInvited?: boolean
  /** How long to wait for the Graph write budget (jobs wait; requests mostly do not). */
  budgetWaitMs?: number
}

const replicationOf = (app: FastifyInstance, write: AccessWrite) => (write.newlyInvited ? app.config.replication : undefined)

export function addToGroup(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, group: DirectoryGroup, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'groupMembership.addMember', params: { groupId: group.id, userId: guest.id },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { groupName: group.displayName }, replication: replicationOf(app, write), budgetWaitMs: write.budgetWaitMs,
  })
}

export function removeFromGroup(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, group: { id: string; displayName: string | null }, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'groupMembership.removeMember', params: { groupId: group.id, userId: guest.id },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { groupName: group.displayName }, budgetWaitMs: write.budgetWaitMs,
  })
}

export function assignAppRole(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, sp: ServicePrincipal, role: AppRole, write: AccessWrite): Promise<WriteOutcome<Change<AppRoleAssignment>>> {
  return app.graphOps.write(identity, {
    write: 'appRoleAssignment.assign', params: { appId: sp.id, principalId: guest.id, appRoleId: role.id },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { appName: sp.displayName, appRole: role.value }, replication: replicationOf(app, write), budgetWaitMs: write.budgetWaitMs,
  })
}

export function removeAppRoleAssignment(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, assignment: AppRoleAssignment, roleValue: string | null, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'appRoleAssignment.unassign', params: { appId: assignment.resourceId, assignmentId: assignment.id, principalId: assignment.principalId },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { appName: assignment.resourceDisplayName, appRoleId: assignment.appRoleId, appRole: roleValue }, budgetWaitMs: write.budgetWaitMs,
  })
}

/**
 * Before granting anything to a user an invitation returned: Graph re-invites whoever holds the
 * address by then, which may be a member account created in the meantime. A member gets nothing
 * (409, audited); guestgate only manages guests' access. Reads with replication retries: the
 * user may be too new to be found.
 */
export async function requireGuest(app: FastifyInstance, request: Caller, guest: GuestRef, operationId: string, allowed: PolicyDecision): Promise<void> {
  const identity = identityOf(request)
  // A dry run invited nobody: there is no user to look at yet.
  if (identity.dryRun) return
  const user = await retryWhileNotReplicated(app.config.replication, () => app.graphOps.read(identity, (graph, ctx) => graph.getUser(guest.id, ctx)))
  if (user.userType === 'Guest') return
  const reason = `Graph reports ${guest.label ?? guest.id} (${guest.id}) as a ${user.userType} of the directory, not a guest: guestgate grants nothing to members.`
  const decision: PolicyDecision = { allowed: false, rule: 'guests.not-a-guest', reason, policyVersion: allowed.policyVersion }
  await app.audit.append(denialEntry(identity, decision, 'invitation.grant', guestTarget(guest), {}, operationId))
    .catch((error: unknown) => { throw databaseUnavailable(error) })
  throw conflict('not_a_guest', `${reason} The invitation was sent; no group or app role was granted.`, { existingUserId: guest.id, operationId })
}

/** One step of a multi-step request, as the response reports it. kept: a rule (a hard refusal,
 *  or Graph's own, such as a dynamic group's membership rule) leaves it in place, untouched. */
export interface PartOutcome {
  kind: 'invitation' | 'group' | 'appRole'
  target: string
  status: 'succeeded' | 'unchanged' | 'kept' | 'failed'
  operationId?: string
  rule?: string
  reason?: string
  error?: { status: number; code: string; detail: string }
}

/** What a guest holds: direct groups, app role assignments, and the apps they are on. */
export interface GuestAccess {
  groups: DirectoryGroup[]
  assignments: AppRoleAssignment[]
  apps: Map<string, ServicePrincipal>
}

export async function accessOf(app: FastifyInstance, request: Caller, guestId: string): Promise<GuestAccess> {
  const identity = identityOf(request)
  const [groups, assignments] = await Promise.all([
    app.graphOps.read(identity, (graph, ctx) => graph.listUserGroups(guestId, ctx)),
    app.graphOps.read(identity, (graph, ctx) => graph.listUserAppRoleAssignments(guestId, ctx)),
  ])
  const apps = await Promise.all([...new Set(assignments.map((a) => a.resourceId))].map((appId) => loadApp(app, request, appId)))
  return { groups, assignments, apps: new Map(apps.map((sp) => [sp.id, sp])) }
}

/** The role of an assignment, when its app still declares it. */
export const roleOf = (access: GuestAccess, assignment: AppRoleAssignment): AppRole | undefined =>
  access.apps.get(assignment.resourceId)?.appRoles.find((r) => r.id === assignment.appRoleId)

export type RevocationPart =
  | { kind: 'group'; target: string; decision: PolicyDecision; group: DirectoryGroup }
  | { kind: 'appRole'; target: string; decision: PolicyDecision; assignment: AppRoleAssignment; role?: AppRole }

/**
 * Revoking a guest's access, part by part, each asked the question of its single route (remove
 * from this group, revoke this app role) as a part of a revocation: the hard refusals hold
 * (role-assignable and dynamic groups, Graph's and guestgate's own apps) and such parts are kept.
 */
export async function planRevocation(app: FastifyInstance, request: Caller, guestId: string): Promise<RevocationPart[]> {
  const access = await accessOf(app, request, guestId)
  const groupParts = access.groups.map((group): RevocationPart => ({
    kind: 'group', target: group.id, group,
    decision: request.evaluate('removeMember', { ...groupMembershipTarget(group.id, group), via: 'revokeAccess' }),
  }))
  const roleParts = access.assignments.map((assignment): RevocationPart => {
    const sp = access.apps.get(assignment.resourceId)
    const role = roleOf(access, assignment)
    const value = role?.value ?? assignment.appRoleId
    return {
      kind: 'appRole', target: `${assignment.resourceId}/${value}`, assignment, role,
      decision: request.evaluate('unassign', { ...appRoleTarget(assignment.resourceId, role, sp), appRoleId: assignment.appRoleId, via: 'revokeAccess' }),
    }
  })
  return [...groupParts, ...roleParts]
}

/** A kept part as the response reports it. */
export const keptPart = (part: { kind: PartOutcome['kind']; target: string; decision: PolicyDecision }): PartOutcome =>
  ({ kind: part.kind, target: part.target, status: 'kept', rule: part.decision.rule, reason: part.decision.reason })

/** Runs a step; a failure is reported, not thrown, so the remaining steps still run. */
export async function runPart(kind: PartOutcome['kind'], target: string, step: () => Promise<WriteOutcome<Change<unknown>>>): Promise<PartOutcome> {
  try {
    const outcome = await step()
    return { kind, target, status: outcome.value.changed ? 'succeeded' : 'unchanged', operationId: outcome.operationId }
  } catch (error) {
    const problem = error as { status?: number; code?: string; detail?: string; extras?: { operationId?: string } }
    return {
      kind, target, status: 'failed',
      ...(problem.extras?.operationId ? { operationId: problem.extras.operationId } : {}),
      error: { status: problem.status ?? 500, code: problem.code ?? 'internal_error', detail: problem.detail ?? 'internal error' },
    }
  }
}
