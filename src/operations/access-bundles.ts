// Access bundles (policy file `bundles`): named sets of groups and app roles granted and revoked
// as one operation. Every part is asked its single route's question (checkGroupMembership,
// checkAppRole) before anything is sent, each part is written through the audited runner under
// one operation id, and the grant is recorded (AccessBundleGrant) with its expiry.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { databaseUnavailable, notFound, unprocessable } from '../errors.js'
import type { AppRole, DirectoryGroup, ServicePrincipal } from '../graph/graph-gateway.js'
import type { BundlePolicy } from '../policies/policy-file.js'
import type { PolicyDecision } from '../policies/types.js'
import { identityOf } from '../routes/request-identity.js'
import type { Caller } from './caller.js'
import { actorOf } from './request-identity.js'
import { denialEntry } from './denials.js'
import { addToGroup, assignAppRole, outcomeOf, removeAppRoleAssignment, removeFromGroup, runPart, type AccessWrite, type GuestRef, type PartOutcome } from './guest-access.js'
import { appRoleTarget, checkAppRole, checkGroupMembership, groupMembershipTarget, loadApp, loadGroup, type PolicyAsk } from './policy-targets.js'
import { replaceExpiry } from './expiry.js'

/** A part of a bundle as a grant records it: enough to take it away later. */
export type BundlePart =
  | { kind: 'group'; groupId: string; label: string | null }
  | { kind: 'appRole'; appId: string; appRoleId: string; appRole: string }

export const partTarget = (part: BundlePart) => (part.kind === 'group' ? part.groupId : `${part.appId}/${part.appRole}`)
export const partKey = (part: BundlePart) => (part.kind === 'group' ? `group ${part.groupId}` : `appRole ${part.appId} ${part.appRoleId}`)

export interface BundlePlan {
  bundle: BundlePolicy
  decision: PolicyDecision
  groups: { group: DirectoryGroup; decision: PolicyDecision }[]
  appRoles: { app: ServicePrincipal; role: AppRole; decision: PolicyDecision }[]
}

/** The bundle of that name, or a 422 naming the field (404 when it names a path segment). */
export function findBundle(app: FastifyInstance, name: string, field: string): BundlePolicy {
  const bundle = app.policies.current().policy.bundles?.find((b) => b.name === name)
  if (bundle) return bundle
  const known = (app.policies.current().policy.bundles ?? []).map((b) => b.name)
  const detail = `The policy has no bundle "${name}". Bundles: ${known.join(', ') || 'none'}.`
  if (field.startsWith('params/')) throw notFound(detail)
  throw unprocessable('unknown_bundle', detail, { errors: [{ field, message: `must be one of: ${known.join(', ') || '(no bundles)'}` }] })
}

/**
 * Every question a bundle grant (or revocation) asks, in the single routes' order: the bundle
 * itself, then each part from the request alone (no Graph call for a part the role may never
 * have), then each part with what Graph knows (role-assignable and dynamic groups, protected
 * apps). With an enforcing ask the first denial is a 403 (audited) and nothing is sent; with an
 * evaluating ask (what-if) the first denial is the answer.
 */
export async function authorizeBundle(app: FastifyInstance, request: Caller, ask: PolicyAsk, bundle: BundlePolicy, mode: 'grant' | 'revoke', field: string): Promise<{ decision: PolicyDecision; plan?: BundlePlan }> {
  const [groupAction, roleAction] = mode === 'grant' ? ['addMember', 'assign'] as const : ['removeMember', 'unassign'] as const
  const decision = await ask(mode === 'grant' ? 'grantBundle' : 'revokeBundle', { type: 'AccessBundle', bundle: bundle.name })
  if (!decision.allowed) return { decision }
  for (const groupId of bundle.groups ?? []) {
    const first = await ask(groupAction, groupMembershipTarget(groupId))
    if (!first.allowed) return { decision: first }
  }
  for (const { appId } of bundle.appRoles ?? []) {
    const first = await ask(roleAction, appRoleTarget(appId))
    if (!first.allowed) return { decision: first }
  }
  const plan: BundlePlan = { bundle, decision, groups: [], appRoles: [] }
  for (const groupId of bundle.groups ?? []) {
    const checked = await checkGroupMembership(app, request, ask, groupAction, groupId)
    if (!checked.decision.allowed) return { decision: checked.decision }
    plan.groups.push({ group: checked.group!, decision: checked.decision })
  }
  for (const [i, { appId, appRole }] of (bundle.appRoles ?? []).entries()) {
    const checked = await checkAppRole(app, request, ask, roleAction, appId, { appRole }, `${field}/appRoles/${i}`)
    if (!checked.decision.allowed) return { decision: checked.decision }
    plan.appRoles.push({ app: checked.app!, role: checked.role!, decision: checked.decision })
  }
  return { decision, plan }
}

/**
 * The questions of a grant the guest holds (renewing it, taking it away, moving its expiry
 * earlier): the bundle's own (authorizeBundle), then each part the grant recorded that the bundle
 * no longer lists, asked its single route's question too. `decisions`: each part's, by partKey.
 */
export async function authorizeHeldBundle(app: FastifyInstance, request: Caller, ask: PolicyAsk, bundle: BundlePolicy, mode: 'grant' | 'revoke', parts: BundlePart[], field: string):
Promise<{ decision: PolicyDecision; decisions?: Map<string, PolicyDecision> }> {
  const { decision, plan } = await authorizeBundle(app, request, ask, bundle, mode, field)
  if (!plan) return { decision }
  const decisions = new Map<string, PolicyDecision>([
    ...plan.groups.map(({ group, decision }) => [`group ${group.id}`, decision] as const),
    ...plan.appRoles.map(({ app: sp, role, decision }) => [`appRole ${sp.id} ${role.id}`, decision] as const),
  ])
  for (const part of parts) {
    if (decisions.has(partKey(part))) continue
    const checked = part.kind === 'group'
      ? await checkGroupMembership(app, request, ask, mode === 'grant' ? 'addMember' : 'removeMember', part.groupId)
      : await checkAppRole(app, request, ask, mode === 'grant' ? 'assign' : 'unassign', part.appId, { appRoleId: part.appRoleId }, field)
    if (!checked.decision.allowed) return { decision: checked.decision }
    decisions.set(partKey(part), checked.decision)
  }
  return { decision, decisions }
}

export interface BundleGrantResult {
  grantId: string
  bundle: string
  expiresAt: string
  operationId: string
  outcome: 'complete' | 'partial'
  parts: PartOutcome[]
}

/** Grants the parts of an authorized plan and records the grant and its expiry. Granting a
 *  bundle the guest already holds renews that grant (its parts are granted again: unchanged). */
export async function grantBundle(app: FastifyInstance, request: Caller, guest: GuestRef, plan: BundlePlan, expiresAt: Date,
  write: Omit<AccessWrite, 'decision'> & { operationId: string }): Promise<BundleGrantResult> {
  const identity = identityOf(request)
  const summary = { ...write.summary, bundle: plan.bundle.name, expiresAt: expiresAt.toISOString() }
  const parts: PartOutcome[] = []
  for (const { group, decision } of plan.groups) {
    parts.push({ ...await runPart('group', group.id, () => addToGroup(app, identity, guest, group, { ...write, summary, decision })), bundle: plan.bundle.name })
  }
  for (const { app: sp, role, decision } of plan.appRoles) {
    parts.push({ ...await runPart('appRole', `${sp.id}/${role.value}`, () => assignAppRole(app, identity, guest, sp, role, { ...write, summary, decision })), bundle: plan.bundle.name })
  }
  const recorded: BundlePart[] = [
    ...plan.groups.map(({ group }): BundlePart => ({ kind: 'group', groupId: group.id, label: group.displayName })),
    ...plan.appRoles.map(({ app: sp, role }): BundlePart => ({ kind: 'appRole', appId: sp.id, appRoleId: role.id, appRole: role.value ?? role.id })),
  ]
  let grantId: string = randomUUID()
  if (!request.dryRun) {
    const grantedBy = actorOf(request.authenticatedPrincipal())
    grantId = await app.prisma.$transaction(async (tx) => {
      const existing = await tx.accessBundleGrant.findFirst({ where: { guestId: guest.id, bundle: plan.bundle.name, state: 'active' } })
      const id = existing?.id ?? grantId
      if (existing) {
        await tx.accessBundleGrant.update({ where: { id }, data: { expiresAt, parts: recorded, grantedBy: { ...grantedBy }, operationId: write.operationId } })
      } else {
        await tx.accessBundleGrant.create({ data: { id, guestId: guest.id, bundle: plan.bundle.name, grantedBy: { ...grantedBy }, expiresAt, state: 'active', parts: recorded, operationId: write.operationId } })
      }
      await replaceExpiry(tx, { guestId: guest.id, kind: 'bundle', subject: id, label: plan.bundle.name, expiresAt, grantedBy })
      return id
    })
  }
  return { grantId, bundle: plan.bundle.name, expiresAt: expiresAt.toISOString(), operationId: write.operationId, outcome: outcomeOf(parts), parts }
}

/** Parts of a grant that another active grant of the guest still gives: they stay. */
export async function partsHeldElsewhere(app: FastifyInstance, guestId: string, grantId: string): Promise<Map<string, string>> {
  const others = await app.prisma.accessBundleGrant.findMany({ where: { guestId, state: 'active', NOT: { id: grantId } } })
  const held = new Map<string, string>()
  for (const other of others) for (const part of other.parts as BundlePart[]) held.set(partKey(part), other.bundle)
  return held
}

/**
 * Takes the parts of a grant away, each with the decision `decide` gives it (a denial keeps the
 * part, recorded by the caller); parts another active grant still gives are kept. Shared by the
 * revoke route and the expiry sweep.
 */
export async function removeBundleParts(app: FastifyInstance, request: Caller, guest: GuestRef, grant: { id: string; bundle: string; parts: BundlePart[] },
  decide: (part: BundlePart, loaded: { group?: DirectoryGroup; app?: ServicePrincipal; role?: AppRole }) => PolicyDecision,
  write: Omit<AccessWrite, 'decision'> & { operationId: string }, options: { readFirst?: boolean } = {}): Promise<PartOutcome[]> {
  const identity = identityOf(request)
  const held = await partsHeldElsewhere(app, guest.id, grant.id)
  const outcomes: PartOutcome[] = []
  for (const part of grant.parts) {
    const base = { kind: part.kind, target: partTarget(part), bundle: grant.bundle } as const
    const other = held.get(partKey(part))
    if (other) {
      outcomes.push({ ...base, status: 'kept', rule: 'bundles.still-granted', reason: `Bundle ${other} of this guest still gives it.` })
      continue
    }
    if (part.kind === 'group') {
      const group = await loadGroup(app, request, part.groupId).catch(() => undefined)
      if (!group || (options.readFirst && !await isMember(app, request, group.id, guest.id))) { outcomes.push({ ...base, status: 'unchanged' }); continue }
      const decision = decide(part, { group })
      if (!decision.allowed) { outcomes.push({ ...await keepRefused(app, request, guest, part, decision, write), bundle: grant.bundle }); continue }
      outcomes.push({ ...await runPart('group', base.target, () => removeFromGroup(app, identity, guest, group, { ...write, decision })), bundle: grant.bundle })
    } else {
      outcomes.push({ ...await removeAppRolePart(app, request, guest, part, decide, write), bundle: grant.bundle })
    }
  }
  return outcomes
}

/** One app role of a guest taken away: found by reading the guest's assignments on the app. */
export async function removeAppRolePart(app: FastifyInstance, request: Caller, guest: GuestRef, part: Extract<BundlePart, { kind: 'appRole' }>,
  decide: (part: BundlePart, loaded: { app?: ServicePrincipal; role?: AppRole }) => PolicyDecision,
  write: Omit<AccessWrite, 'decision'> & { operationId: string }): Promise<PartOutcome> {
  const identity = identityOf(request)
  const target = partTarget(part)
  const sp = await loadApp(app, request, part.appId).catch(() => undefined)
  const assignments = sp ? await app.graphOps.read(identity, (graph, ctx) => graph.listUserAppRoleAssignmentsOn(guest.id, part.appId, ctx)) : []
  const assignment = assignments.find((a) => a.appRoleId.toLowerCase() === part.appRoleId.toLowerCase())
  if (!sp || !assignment) return { kind: 'appRole', target, status: 'unchanged' }
  const role = sp.appRoles.find((r) => r.id === part.appRoleId)
  const decision = decide(part, { app: sp, role })
  if (!decision.allowed) return keepRefused(app, request, guest, part, decision, write)
  return runPart('appRole', target, () => removeAppRoleAssignment(app, identity, guest, assignment, role?.value ?? part.appRole, { ...write, decision }))
}

/** A part a refusal keeps (a hard refusal at sweep time): its denial row first, as revoke-access
 *  records its kept parts; a refusal that cannot be recorded stops here (503, nothing more done). */
export async function keepRefused(app: FastifyInstance, request: Caller, guest: GuestRef, part: BundlePart, decision: PolicyDecision,
  write: Omit<AccessWrite, 'decision'> & { operationId: string }): Promise<PartOutcome> {
  const target = partTarget(part)
  // A dry run records the refusal in its own row (plugins/dry-run.ts).
  if (!request.dryRun) {
    const action = part.kind === 'group' ? 'groupMembership.removeMember' : 'appRoleAssignment.unassign'
    await app.audit.append(denialEntry(identityOf(request), decision, action, { type: 'guest', id: guest.id, displayName: guest.label },
      { ...write.summary, part: target }, write.operationId)).catch((error: unknown) => { throw databaseUnavailable(error) })
  }
  return { kind: part.kind, target, status: 'kept', rule: decision.rule, reason: decision.reason }
}

/** The question an app role part of a removal asks, as its single route asks it. */
export const appRolePartTarget = (part: Extract<BundlePart, { kind: 'appRole' }>, sp?: ServicePrincipal, role?: AppRole) =>
  ({ ...appRoleTarget(part.appId, role, sp), ...(role ? {} : { appRoleValue: part.appRole }) })

/** A sweep that runs again after a crash reads first, so it sends no second removal. */
export const isMember = (app: FastifyInstance, request: Caller, groupId: string, userId: string): Promise<boolean> =>
  app.graphOps.read(identityOf(request), (graph, ctx) => graph.isGroupMember(groupId, userId, ctx))
