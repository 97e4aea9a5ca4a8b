// Every Graph write guestgate makes, as data: its audit action, how it is sent, and how to read
// Graph to learn whether it happened. The audited runner (audited-graph.ts) sends a write only
// through this table, and settles an ambiguous failure (timeout, dropped connection, 5xx) or a
// crash with `verify`, never by sending the write again. The parameters are kept in the audit
// intent row, so the reconciler can settle a write whose process died.
import type { BudgetKind } from './graph-budget.js'
import {
  GraphRequestError,
  type ExternalUserState,
  type GraphInvitationStatus,
  type AppRoleAssignment,
  type Change,
  type GraphCallContext,
  type GraphGateway,
  type GraphReader,
  type GraphResult,
} from '../graph/graph-gateway.js'

/** What reading Graph showed about a write. */
export type Effect<T> =
  | { effect: 'present'; value: T }
  | { effect: 'absent' }
  /** Graph keeps nothing that shows it (an invitation e-mail). */
  | { effect: 'unknown'; reason: string }

/** An invitation as the API reports it; the redeem URL is unknown when it was settled by reading. */
export interface InvitationOutcome {
  invitedUserId: string
  inviteRedeemUrl: string | null
  email: string
  displayName: string | null
  userType: string
  /** Graph's invitation status, or the user's externalUserState when confirmed by reading. */
  status: GraphInvitationStatus | ExternalUserState
}

export interface InviteParams {
  email: string
  redirectUrl: string
  displayName?: string
  sendEmail: boolean
}

export interface ResendParams {
  guestId: string
  email: string
  redirectUrl: string
  displayName?: string
}

export interface ResetParams {
  guestId: string
  email: string
  redirectUrl: string
  sendEmail: boolean
  /** The guest's state before: a reset of an accepted guest shows as PendingAcceptance afterwards. */
  stateBefore: string | null
}

export interface GuestParams {
  guestId: string
}

export interface MembershipParams {
  groupId: string
  userId: string
}

export interface AssignParams {
  appId: string
  principalId: string
  appRoleId: string
}

export interface UnassignParams {
  appId: string
  assignmentId: string
  principalId: string
}

export interface SponsorParams {
  guestId: string
  sponsorId: string
  /** Graph references a sponsor by its collection: /users/{id} or /groups/{id}. */
  sponsorType: 'user' | 'group'
}

export interface RevokeSessionsParams {
  guestId: string
  /** When guestgate asked (before sending): a signInSessionsValidFromDateTime from then on shows the revocation. */
  requestedAt: string
}

export interface WriteKind<P, T> {
  /** The audit action of its rows. */
  action: string
  /** The Graph budgets it draws on (graph-budget.ts): every write; invitations also their own. */
  budget: BudgetKind[]
  send(graph: GraphGateway, params: P, ctx: GraphCallContext): Promise<GraphResult<T>>
  /** Reads only. Throws when Graph cannot be read now (the reconciler tries again later). */
  verify(graph: GraphReader, params: P, ctx: GraphCallContext): Promise<Effect<T>>
}

const changed = <T = undefined>(value: T): Change<T> => ({ changed: true, value })

const isNotFound = (error: unknown) => error instanceof GraphRequestError && error.status === 404

const outcomeOf = (invitation: { invitedUserId: string; inviteRedeemUrl: string; invitedUserEmailAddress: string; invitedUserDisplayName: string | null; invitedUserType: string | null; status: GraphInvitationStatus }): InvitationOutcome => ({
  invitedUserId: invitation.invitedUserId,
  inviteRedeemUrl: invitation.inviteRedeemUrl,
  email: invitation.invitedUserEmailAddress,
  displayName: invitation.invitedUserDisplayName,
  userType: invitation.invitedUserType ?? 'Guest',
  status: invitation.status,
})

const invite: WriteKind<InviteParams, InvitationOutcome> = {
  action: 'invitation.invite',
  budget: ['invitations', 'writes'],
  async send(graph, p, ctx) {
    const result = await graph.invite({
      invitedUserEmailAddress: p.email,
      inviteRedirectUrl: p.redirectUrl,
      invitedUserDisplayName: p.displayName,
      sendInvitationMessage: p.sendEmail,
    }, ctx)
    return { ...result, value: outcomeOf(result.value) }
  },
  // The address had no user before (checked under the address's lock): a user now is ours.
  async verify(graph, p, ctx) {
    const { value: users } = await graph.findUsersByEmail(p.email, ctx)
    const user = users[0]
    if (!user) return { effect: 'absent' }
    return {
      effect: 'present',
      value: {
        invitedUserId: user.id, inviteRedeemUrl: null, email: p.email, displayName: user.displayName,
        userType: user.userType, status: user.externalUserState === 'Accepted' ? 'Accepted' : 'PendingAcceptance',
      },
    }
  },
}

const resend: WriteKind<ResendParams, InvitationOutcome> = {
  action: 'guest.resend',
  budget: ['invitations', 'writes'],
  async send(graph, p, ctx) {
    const result = await graph.invite({
      invitedUserEmailAddress: p.email,
      inviteRedirectUrl: p.redirectUrl,
      invitedUserDisplayName: p.displayName,
      sendInvitationMessage: true,
    }, ctx)
    return { ...result, value: outcomeOf(result.value) }
  },
  async verify() {
    return { effect: 'unknown', reason: 'Graph keeps no record of a sent invitation e-mail that could be read back' }
  },
}

const resetRedemption: WriteKind<ResetParams, InvitationOutcome> = {
  action: 'guest.resetRedemption',
  budget: ['invitations', 'writes'],
  async send(graph, p, ctx) {
    const result = await graph.resetRedemption({
      invitedUserId: p.guestId, invitedUserEmailAddress: p.email, inviteRedirectUrl: p.redirectUrl, sendInvitationMessage: p.sendEmail,
    }, ctx)
    return { ...result, value: outcomeOf(result.value) }
  },
  // Only an accepted guest shows the reset: it is pending again.
  async verify(graph, p, ctx) {
    if (p.stateBefore !== 'Accepted') return { effect: 'unknown', reason: 'the guest had not redeemed before, so a reset changes nothing that can be read' }
    const { value: user } = await graph.getUser(p.guestId, ctx)
    if (user.externalUserState !== 'PendingAcceptance') return { effect: 'absent' }
    return {
      effect: 'present',
      value: { invitedUserId: user.id, inviteRedeemUrl: null, email: p.email, displayName: user.displayName, userType: user.userType, status: 'PendingAcceptance' },
    }
  },
}

const deleteGuest: WriteKind<GuestParams, Change> = {
  action: 'guest.delete',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.deleteUser(p.guestId, ctx),
  async verify(graph, p, ctx) {
    try {
      await graph.getUser(p.guestId, ctx)
      return { effect: 'absent' }
    } catch (error) {
      if (isNotFound(error)) return { effect: 'present', value: changed(undefined) }
      throw error
    }
  },
}

const addMember: WriteKind<MembershipParams, Change> = {
  action: 'groupMembership.addMember',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.addGroupMember(p.groupId, p.userId, ctx),
  async verify(graph, p, ctx) {
    const { value: member } = await graph.isGroupMember(p.groupId, p.userId, ctx)
    return member ? { effect: 'present', value: changed(undefined) } : { effect: 'absent' }
  },
}

const removeMember: WriteKind<MembershipParams, Change> = {
  action: 'groupMembership.removeMember',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.removeGroupMember(p.groupId, p.userId, ctx),
  async verify(graph, p, ctx) {
    const { value: member } = await graph.isGroupMember(p.groupId, p.userId, ctx)
    return member ? { effect: 'absent' } : { effect: 'present', value: changed(undefined) }
  },
}

const assign: WriteKind<AssignParams, Change<AppRoleAssignment>> = {
  action: 'appRoleAssignment.assign',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.assignAppRole(p.appId, { principalId: p.principalId, appRoleId: p.appRoleId }, ctx),
  async verify(graph, p, ctx) {
    const { value: assignments } = await graph.listUserAppRoleAssignmentsOn(p.principalId, p.appId, ctx)
    const assignment = assignments.find((a) => a.appRoleId.toLowerCase() === p.appRoleId.toLowerCase())
    return assignment ? { effect: 'present', value: changed(assignment) } : { effect: 'absent' }
  },
}

const unassign: WriteKind<UnassignParams, Change> = {
  action: 'appRoleAssignment.unassign',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.removeAppRoleAssignment(p.appId, p.assignmentId, ctx),
  async verify(graph, p, ctx) {
    const { value: assignment } = await graph.getAppRoleAssignment(p.appId, p.assignmentId, ctx)
    return assignment ? { effect: 'absent' } : { effect: 'present', value: changed(undefined) }
  },
}

const addSponsor: WriteKind<SponsorParams, Change> = {
  action: 'guest.addSponsor',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.addSponsor(p.guestId, { id: p.sponsorId, type: p.sponsorType }, ctx),
  async verify(graph, p, ctx) {
    const { value: sponsors } = await graph.listSponsors(p.guestId, ctx)
    return sponsors.some((s) => s.id.toLowerCase() === p.sponsorId.toLowerCase()) ? { effect: 'present', value: changed(undefined) } : { effect: 'absent' }
  },
}

const removeSponsor: WriteKind<SponsorParams, Change> = {
  action: 'guest.removeSponsor',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.removeSponsor(p.guestId, p.sponsorId, ctx),
  async verify(graph, p, ctx) {
    const { value: sponsors } = await graph.listSponsors(p.guestId, ctx)
    return sponsors.some((s) => s.id.toLowerCase() === p.sponsorId.toLowerCase()) ? { effect: 'absent' } : { effect: 'present', value: changed(undefined) }
  },
}

const blockSignIn: WriteKind<GuestParams, Change> = {
  action: 'guest.blockSignIn',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.setAccountEnabled(p.guestId, false, ctx),
  async verify(graph, p, ctx) {
    const { value: user } = await graph.getUser(p.guestId, ctx)
    return user.accountEnabled ? { effect: 'absent' } : { effect: 'present', value: changed(undefined) }
  },
}

/** Clocks of guestgate and Entra differ a little: a revocation this much before the request counts as it. */
const SESSION_CLOCK_SKEW_MS = 5 * 60_000

const revokeSessions: WriteKind<RevokeSessionsParams, Change> = {
  action: 'guest.revokeSessions',
  budget: ['writes'],
  send: (graph, p, ctx) => graph.revokeSignInSessions(p.guestId, ctx),
  // revokeSignInSessions moves signInSessionsValidFromDateTime to now.
  async verify(graph, p, ctx) {
    const { value: validFrom } = await graph.getSignInSessionsValidFrom(p.guestId, ctx)
    const revoked = validFrom !== null && Date.parse(validFrom) >= Date.parse(p.requestedAt) - SESSION_CLOCK_SKEW_MS
    return revoked ? { effect: 'present', value: changed(undefined) } : { effect: 'absent' }
  },
}

/** The writes, by name; the name is also the audit action. */
export const GRAPH_WRITES = {
  'invitation.invite': invite,
  'guest.resend': resend,
  'guest.resetRedemption': resetRedemption,
  'guest.delete': deleteGuest,
  'groupMembership.addMember': addMember,
  'groupMembership.removeMember': removeMember,
  'appRoleAssignment.assign': assign,
  'appRoleAssignment.unassign': unassign,
  'guest.addSponsor': addSponsor,
  'guest.removeSponsor': removeSponsor,
  'guest.blockSignIn': blockSignIn,
  'guest.revokeSessions': revokeSessions,
} as const

export type GraphWrites = typeof GRAPH_WRITES
export type WriteName = keyof GraphWrites
export type ParamsOf<K extends WriteName> = GraphWrites[K] extends WriteKind<infer P, unknown> ? P : never
export type ResultOf<K extends WriteName> = GraphWrites[K] extends WriteKind<never, infer T> ? T : never

export function writeKind(name: string): WriteKind<unknown, unknown> | undefined {
  return Object.hasOwn(GRAPH_WRITES, name) ? GRAPH_WRITES[name as WriteName] : undefined
}
