import { Type, type Static } from '@sinclair/typebox'
import type { DirectoryUser } from '../graph/graph-gateway.js'

export const InvitationState = Type.Union([Type.Literal('PendingAcceptance'), Type.Literal('Accepted')], {
  description: 'Whether the guest has redeemed the invitation (Graph: externalUserState)',
})

/** A guest as the API shows it: only these fields leave the service, whatever Graph returns. */
export const GuestSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Entra object id of the guest user' }),
  email: Type.Union([Type.String(), Type.Null()]),
  displayName: Type.Union([Type.String(), Type.Null()]),
  userPrincipalName: Type.Union([Type.String(), Type.Null()]),
  userType: Type.String({ description: 'Guest for B2B guests' }),
  invitationState: Type.Union([InvitationState, Type.String(), Type.Null()]),
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
  invitationState: Type.Union([InvitationState, Type.String()]),
  inviteRedeemUrl: Type.Union([Type.String(), Type.Null()], { description: 'Link the guest opens to accept; send it yourself when sendEmail is false. null when Microsoft Graph\'s answer was lost and the invitation was confirmed by reading the directory instead: resend the invitation for a new link.' }),
  operationId: Type.String({ format: 'uuid', description: 'Audit operation id of the whole request: GET /v1/audit/operations/{operationId}' }),
  outcome: Type.Union([Type.Literal('complete'), Type.Literal('partial')], {
    description: 'partial: the invitation stands but at least one group or app role part failed; parts says which. Retry those with PUT /v1/groups/{groupId}/members/{userId} or POST /v1/apps/{appId}/assignments.' }),
  parts: Type.Array(Type.Ref('OperationPart'), { description: 'Each step in the order it ran: the invitation, then groups, then app roles' }),
}, { $id: 'InvitationResult', additionalProperties: false })

export const OperationPartSchema = Type.Object({
  kind: Type.Union([Type.Literal('invitation'), Type.Literal('group'), Type.Literal('appRole')]),
  target: Type.String({ description: 'email, group id, or appId/appRole' }),
  status: Type.Union([Type.Literal('succeeded'), Type.Literal('unchanged'), Type.Literal('kept'), Type.Literal('failed')], {
    description: 'kept: left in place and never touched, because a rule no policy file lifts (rule, reason) or Graph\'s own rules keep it (a dynamic group\'s membership follows its rule)' }),
  rule: Type.Optional(Type.String({ description: 'kept: the policy rule that keeps the part, e.g. groups.role-assignable, groups.dynamic, apps.protected-application' })),
  reason: Type.Optional(Type.String({ description: 'kept: why, in a sentence' })),
  operationId: Type.Optional(Type.String({ format: 'uuid' })),
  error: Type.Optional(Type.Object({ status: Type.Integer(), code: Type.String(), detail: Type.String() }, { additionalProperties: false })),
}, { $id: 'OperationPart', additionalProperties: false })

/** The guest, with who invited it (operations/guest-invitations.ts). */
export function toGuest(user: DirectoryUser, invited: Pick<Guest, 'invitedBy' | 'invitedAt'>): Guest {
  return {
    id: user.id,
    email: user.mail,
    displayName: user.displayName,
    userPrincipalName: user.userPrincipalName,
    userType: user.userType,
    invitationState: user.externalUserState,
    invitationStateChangedAt: user.externalUserStateChangeDateTime,
    createdAt: user.createdDateTime,
    invitedBy: invited.invitedBy,
    invitedAt: invited.invitedAt,
  }
}
