// Resend, revoke access, delete: one operation each, taking a Caller. The single routes and a
// clean-up run from a hygiene report both call these, so policy, limits and audit are the same.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { DirectoryUser } from '../graph/graph-gateway.js'
import type { PolicyDecision } from '../policies/types.js'
import type { INVITATION_STATUSES } from '../schemas/guest.js'
import { conflict } from '../errors.js'
import { identityOf } from '../routes/request-identity.js'
import type { Caller } from './caller.js'
import { endAccessRecords } from './expiry.js'
import { executeRevocation, outcomeOf, planRevocation, type OffboardingOptions, type PartOutcome } from './guest-access.js'
import { refuseCustomMessage } from './invite-guest.js'
import { invitationKey, reserveInvitation } from './limits.js'
import { checkGuestAction, enforcing, invitationQuestion, type InvitationTarget, type PolicyAsk, type PolicyQuestion } from './policy-targets.js'

const guestAuditTarget = (id: string, user: DirectoryUser) => ({ type: 'guest', id, displayName: user.mail ?? user.displayName })

export interface ResendInput {
  redirectUrl?: string
  message?: string
}

export interface ResendResult {
  id: string
  email: string
  invitationState: (typeof INVITATION_STATUSES)[number]
  inviteRedeemUrl: string | null
  operationId: string
}

/**
 * May this caller resend this guest's invitation? The one question of the route and the what-if:
 * the guest must exist and be a guest (404), the caller needs the resend grant, the guest must
 * be able to take an invitation (409: already accepted, no address), and the invitation itself is
 * asked as a new one to the guest's address would be: domain, redirect URL and hourly limits.
 * `askFor` gets the guest, so an enforcing ask names it in a denial's audit row. The decision is
 * the first refusal, or the resend grant (the rule the write's rows carry) when all allow it.
 */
export async function checkResend(app: FastifyInstance, caller: Caller, askFor: (user: DirectoryUser) => PolicyAsk, id: string, redirectUrl: string,
): Promise<{ decision: PolicyDecision; guest: DirectoryUser; invitation?: PolicyQuestion & { target: InvitationTarget } }> {
  const { decision, user: guest } = await checkGuestAction(app, caller, askFor, 'resend', id)
  if (!decision.allowed) return { decision, guest }
  if (guest.externalUserState === 'Accepted') {
    throw conflict('invitation_already_accepted', `${guest.mail ?? id} already accepted the invitation; there is nothing to resend.`)
  }
  if (!guest.mail) throw conflict('guest_without_email', `Guest ${id} has no email address to invite again.`)
  // Redirect URLs, domains and limits are policy: the resend goes through the same check as a new invitation.
  const invitation = await invitationQuestion(app, caller, guest.mail, redirectUrl)
  const invited = await askFor(guest)('invite', invitation.target, invitation.context)
  return { decision: invited.allowed ? decision : invited, guest, invitation }
}

/** Invite the guest again (POST /invitations with its address): the same domain, redirect and limit questions as a new invitation. */
export async function resendGuestInvitation(app: FastifyInstance, caller: Caller, id: string, input: ResendInput = {}): Promise<ResendResult> {
  const redirectUrl = input.redirectUrl ?? app.config.defaultRedirectUrl
  const summary = { guestId: id, redirectUrl }
  refuseCustomMessage(input.message, 'body/message')
  // Enforcing: a refusal is a 403/429 with its audit row, so what comes back is allowed.
  const { decision, guest, invitation } = await checkResend(app, caller, (u) => enforcing(caller, { auditTarget: guestAuditTarget(id, u), summary }), id, redirectUrl)
  const target = guestAuditTarget(id, guest)
  const principal = caller.authenticatedPrincipal()
  const { email } = invitation!.target

  const outcome = await app.graphOps.write(identityOf(caller), {
    write: 'guest.resend',
    params: { guestId: id, email, redirectUrl, ...(guest.displayName ? { displayName: guest.displayName } : {}) },
    target, decision,
    // Resends count against the invitation limits and run one at a time per address.
    exclusive: { key: invitationKey(principal, email), reserve: reserveInvitation(app, caller, invitation!.target) },
  })
  return {
    id,
    email: outcome.value.email,
    invitationState: outcome.value.status,
    inviteRedeemUrl: outcome.value.inviteRedeemUrl,
    operationId: outcome.operationId,
  }
}

export interface RevocationResult {
  guestId: string
  operationId: string
  outcome: 'complete' | 'partial'
  parts: PartOutcome[]
}

/**
 * Every group membership and app role of the guest, part by part under one operation id, after
 * the offboarding options (block sign-in, revoke sessions), each its own policy question.
 */
export async function revokeGuestAccess(app: FastifyInstance, caller: Caller, id: string, options: OffboardingOptions = {}): Promise<RevocationResult> {
  const { user: guest } = await checkGuestAction(app, caller, (u) => enforcing(caller, { auditTarget: guestAuditTarget(id, u) }), 'revokeAccess', id)
  const ref = { id, label: guest.mail ?? guest.displayName, accountEnabled: guest.accountEnabled }
  const plan = await planRevocation(app, caller, id, options)
  const operationId = randomUUID()
  const parts = await executeRevocation(app, caller, ref, plan, operationId)
  // Nothing is left to expire: the expiries of what was taken away end with it.
  if (!caller.dryRun) await endAccessRecords(app, id, { kinds: ['group', 'appRole', 'bundle'], grantState: 'revoked' })
  return { guestId: id, operationId, outcome: outcomeOf(parts), parts }
}

/** Delete the guest account. An unknown id is 404, a member 409 not_a_guest, then the policy. */
export async function deleteGuestAccount(app: FastifyInstance, caller: Caller, id: string): Promise<{ operationId: string }> {
  const { decision, user } = await checkGuestAction(app, caller, (u) => enforcing(caller, { auditTarget: guestAuditTarget(id, u) }), 'delete', id)
  const outcome = await app.graphOps.write(identityOf(caller), { write: 'guest.delete', params: { guestId: id }, target: guestAuditTarget(id, user), decision })
  return { operationId: outcome.operationId }
}
