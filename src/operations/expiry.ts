// Expiries: a guest, a bundle grant, a group membership or an app role assignment may carry one.
// The policy caps it (a role's expiry.maxDays, a bundle's maxDays); the expiry sweep takes the
// access away when it has passed, as the expiry scheduler's own principal, through the same
// removal operations as the routes, and marks each item done in the transaction that records
// its outcome.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { AuditActor, AuditTarget } from '../audit/types.js'
import { expiryPrincipal } from '../auth/principal.js'
import { ProblemError, unprocessable } from '../errors.js'
import { GraphRequestError } from '../graph/graph-gateway.js'
import type { Prisma } from '../generated/prisma/client.js'
import type { BundlePolicy } from '../policies/policy-file.js'
import type { ExpiryCapQuestion, PolicyDecision } from '../policies/types.js'
import type { Caller } from './caller.js'
import { appRolePartTarget, authorizeHeldBundle, isMember, keepRefused, removeAppRolePart, removeBundleParts, type BundlePart } from './access-bundles.js'
import { executeRevocation, planRevocation, removeFromGroup, runPart, type PartOutcome } from './guest-access.js'
import { checkAppRole, checkGroupMembership, checkGuestAction, enforcing, groupMembershipTarget, loadGroup, type PolicyAsk } from './policy-targets.js'
import { identityOf } from '../routes/request-identity.js'

export const DAY_MS = 24 * 60 * 60 * 1000

export type ExpiryItemKind = 'guest' | 'bundle' | 'group' | 'appRole'

/**
 * The one check of a requested expiry, for every route that takes one: it must be ahead of now
 * and within the cap the policy gives this caller for this kind of grant (422 naming the field
 * and the cap). `undefined` when none was asked.
 */
export function checkExpiry(app: FastifyInstance, request: Caller, question: ExpiryCapQuestion, expiresAt: string | undefined, field: string): Date | undefined {
  if (expiresAt === undefined) return undefined
  const at = new Date(expiresAt)
  const now = app.expiry.now()
  if (Number.isNaN(at.getTime())) {
    throw unprocessable('expiry_invalid', `${field} "${expiresAt}" is not a date-time.`, { errors: [{ field, message: 'must be an RFC 3339 date-time' }] })
  }
  if (at.getTime() <= now.getTime()) {
    throw unprocessable('expiry_in_past', `${field} ${at.toISOString()} is not in the future (now is ${now.toISOString()}).`, { errors: [{ field, message: 'must be in the future' }] })
  }
  const cap = app.policies.current().expiryCap(request.authenticatedPrincipal(), question)
  if (cap.maxDays !== null && at.getTime() > now.getTime() + cap.maxDays * DAY_MS) {
    const latest = new Date(now.getTime() + cap.maxDays * DAY_MS).toISOString()
    throw unprocessable('expiry_over_cap',
      `${field} ${at.toISOString()} is beyond the policy's cap of ${cap.maxDays} days (${cap.source}): the latest allowed now is ${latest}.`,
      { errors: [{ field, message: `must be at most ${cap.maxDays} days from now (cap of ${cap.source})` }] })
  }
  return at
}

/** A bundle grant always expires: the requested date (checked) or the bundle's maximum. */
export function bundleExpiry(app: FastifyInstance, request: Caller, bundle: { name: string; maxDays: number }, expiresAt: string | undefined, field: string): Date {
  return checkExpiry(app, request, { kind: 'bundle', bundle: bundle.name }, expiresAt, field)
    ?? new Date(app.expiry.now().getTime() + bundle.maxDays * DAY_MS)
}

/**
 * Without expiresAt, new access a capped role grants expires at the role's cap (as a bundle's
 * grant expires at its maxDays): omitting the field is no way past the cap. None without a cap.
 */
export function defaultExpiry(app: FastifyInstance, request: Caller, question: ExpiryCapQuestion): Date | undefined {
  const cap = app.policies.current().expiryCap(request.authenticatedPrincipal(), question)
  return cap.maxDays === null ? undefined : new Date(app.expiry.now().getTime() + cap.maxDays * DAY_MS)
}

/** What an expiry covers, named as the route that takes it away names it. */
export type ExpiryAccess =
  | { kind: 'guest'; guestId: string }
  | { kind: 'group'; groupId: string }
  | { kind: 'appRole'; appId: string; appRoleId: string }
  | { kind: 'bundle'; bundle: BundlePolicy; parts: BundlePart[] }

/** The question of taking that access away now, asked through the function its removal route
 *  asks (revoke-access, remove member, unassign, revoke bundle). `field` names the access. */
export async function removalDecision(app: FastifyInstance, request: Caller, ask: PolicyAsk, access: ExpiryAccess, field: string): Promise<PolicyDecision> {
  switch (access.kind) {
    case 'guest': return (await checkGuestAction(app, request, () => ask, 'revokeAccess', access.guestId)).decision
    case 'group': return (await checkGroupMembership(app, request, ask, 'removeMember', access.groupId)).decision
    case 'appRole': return (await checkAppRole(app, request, ask, 'unassign', access.appId, { appRoleId: access.appRoleId }, field)).decision
    case 'bundle': return (await authorizeHeldBundle(app, request, ask, access.bundle, 'revoke', access.parts, field)).decision
  }
}

/**
 * An expiry sooner than the access would end otherwise (moved earlier, or set on access that had
 * none) schedules its removal: the sweep takes it away then. So it needs the right to remove it
 * now, whatever path sets it (renewal, a grant again with expiresAt, a bundle granted again): the
 * removal question, enforced (a refusal is audited, then a 403 with the removal's rule that
 * names the date's field). A later date is a renewal: the grant question, asked by the caller.
 */
export async function authorizeSoonerExpiry(app: FastifyInstance, request: Caller, input: {
  access: ExpiryAccess; at: Date; current: Date | null; field: string; accessField: string; auditTarget: AuditTarget; summary?: Record<string, unknown>
}): Promise<void> {
  const { at, current, field } = input
  if (current !== null && at.getTime() >= current.getTime()) return
  const ask = enforcing(request, { auditTarget: input.auditTarget, summary: { ...input.summary, expiresAt: at.toISOString(), currentExpiresAt: current?.toISOString() ?? null } })
  try {
    await removalDecision(app, request, ask, input.access, input.accessField)
  } catch (error) {
    if (!(error instanceof ProblemError) || error.code !== 'policy_denied') throw error
    const message = current ? `may not come before the current expiry (${current.toISOString()}) without the right to remove this access`
      : 'may not be set on this access, which has no expiry, without the right to remove it'
    throw new ProblemError(error.status, error.code, error.title, `${field} ${at.toISOString()} ${message}. ${error.detail}`,
      { ...error.extras, errors: [{ field, message }] }, error.headers)
  }
}

type Tx = Prisma.TransactionClient

export interface ExpiryInput {
  guestId: string
  kind: ExpiryItemKind
  subject: string
  label: string | null
  /** null: the access does not expire (granted without an expiry, or removed). */
  expiresAt: Date | null
  grantedBy: AuditActor
}

/** Sets (or clears) the one active expiry of a piece of access, in the caller's transaction. */
export async function replaceExpiry(tx: Tx, input: ExpiryInput): Promise<string | null> {
  const now = new Date()
  await tx.accessExpiry.updateMany({
    where: { guestId: input.guestId, kind: input.kind, subject: input.subject, state: 'active' },
    data: { state: 'cancelled', updatedAt: now, completedAt: now },
  })
  if (!input.expiresAt) return null
  const id = randomUUID()
  await tx.accessExpiry.create({
    data: { id, guestId: input.guestId, kind: input.kind, subject: input.subject, label: input.label, expiresAt: input.expiresAt, grantedBy: { ...input.grantedBy }, state: 'active' },
  })
  return id
}

/** After a single route granted or removed something: its expiry follows (nothing in a dry run). */
export async function recordExpiry(app: FastifyInstance, request: Caller, input: Omit<ExpiryInput, 'grantedBy'>): Promise<void> {
  if (request.dryRun) return
  const grantedBy = identityOf(request).principal
  await app.prisma.$transaction((tx) => replaceExpiry(tx, { ...input, grantedBy: { oid: grantedBy.oid, name: grantedBy.name, tenantId: grantedBy.tenantId, roles: grantedBy.roles } }))
}

/**
 * The expiry a single route's grant (add member, assign app role) leaves, once Graph said
 * whether the access is new (`changed`). New access: the date asked, else the caller's cap.
 * Access that was there: without a date its expiry stays, whoever set it (granting again
 * cancels no one's expiry); with one, a later date renews it and an earlier one (or one on
 * access without expiry) needs the removal right (authorizeSoonerExpiry).
 */
export async function settleGrantExpiry(app: FastifyInstance, request: Caller, input: Omit<ExpiryInput, 'grantedBy' | 'expiresAt'> & {
  asked: Date | undefined; changed: boolean; access: ExpiryAccess; field: string; accessField: string; auditTarget: AuditTarget
}): Promise<void> {
  const { asked, changed, access, field, accessField, auditTarget, ...item } = input
  const cap = { kind: item.kind === 'appRole' ? 'appRole' : 'group' } as const
  if (changed) return recordExpiry(app, request, { ...item, expiresAt: asked ?? defaultExpiry(app, request, cap) ?? null })
  if (!asked) return
  const existing = await app.prisma.accessExpiry.findFirst({ where: { guestId: item.guestId, kind: item.kind, subject: item.subject, state: 'active' } })
  await authorizeSoonerExpiry(app, request, { access, at: asked, current: existing?.expiresAt ?? null, field, accessField, auditTarget })
  await recordExpiry(app, request, { ...item, expiresAt: asked })
}

/** The guest's access records end (revoke-access took everything away, or the guest expired). */
export async function endAccessRecords(app: FastifyInstance | { prisma: Tx }, guestId: string, options: { kinds: ExpiryItemKind[]; grantState: 'revoked' | 'expired' }, tx?: Tx): Promise<void> {
  const db = tx ?? app.prisma
  const now = new Date()
  await db.accessExpiry.updateMany({ where: { guestId, state: 'active', kind: { in: options.kinds } }, data: { state: 'cancelled', updatedAt: now, completedAt: now } })
  await db.accessBundleGrant.updateMany({ where: { guestId, state: 'active' }, data: { state: options.grantState, endedAt: now } })
}

export type ExpiryItem = NonNullable<Awaited<ReturnType<FastifyInstance['prisma']['accessExpiry']['findFirst']>>>

export interface ItemResult {
  expiryId: string
  status: 'done' | 'failed'
  parts: PartOutcome[]
}

/** The allow decision of an expiry removal, saying which expiry and who set it. */
function expiryDecision(decision: PolicyDecision, item: ExpiryItem): PolicyDecision {
  if (!decision.allowed) return decision
  const by = item.grantedBy as unknown as AuditActor
  return { ...decision, reason: `${item.kind === 'guest' ? 'The guest' : `This ${item.kind === 'appRole' ? 'app role' : item.kind}`} expired at ${item.expiresAt.toISOString()} (expiry set by ${by.name}, ${by.oid}).` }
}

/**
 * Takes away what one expiry item covers, as the expiry scheduler (the audit actor), with the
 * original grantor in every row's summary. Idempotent: a second run after a crash finds the
 * access gone (unchanged) and sends no second removal that changes anything.
 */
export async function expireItem(app: FastifyInstance, item: ExpiryItem): Promise<ItemResult> {
  const caller = app.callerFor(expiryPrincipal(app.config.tenantId), { requestId: `expiry-${item.id}` })
  const grantedBy = item.grantedBy as unknown as AuditActor
  const operationId = randomUUID()
  const summary = { expiry: { id: item.id, kind: item.kind, subject: item.subject, expiresAt: item.expiresAt.toISOString(), onBehalfOf: grantedBy } }
  const write = { operationId, summary, budgetWaitMs: 60_000 }
  const guest = { id: item.guestId, label: item.label }
  const decide = (part: BundlePart, loaded: Parameters<Parameters<typeof removeBundleParts>[4]>[1]): PolicyDecision => expiryDecision(part.kind === 'group'
    ? caller.evaluate('removeMember', { ...groupMembershipTarget(part.groupId, loaded.group), via: 'expiry' })
    : caller.evaluate('unassign', { ...appRolePartTarget(part, loaded.app, loaded.role), via: 'expiry' }), item)

  let parts: PartOutcome[] = []
  switch (item.kind) {
    case 'group': {
      const group = await loadGroup(app, caller, item.subject).catch(notFoundAs(undefined))
      // Read first: a sweep that runs again after a crash sends no second removal.
      if (!group || !await isMember(app, caller, group.id, item.guestId)) { parts = [{ kind: 'group', target: item.subject, status: 'unchanged' }]; break }
      const part: BundlePart = { kind: 'group', groupId: group.id, label: group.displayName }
      const decision = decide(part, { group })
      // A hard refusal keeps it, with its denial row (as every kept part).
      parts = decision.allowed
        ? [await runPart('group', group.id, () => removeFromGroup(app, identityOf(caller), guest, group, { ...write, decision }))]
        : [await keepRefused(app, caller, guest, part, decision, write)]
      break
    }
    case 'appRole': {
      const [appId, appRoleId] = item.subject.split('/') as [string, string]
      parts = [await removeAppRolePart(app, caller, guest, { kind: 'appRole', appId, appRoleId, appRole: item.label ?? appRoleId }, decide, write)]
      break
    }
    case 'bundle': {
      const grant = await app.prisma.accessBundleGrant.findUnique({ where: { id: item.subject } })
      if (!grant || grant.state !== 'active') break
      parts = await removeBundleParts(app, caller, guest, { id: grant.id, bundle: grant.bundle, parts: grant.parts as BundlePart[] }, decide, write, { readFirst: true })
      break
    }
    case 'guest': {
      const plan = await planRevocation(app, caller, item.guestId, {}, 'expiry').catch(notFoundAs(null))
      if (plan) parts = await executeRevocation(app, caller, guest, plan, operationId, write, (part) => expiryDecision(part.decision, item))
      break
    }
  }

  const now = new Date()
  if (parts.some((p) => p.status === 'failed')) {
    const error = parts.find((p) => p.status === 'failed')!.error
    await app.prisma.accessExpiry.update({ where: { id: item.id }, data: { attempts: { increment: 1 }, lastError: error ? `${error.status} ${error.code}: ${error.detail}` : 'failed', updatedAt: now } })
    return { expiryId: item.id, status: 'failed', parts }
  }
  // Done in one transaction with what it records: a crash before it leaves the item for the
  // next sweep, which finds the access already gone.
  await app.prisma.$transaction(async (tx) => {
    await tx.accessExpiry.update({ where: { id: item.id }, data: { state: 'done', outcome: parts as unknown as Prisma.InputJsonValue, completedAt: now, updatedAt: now } })
    if (item.kind === 'bundle') await tx.accessBundleGrant.updateMany({ where: { id: item.subject, state: 'active' }, data: { state: 'expired', endedAt: now } })
    if (item.kind === 'guest') await endAccessRecords({ prisma: tx }, item.guestId, { kinds: ['group', 'appRole', 'bundle'], grantState: 'expired' }, tx)
  })
  return { expiryId: item.id, status: 'done', parts }
}

/** A target that no longer exists has nothing left to take away. */
const notFoundAs = <T>(value: T) => (error: unknown): T => {
  if ((error instanceof GraphRequestError && error.status === 404) || (error as { status?: number }).status === 404) return value
  throw error
}
