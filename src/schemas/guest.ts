import { Type, type Static } from '@sinclair/typebox'
import type { DirectoryUser, ExternalUserState } from '../graph/graph-gateway.js'
import { PROBLEM_CODES } from '../errors.js'
import { NullableStringEnum, StringEnum } from './enum.js'

/** Graph's externalUserState: https://learn.microsoft.com/en-us/graph/api/resources/user (null for users not invited). */
export const EXTERNAL_USER_STATES = ['PendingAcceptance', 'Accepted'] as const satisfies readonly ExternalUserState[]
const stateDescription = 'Whether the guest has redeemed the invitation (Graph: externalUserState)'
export const InvitationState = StringEnum(EXTERNAL_USER_STATES, { description: stateDescription })

/** What an invitation call answers: Graph's invitation status
 *  (https://learn.microsoft.com/en-us/graph/api/resources/invitation), or the user's
 *  externalUserState when a lost answer was confirmed by reading the directory. */
export const INVITATION_STATUSES = ['PendingAcceptance', 'Accepted', 'Completed', 'InProgress', 'Error'] as const
export const InvitationStatus = StringEnum(INVITATION_STATUSES, {
  description: 'Graph\'s invitation status (PendingAcceptance, Completed, InProgress, Error); Accepted when the invitation was confirmed by reading the guest',
})

export const OUTCOMES = ['complete', 'partial'] as const
export const PART_KINDS = ['invitation', 'sponsor', 'group', 'appRole', 'blockSignIn', 'revokeSessions'] as const
export const PART_STATUSES = ['succeeded', 'unchanged', 'kept', 'failed'] as const

const isExternalUserState = (value: string | null): value is ExternalUserState =>
  (EXTERNAL_USER_STATES as readonly (string | null)[]).includes(value)

/** A guest as the API shows it: only these fields leave the service, whatever Graph returns. */
export const GuestSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Entra object id of the guest user' }),
  email: Type.Union([Type.String(), Type.Null()]),
  displayName: Type.Union([Type.String(), Type.Null()]),
  userPrincipalName: Type.Union([Type.String(), Type.Null()]),
  userType: Type.String({ description: 'Guest for B2B guests' }),
  invitationState: NullableStringEnum(EXTERNAL_USER_STATES, { description: `${stateDescription}; null for users who were not invited` }),
  invitationStateChangedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  invitedBy: Type.Union([Type.Object({
    id: Type.String({ description: 'Object id of the requester (user or application) who invited the guest through guestgate' }),
    displayName: Type.String(),
  }, { additionalProperties: false }), Type.Null()], { description: 'From the audit log; null for guests invited outside guestgate' }),
  invitedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When guestgate\'s invitation was carried out (audit log); null for guests invited outside guestgate' }),
}, { $id: 'Guest', additionalProperties: false })
export type Guest = Static<typeof GuestSchema>
export const GuestRef = Type.Unsafe<Guest>(Type.Ref('Guest'))

export const InvitationResult = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Object id of the guest user' }),
  email: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  userType: Type.String(),
  invitationState: InvitationStatus,
  inviteRedeemUrl: Type.Union([Type.String(), Type.Null()], { description: 'Link the guest opens to accept; send it yourself when sendEmail is false. null when Microsoft Graph\'s answer was lost and the invitation was confirmed by reading the directory instead: resend the invitation for a new link.' }),
  operationId: Type.String({ format: 'uuid', description: 'Audit operation id of the whole request: GET /v1/audit/operations/{operationId}' }),
  outcome: StringEnum(OUTCOMES, {
    description: 'partial: the invitation stands but at least one sponsor, group or app role part failed; parts says which. Retry those with POST /v1/guests/{id}/sponsors, PUT /v1/groups/{groupId}/members/{userId} or POST /v1/apps/{appId}/assignments.' }),
  parts: Type.Array(Type.Ref('OperationPart'), { description: 'Each step in the order it ran: the invitation, then sponsors, then groups, then app roles' }),
}, { $id: 'InvitationResult', additionalProperties: false })

export const SponsorSchema = Type.Object({
  id: Type.String({ description: 'Object id of the sponsoring user or group' }),
  type: Type.String({ description: 'user or group (Graph\'s @odata.type)' }),
  displayName: Type.Union([Type.String(), Type.Null()], { description: 'null when guestgate may not read that kind of object (Graph\'s limited information)' }),
  mail: Type.Union([Type.String(), Type.Null()]),
}, { $id: 'Sponsor', additionalProperties: false })

export const OperationPartSchema = Type.Object({
  kind: StringEnum(PART_KINDS),
  target: Type.String({ description: 'email (invitation), sponsor id, group id, appId/appRole, or the guest id (blockSignIn, revokeSessions)' }),
  bundle: Type.Optional(Type.String({ description: 'The access bundle the part belongs to' })),
  status: StringEnum(PART_STATUSES, {
    description: 'kept: left in place and never touched, because a rule no policy file lifts (rule, reason) or Graph\'s own rules keep it (a dynamic group\'s membership follows its rule), or an offboarding option the requester\'s roles do not give' }),
  rule: Type.Optional(Type.String({ description: 'kept: the policy rule that keeps the part, e.g. groups.role-assignable, groups.dynamic, groups.mail-enabled, apps.protected-application, role.missing' })),
  reason: Type.Optional(Type.String({ description: 'kept: why, in a sentence' })),
  operationId: Type.Optional(Type.String({ format: 'uuid' })),
  error: Type.Optional(Type.Object({ status: Type.Integer(), code: StringEnum(PROBLEM_CODES), detail: Type.String() }, { additionalProperties: false })),
}, { $id: 'OperationPart', additionalProperties: false })

/** The guest, with who invited it (operations/guest-invitations.ts). */
export function toGuest(user: DirectoryUser, invited: Pick<Guest, 'invitedBy' | 'invitedAt'>): Guest {
  return {
    id: user.id,
    email: user.mail,
    displayName: user.displayName,
    userPrincipalName: user.userPrincipalName,
    userType: user.userType,
    invitationState: isExternalUserState(user.externalUserState) ? user.externalUserState : null,
    invitationStateChangedAt: user.externalUserStateChangeDateTime,
    createdAt: user.createdDateTime,
    invitedBy: invited.invitedBy,
    invitedAt: invited.invitedAt,
  }
}
