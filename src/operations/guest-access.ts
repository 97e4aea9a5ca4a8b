// The writes that give and take a guest's access: group membership, app role assignments,
// sponsors, and the offboarding steps (block sign-in, revoke sessions). Single routes, onboarding
// and revoke-access all go through these, so each is audited the same.
import type { FastifyInstance } from 'fastify'
import type { Caller } from './caller.js'
import type { AuditTarget } from '../audit/types.js'
import { GraphRequestError, type AppRole, type AppRoleAssignment, type Change, type DirectoryGroup, type ServicePrincipal } from '../graph/graph-gateway.js'
import { problemFromGraphError } from '../graph/graph-problems.js'
import { retryWhileNotReplicated } from '../graph/replication.js'
import type { PartOf, PolicyDecision } from '../policies/types.js'
import { conflict, databaseUnavailable, ProblemError, type ProblemCode } from '../errors.js'
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
  /** More for the audit rows (an expiry says which, until when, and who set it). */
  summary?: Record<string, unknown>
}

const replicationOf = (app: FastifyInstance, write: AccessWrite) => (write.newlyInvited ? app.config.replication : undefined)

export function addToGroup(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, group: DirectoryGroup, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'groupMembership.addMember', params: { groupId: group.id, userId: guest.id },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { ...write.summary, groupName: group.displayName }, replication: replicationOf(app, write), budgetWaitMs: write.budgetWaitMs,
  })
}

export function removeFromGroup(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, group: { id: string; displayName: string | null }, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'groupMembership.removeMember', params: { groupId: group.id, userId: guest.id },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { ...write.summary, groupName: group.displayName }, budgetWaitMs: write.budgetWaitMs,
  })
}

export function assignAppRole(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, sp: ServicePrincipal, role: AppRole, write: AccessWrite): Promise<WriteOutcome<Change<AppRoleAssignment>>> {
  return app.graphOps.write(identity, {
    write: 'appRoleAssignment.assign', params: { appId: sp.id, principalId: guest.id, appRoleId: role.id },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { ...write.summary, appName: sp.displayName, appRole: role.value }, replication: replicationOf(app, write), budgetWaitMs: write.budgetWaitMs,
  })
}

export function removeAppRoleAssignment(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, assignment: AppRoleAssignment, roleValue: string | null, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'appRoleAssignment.unassign', params: { appId: assignment.resourceId, assignmentId: assignment.id, principalId: assignment.principalId },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { ...write.summary, appName: assignment.resourceDisplayName, appRoleId: assignment.appRoleId, appRole: roleValue }, budgetWaitMs: write.budgetWaitMs,
  })
}

/** A sponsor as guestgate writes it: Graph references users and groups by their own collections. */
export interface SponsorRef {
  id: string
  type: 'user' | 'group'
  displayName: string | null
}

export function addSponsor(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, sponsor: SponsorRef, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'guest.addSponsor', params: { guestId: guest.id, sponsorId: sponsor.id, sponsorType: sponsor.type },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { sponsorName: sponsor.displayName, sponsorType: sponsor.type }, replication: replicationOf(app, write), budgetWaitMs: write.budgetWaitMs,
  })
}

export function removeSponsor(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, sponsor: SponsorRef, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'guest.removeSponsor', params: { guestId: guest.id, sponsorId: sponsor.id, sponsorType: sponsor.type },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId,
    summary: { sponsorName: sponsor.displayName, sponsorType: sponsor.type }, budgetWaitMs: write.budgetWaitMs,
  })
}

/** accountEnabled false: the guest can no longer sign in to this tenant (its object and access stay). */
export function blockSignIn(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'guest.blockSignIn', params: { guestId: guest.id },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId, budgetWaitMs: write.budgetWaitMs,
  })
}

/** revokeSignInSessions: refresh tokens and session cookies issued before now stop working. */
export function revokeSessions(app: FastifyInstance, identity: RequestIdentity, guest: GuestRef, write: AccessWrite): Promise<WriteOutcome<Change>> {
  return app.graphOps.write(identity, {
    write: 'guest.revokeSessions', params: { guestId: guest.id, requestedAt: new Date().toISOString() },
    target: guestTarget(guest), decision: write.decision, operationId: write.operationId, budgetWaitMs: write.budgetWaitMs,
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
  kind: 'invitation' | 'sponsor' | 'group' | 'appRole' | 'blockSignIn' | 'revokeSessions'
  target: string
  /** The bundle the part belongs to (bundle grants and revocations). */
  bundle?: string
  status: 'succeeded' | 'unchanged' | 'kept' | 'failed'
  operationId?: string
  rule?: string
  reason?: string
  error?: { status: number; code: ProblemCode; detail: string }
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
  | { kind: 'blockSignIn'; target: string; decision: PolicyDecision }
  | { kind: 'revokeSessions'; target: string; decision: PolicyDecision }
  | { kind: 'group'; target: string; decision: PolicyDecision; group: DirectoryGroup }
  | { kind: 'appRole'; target: string; decision: PolicyDecision; assignment: AppRoleAssignment; role?: AppRole }

/** Offboarding options of revoke-access: each its own policy action. */
export interface OffboardingOptions {
  blockSignIn?: boolean
  revokeSessions?: boolean
}

/** The audit action of a revocation part (its denial row when it is kept). */
export const revocationAction = (part: RevocationPart): string => ({
  blockSignIn: 'guest.blockSignIn', revokeSessions: 'guest.revokeSessions',
  group: 'groupMembership.removeMember', appRole: 'appRoleAssignment.unassign',
})[part.kind]

/**
 * Revoking a guest's access, part by part, each asked the question of its single route (remove
 * from this group, revoke this app role) as a part of a revocation: the hard refusals hold
 * (role-assignable and dynamic groups, Graph's and guestgate's own apps) and such parts are kept.
 * The offboarding options come first (the guest is cut off before the slower removals), each
 * asked its own action: a requester without it gets the part kept, with the rule and reason.
 */
export async function planRevocation(app: FastifyInstance, request: Caller, guestId: string, options: OffboardingOptions = {}, via: PartOf = 'revokeAccess'): Promise<RevocationPart[]> {
  const offboarding: RevocationPart[] = []
  const guest = { type: 'Guest', id: guestId } as const
  if (options.blockSignIn === true) offboarding.push({ kind: 'blockSignIn', target: guestId, decision: request.evaluate('blockSignIn', guest) })
  if (options.revokeSessions === true) offboarding.push({ kind: 'revokeSessions', target: guestId, decision: request.evaluate('revokeSessions', guest) })
  const access = await accessOf(app, request, guestId)
  const groupParts = access.groups.map((group): RevocationPart => ({
    kind: 'group', target: group.id, group,
    decision: request.evaluate('removeMember', { ...groupMembershipTarget(group.id, group), via }),
  }))
  const roleParts = access.assignments.map((assignment): RevocationPart => {
    const sp = access.apps.get(assignment.resourceId)
    const role = roleOf(access, assignment)
    const value = role?.value ?? assignment.appRoleId
    return {
      kind: 'appRole', target: `${assignment.resourceId}/${value}`, assignment, role,
      decision: request.evaluate('unassign', { ...appRoleTarget(assignment.resourceId, role, sp), appRoleId: assignment.appRoleId, via }),
    }
  })
  return [...offboarding, ...groupParts, ...roleParts]
}

/**
 * Carries out a revocation plan: kept parts are recorded before anything changes (a refusal that
 * cannot be recorded stops here), then each allowed part is removed through the audited runner.
 * revoke-access and a guest's expiry both run it.
 */
export async function executeRevocation(app: FastifyInstance, request: Caller, guest: GuestRef & { accountEnabled?: boolean }, plan: RevocationPart[], operationId: string,
  write: Omit<AccessWrite, 'decision' | 'operationId'> = {}, decisionOf: (part: RevocationPart) => PolicyDecision = (part) => part.decision): Promise<PartOutcome[]> {
  const identity = identityOf(request)
  await Promise.all(plan.filter((part) => !part.decision.allowed).map((part) =>
    app.audit.append(denialEntry(identity, part.decision, revocationAction(part), guestTarget(guest), { ...write.summary, part: part.target }, operationId))))
    .catch((error: unknown) => { throw databaseUnavailable(error) })
  const parts: PartOutcome[] = []
  for (const part of plan) {
    const partWrite = { ...write, decision: decisionOf(part), operationId }
    if (!part.decision.allowed) {
      parts.push(keptPart(part))
    } else if (part.kind === 'blockSignIn') {
      // Already blocked: nothing to send.
      parts.push(guest.accountEnabled === false
        ? { kind: 'blockSignIn', target: part.target, status: 'unchanged' }
        : await runPart('blockSignIn', part.target, () => blockSignIn(app, identity, guest, partWrite)))
    } else if (part.kind === 'revokeSessions') {
      parts.push(await runPart('revokeSessions', part.target, () => revokeSessions(app, identity, guest, partWrite)))
    } else if (part.kind === 'group') {
      parts.push(await runPart('group', part.target, () => removeFromGroup(app, identity, guest, part.group, partWrite)))
    } else {
      parts.push(await runPart('appRole', part.target,
        () => removeAppRoleAssignment(app, identity, guest, part.assignment, part.role?.value ?? null, partWrite)))
    }
  }
  return parts
}

/** complete, unless a part failed (kept parts are not failures). */
export const outcomeOf = (parts: PartOutcome[]): 'complete' | 'partial' => (parts.some((p) => p.status === 'failed') ? 'partial' : 'complete')

/** A kept part as the response reports it. */
export const keptPart = (part: { kind: PartOutcome['kind']; target: string; decision: PolicyDecision }): PartOutcome =>
  ({ kind: part.kind, target: part.target, status: 'kept', rule: part.decision.rule, reason: part.decision.reason })

/** Runs a step; a failure is reported, not thrown, so the remaining steps still run. */
export async function runPart(kind: PartOutcome['kind'], target: string, step: () => Promise<WriteOutcome<Change<unknown>>>): Promise<PartOutcome> {
  try {
    const outcome = await step()
    return { kind, target, status: outcome.value.changed ? 'succeeded' : 'unchanged', operationId: outcome.operationId }
  } catch (error) {
    // Only a problem's own words reach the caller; anything else is an internal error.
    const problem = error instanceof ProblemError ? error : error instanceof GraphRequestError ? problemFromGraphError(error) : null
    return {
      kind, target, status: 'failed',
      ...(problem?.extras.operationId ? { operationId: problem.extras.operationId } : {}),
      error: { status: problem?.status ?? 500, code: problem?.code ?? 'internal_error', detail: problem?.detail ?? 'internal error' },
    }
  }
}
