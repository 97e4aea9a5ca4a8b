// Inviting a guest, with the groups and app roles of onboarding: one operation for the single
// route, bulk rows and anything else that invites for a caller. Every part is asked its single
// route's policy question before anything is sent; then the invitation (one per address at a
// time, inside the limits), the check that Graph answered with a guest, and the parts in order:
// sponsors, groups, app roles.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { conflict, unprocessable } from '../errors.js'
import type { AppRole, DirectoryGroup, ServicePrincipal } from '../graph/graph-gateway.js'
import type { PolicyDecision } from '../policies/types.js'
import { identityOf } from '../routes/request-identity.js'
import { invitableEmail } from '../schemas/email-address.js'
import type { Caller } from './caller.js'
import { authorizeBundle, findBundle, grantBundle, type BundlePlan } from './access-bundles.js'
import { bundleExpiry, checkExpiry, defaultExpiry, recordExpiry } from './expiry.js'
import { addSponsor, addToGroup, assignAppRole, outcomeOf, requireGuest, runPart, type PartOutcome, type SponsorRef } from './guest-access.js'
import { invitationKey, reserveInvitation } from './limits.js'
import { appRoleTarget, checkAppRole, checkGroupMembership, enforcing, groupMembershipTarget, invitationQuestion } from './policy-targets.js'
import { defaultSponsor, resolveSponsors } from './sponsors.js'

export interface InviteGuestInput {
  email: string
  displayName?: string
  redirectUrl?: string
  message?: string
  sendEmail?: boolean
  groups?: string[]
  appRoles?: Array<{ appId: string; appRole: string }>
  /** Users or groups who sponsor the guest (at most 5); absent: the requester when it is a user; []: none. */
  sponsors?: string[]
  /** Access bundles to grant after the groups and app roles, each with its own expiry. */
  bundles?: Array<{ bundle: string; expiresAt?: string }>
  /** When the guest's access ends (all of it). */
  expiresAt?: string
}

export interface InviteGuestOptions {
  /** Where a field of the input is named in errors: body (the single route), or a bulk row. */
  fieldPrefix?: string
  /** How long to wait for the Graph write budget (a bulk row waits; a request does not). */
  budgetWaitMs?: number
}

/**
 * guestgate invites as an application (client credentials), and Entra leaves a custom message out
 * of invitation e-mails an application sends, although Graph's answer echoes it
 * (https://learn.microsoft.com/en-us/entra/external-id/troubleshoot; microsoft-graph-docs#1095).
 * Accepting one would promise what the guest never reads: refuse it, and say what works instead.
 */
export function refuseCustomMessage(message: string | undefined, field: string): void {
  if (message === undefined || message === '') return
  const why = 'Entra leaves a custom message out of invitation e-mails that an application (such as guestgate) sends'
  throw unprocessable('message_not_delivered',
    `${why}, although Microsoft Graph accepts it. To send your own text, invite with sendEmail false and e-mail the inviteRedeemUrl of the answer yourself.`,
    { errors: [{ field, message: `is not delivered: ${why}` }] })
}

export interface InvitationResult {
  id: string
  email: string
  displayName: string | null
  userType: string
  invitationState: string
  inviteRedeemUrl: string | null
  operationId: string
  outcome: 'complete' | 'partial'
  parts: PartOutcome[]
}

interface GroupPart { group: DirectoryGroup; decision: PolicyDecision }
interface AppRolePart { app: ServicePrincipal; role: AppRole; decision: PolicyDecision }
interface SponsorsPart { sponsors: SponsorRef[]; decision: PolicyDecision }

/** Every part is allowed, or 403 before anything is sent to Graph. Questions that need no
 *  Graph lookup are asked first for all parts, so a part the role may never have costs no call. */
async function authorizeAll(app: FastifyInstance, request: Caller, body: InviteGuestInput, email: string, redirectUrl: string, summary: Record<string, unknown>, field: string) {
  const auditTarget = { type: 'guest', displayName: email }
  const ask = enforcing(request, { auditTarget, summary })
  const question = await invitationQuestion(app, request, email, redirectUrl)
  const invitation = await ask('invite', question.target, question.context)
  // Naming the requester (or no one) is part of inviting; naming others is changing sponsors.
  const oid = request.authenticatedPrincipal().oid.toLowerCase()
  const namesOthers = (body.sponsors ?? []).some((id) => id.toLowerCase() !== oid)
  const sponsorDecision = namesOthers ? await ask('manageSponsors', { type: 'Guest' }) : invitation
  for (const groupId of body.groups ?? []) await ask('addMember', groupMembershipTarget(groupId))
  for (const { appId } of body.appRoles ?? []) await ask('assign', appRoleTarget(appId))
  // A role with an expiry cap gives every guest it invites an expiry: without expiresAt, the cap
  // (as a new group membership or app role gets it); never none, which would skip the cap.
  const expiresAt = checkExpiry(app, request, { kind: 'guest' }, body.expiresAt, `${field}/expiresAt`) ?? defaultExpiry(app, request, { kind: 'guest' })
  const bundleAsks = (body.bundles ?? []).map(({ bundle: name, expiresAt: until }, i) => {
    const bundle = findBundle(app, name, `${field}/bundles/${i}/bundle`)
    return { bundle, expiresAt: bundleExpiry(app, request, bundle, until, `${field}/bundles/${i}/expiresAt`), field: `${field}/bundles/${i}/bundle` }
  })
  // The bundles' own questions before any Graph lookup, like the parts above.
  for (const { bundle } of bundleAsks) await ask('grantBundle', { type: 'AccessBundle', bundle: bundle.name })

  const sponsorList = body.sponsors === undefined ? [await defaultSponsor(app, request)].filter((s) => s !== null)
    : await resolveSponsors(app, request, body.sponsors, (i) => `${field}/sponsors/${i}`)
  const sponsors: SponsorsPart = { sponsors: sponsorList, decision: sponsorDecision }

  const groups: GroupPart[] = []
  for (const groupId of body.groups ?? []) {
    const { decision, group } = await checkGroupMembership(app, request, ask, 'addMember', groupId)
    groups.push({ decision, group: group! })
  }
  const appRoles: AppRolePart[] = []
  for (const [i, { appId, appRole }] of (body.appRoles ?? []).entries()) {
    const checked = await checkAppRole(app, request, ask, 'assign', appId, { appRole }, `${field}/appRoles/${i}/appRole`)
    appRoles.push({ decision: checked.decision, app: checked.app!, role: checked.role! })
  }
  const bundles: { plan: BundlePlan; expiresAt: Date }[] = []
  for (const asked of bundleAsks) {
    const { plan } = await authorizeBundle(app, request, ask, asked.bundle, 'grant', asked.field)
    bundles.push({ plan: plan!, expiresAt: asked.expiresAt })
  }
  return { invitation, sponsors, groups, appRoles, bundles, expiresAt }
}

export async function inviteGuest(app: FastifyInstance, request: Caller, body: InviteGuestInput, options: InviteGuestOptions = {}): Promise<InvitationResult> {
  const field = options.fieldPrefix ?? 'body'
  const email = invitableEmail(body.email, `${field}/email`)
  refuseCustomMessage(body.message, `${field}/message`)
  const redirectUrl = body.redirectUrl ?? app.config.defaultRedirectUrl
  const sendEmail = body.sendEmail ?? true
  const summary = {
    email, displayName: body.displayName ?? null, redirectUrl, sendEmail,
    groups: body.groups ?? [], appRoles: body.appRoles ?? [], ...(body.sponsors ? { sponsors: body.sponsors } : {}),
    ...(body.bundles ? { bundles: body.bundles } : {}), ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}),
  }
  const allowed = await authorizeAll(app, request, body, email, redirectUrl, summary, field)
  const identity = identityOf(request)
  const operationId = randomUUID()
  const principal = request.authenticatedPrincipal()
  const invited = await app.graphOps.write(identity, {
    write: 'invitation.invite',
    params: { email, redirectUrl, sendEmail, ...(body.displayName ? { displayName: body.displayName } : {}) },
    target: { type: 'guest', displayName: email }, decision: allowed.invitation, operationId, budgetWaitMs: options.budgetWaitMs,
    summary: { groups: summary.groups, appRoles: summary.appRoles, sponsors: allowed.sponsors.sponsors.map((s) => s.id) },
    targetAfter: (invitation) => ({ type: 'guest', id: invitation.invitedUserId, displayName: email }),
    // One invitation per address at a time, anywhere: a second request waits, then finds the user.
    exclusive: {
      key: invitationKey(principal, email),
      precheck: async (graph, ctx) => {
        const user = (await graph.findUsersByEmail(email, ctx)).value[0]
        if (user) {
          throw conflict('user_exists', `A ${user.userType === 'Guest' ? 'guest' : 'user'} with ${email} already exists (${user.id}); no second invitation was sent. To send the invitation again use POST /v1/guests/${user.id}/resend-invitation.`,
            { existingUserId: user.id })
        }
      },
      reserve: reserveInvitation(app, request, { type: 'Invitation', email, redirectUrl }),
    },
  })
  const invitation = invited.value
  const guest = { id: invitation.invitedUserId, label: email }
  const write = { operationId, newlyInvited: true, budgetWaitMs: options.budgetWaitMs }

  const parts: PartOutcome[] = [{ kind: 'invitation', target: email, status: 'succeeded', operationId }]
  if (allowed.sponsors.sponsors.length + allowed.groups.length + allowed.appRoles.length + allowed.bundles.length > 0) {
    // Graph re-invites whoever holds the address by then: grant nothing to a member account.
    await requireGuest(app, request, guest, operationId, allowed.invitation)
  }
  // Sponsors as follow-up $ref writes, one audited part each: a sponsor Graph refuses is reported
  // and the invitation stands (invitedUserSponsors has no documented request example in v1.0).
  for (const sponsor of allowed.sponsors.sponsors) {
    parts.push(await runPart('sponsor', sponsor.id, () => addSponsor(app, identity, guest, sponsor, { ...write, decision: allowed.sponsors.decision })))
  }
  for (const { group, decision } of allowed.groups) {
    parts.push(await runPart('group', group.id, () => addToGroup(app, identity, guest, group, { ...write, decision })))
  }
  for (const { app: sp, role, decision } of allowed.appRoles) {
    parts.push(await runPart('appRole', `${sp.id}/${role.value}`, () => assignAppRole(app, identity, guest, sp, role, { ...write, decision })))
  }
  for (const { plan, expiresAt } of allowed.bundles) {
    parts.push(...(await grantBundle(app, request, guest, plan, expiresAt, write)).parts)
  }
  if (allowed.expiresAt) await recordExpiry(app, request, { guestId: guest.id, kind: 'guest', subject: guest.id, label: email, expiresAt: allowed.expiresAt })
  return {
    id: invitation.invitedUserId,
    email: invitation.email,
    displayName: invitation.displayName,
    userType: invitation.userType,
    invitationState: invitation.status,
    inviteRedeemUrl: invitation.inviteRedeemUrl,
    operationId,
    outcome: outcomeOf(parts),
    parts,
  }
}
