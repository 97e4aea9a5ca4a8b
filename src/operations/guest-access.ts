// The writes that give and take a guest's access: group membership and app role assignments.
// Single routes, onboarding and revoke-access all go through these, so each is audited the same.
import type { FastifyInstance } from 'fastify'
import type { AuditTarget } from '../audit/types.js'
import { type AppRole, type AppRoleAssignment, type Change, type DirectoryGroup, type ServicePrincipal } from '../graph/graph-gateway.js'
import { retryWhileNotReplicated } from '../graph/replication.js'
import type { PolicyDecision } from '../policies/types.js'
import type { RequestIdentity, WriteOutcome } from './audited-graph.js'

export interface GuestRef {
  id: string
  label: string | null
}

const guestTarget = (guest: GuestRef): AuditTarget => ({ type: 'guest', id: guest.id, displayName: guest.label })

function retryingReplication<T>(app: FastifyInstance, enabled: boolean, call: () => Promise<T>): Promise<T> {
  return enabled ? retryWhileNotReplicated(app.config.replication, call) : call()
}

export interface AccessWrite {
  decision: PolicyDecision
  operationId?: string
  /** Right after the invitation: retry Graph's not-yet-replicated answers with backoff. */
  newlyInvited?: boolean
}

export function addToGroup(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, group: DirectoryGroup, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    action: 'groupMembership.addMember', target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { groupId: group.id, groupName: group.displayName },
  }, (graph, ctx) => retryingReplication(app, write.newlyInvited ?? false, () => graph.addGroupMember(group.id, guest.id, ctx)))
}

export function removeFromGroup(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, group: { id: string; displayName: string | null }, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    action: 'groupMembership.removeMember', target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { groupId: group.id, groupName: group.displayName },
  }, (graph, ctx) => graph.removeGroupMember(group.id, guest.id, ctx))
}

export function assignAppRole(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, sp: ServicePrincipal, role: AppRole, write: AccessWrite): Promise<WriteOutcome<Change<AppRoleAssignment>>> {
  return app.graphOps.write(identity, {
    action: 'appRoleAssignment.assign', target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { appId: sp.id, appName: sp.displayName, appRoleId: role.id, appRole: role.value },
  }, (graph, ctx) => retryingReplication(app, write.newlyInvited ?? false,
    () => graph.assignAppRole(sp.id, { principalId: guest.id, appRoleId: role.id }, ctx)))
}

export function removeAppRoleAssignment(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, assignment: AppRoleAssignment, roleValue: string | null, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    action: 'appRoleAssignment.unassign', target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { appId: assignment.resourceId, appName: assignment.resourceDisplayName, appRoleId: assignment.appRoleId, appRole: roleValue, assignmentId: assignment.id },
  }, (graph, ctx) => graph.removeAppRoleAssignment(assignment.resourceId, assignment.id, ctx))
}

/** One step of a multi-step request, as the response reports it. */
export interface PartOutcome {
  kind: 'invitation' | 'group' | 'appRole'
  target: string
  status: 'succeeded' | 'unchanged' | 'failed'
  operationId?: string
  error?: { status: number; code: string; detail: string }
}

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
