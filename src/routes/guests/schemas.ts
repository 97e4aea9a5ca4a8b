import { Type, type Static } from '@sinclair/typebox'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { AppRoleAssignmentRef } from '../../schemas/directory.js'
import { GuestRef, GuestSchema, InvitationState, InvitationStatus, OUTCOMES } from '../../schemas/guest.js'
import { StringEnum } from '../../schemas/enum.js'
import { pageFields, SearchText } from '../../schemas/paging.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'
import { MultilineText } from '../../schemas/text.js'

const GuestIdParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Object id of the guest user' }),
}, { additionalProperties: false })
export type GuestIdParams = Static<typeof GuestIdParams>

export const ListGuestsQuery = Type.Object({
  state: Type.Optional(InvitationState),
  domain: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9.-]{1,253}$', description: 'Email domain, e.g. partner.example' })),
  search: Type.Optional(Type.String({ ...SearchText, description: 'Matches display name or email' })),
  invitedBy: Type.Optional(Type.String({
    pattern: '^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$',
    description: 'me, or the object id of a requester: only the guests they invited through guestgate (from the audit log), newest invitation first',
  })),
  ...pageFields,
}, { additionalProperties: false })
export type ListGuestsQuery = Static<typeof ListGuestsQuery>

const notFound = problemResponse('No guest with this id')

const SponsorRef = Type.Ref('Sponsor')

const SponsorParams = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Object id of the guest user' }),
  sponsorId: Type.String({ format: 'uuid', description: 'Object id of the sponsoring user or group' }),
}, { additionalProperties: false })
export type SponsorParams = Static<typeof SponsorParams>

export const AddSponsorBody = Type.Object({
  sponsorId: Type.String({ format: 'uuid', description: 'Object id of a user or group of the directory' }),
}, { additionalProperties: false })
export type AddSponsorBody = Static<typeof AddSponsorBody>

const SponsorChange = Type.Object({
  guestId: Type.String({ format: 'uuid' }),
  sponsor: Type.Object({
    id: Type.String(), type: Type.Union([Type.Literal('user'), Type.Literal('group')]), displayName: Type.Union([Type.String(), Type.Null()]),
  }, { additionalProperties: false }),
  changed: Type.Boolean({ description: 'false when it already was (or was not) a sponsor: nothing changed' }),
  operationId: Type.String({ format: 'uuid' }),
}, { additionalProperties: false })

export const listSponsors = {
  operationId: 'listGuestSponsors',
  tags: ['guests'],
  summary: 'List the sponsors of a guest',
  description: 'The users and groups who sponsor the guest (Graph: GET /users/{id}/sponsors). Needs the right to read guests.',
  params: GuestIdParams,
  ...graphPermissions('User.Read.All'),
  response: {
    200: Type.Object({ items: Type.Array(SponsorRef) }, { additionalProperties: false, description: 'The guest\'s sponsors' }),
    ...standardProblemResponses, 404: notFound, 502: problemResponse('Microsoft Graph failed'),
  },
}

export const addSponsor = {
  operationId: 'addGuestSponsor',
  tags: ['guests'],
  summary: 'Add a sponsor to a guest',
  description: 'Adds a user or group as sponsor (Graph: POST /users/{id}/sponsors/$ref), audited. Its own policy action (guests.manageSponsors). A sponsor already there is changed false. Entra allows at most five sponsors: a sixth is a 409 naming the current ones, and nothing is sent.',
  params: GuestIdParams,
  body: AddSponsorBody,
  ...graphPermissions('User.ReadWrite.All'),
  response: {
    200: { ...SponsorChange, description: 'Done; changed false when the sponsor already was one' },
    ...standardProblemResponses, 404: notFound,
    409: problemResponse('The guest already has five sponsors'),
    422: problemResponse('The sponsor is no user or group of the directory, or the guest itself'),
    502: problemResponse('Microsoft Graph failed'),
  },
}

export const removeSponsor = {
  operationId: 'removeGuestSponsor',
  tags: ['guests'],
  summary: 'Remove a sponsor from a guest',
  description: 'Removes the sponsor relationship only (Graph: DELETE /users/{id}/sponsors/{sponsorId}/$ref; the sponsor\'s own object is never touched), audited. Its own policy action (guests.manageSponsors). Not a sponsor: changed false.',
  params: SponsorParams,
  ...graphPermissions('User.ReadWrite.All'),
  response: {
    200: { ...SponsorChange, description: 'Done; changed false when it was no sponsor' },
    ...standardProblemResponses, 404: notFound, 502: problemResponse('Microsoft Graph failed'),
  },
}

export const listGuests = {
  operationId: 'listGuests',
  tags: ['guests'],
  summary: 'List guests',
  description: 'Guests of the directory, newest Graph order, filtered by invitation state, email domain or text. Pages with an opaque cursor. With invitedBy (me, or a requester\'s object id): the guests that requester invited through guestgate, newest invitation first, from the audit log; guests deleted since, or not matching the other filters, are left out, so a page may hold fewer than limit items (follow nextCursor). Each guest says who invited it and when (invitedBy, invitedAt; null for guests invited outside guestgate).',
  querystring: ListGuestsQuery,
  ...graphPermissions('User.Read.All'),
  response: {
    200: Type.Object({
      items: Type.Array(GuestRef),
      nextCursor: Type.Optional(Type.String({ description: 'Pass as cursor for the next page; absent on the last page' })),
    }, { additionalProperties: false, description: 'One page of guests' }),
    ...standardProblemResponses,
    502: problemResponse('Microsoft Graph failed'),
  },
}

export const getGuest = {
  operationId: 'getGuest',
  tags: ['guests'],
  summary: 'Get a guest with the access it holds',
  description: 'The guest, whether it may sign in, its sponsors, its direct group memberships and its app role assignments.',
  params: GuestIdParams,
  // A user's memberOf and appRoleAssignments: AppRoleAssignment.ReadWrite.All, which guestgate
  // holds anyway, also reads them (the least privileged read alone is Directory.Read.All).
  ...graphPermissions('User.Read.All', 'GroupMember.Read.All', 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All'),
  response: {
    200: Type.Composite([Type.Omit(GuestSchema, []), Type.Object({
      accountEnabled: Type.Boolean({ description: 'false: sign-in is blocked (revoke-access with blockSignIn)' }),
      sponsors: Type.Array(SponsorRef),
      groups: Type.Array(Type.Object({ id: Type.String(), displayName: Type.String() }, { additionalProperties: false })),
      appRoleAssignments: Type.Array(AppRoleAssignmentRef),
    })], { additionalProperties: false, description: 'The guest, its direct groups and its app role assignments' }),
    ...standardProblemResponses, 404: notFound, 502: problemResponse('Microsoft Graph failed'),
  },
}

export const RevokeAccessBody = Type.Object({
  blockSignIn: Type.Optional(Type.Boolean({ default: false, description: 'Also block sign-in (accountEnabled false). Policy action guests.blockSignIn.' })),
  revokeSessions: Type.Optional(Type.Boolean({ default: false, description: 'Also revoke sign-in sessions (revokeSignInSessions). Policy action guests.revokeSessions. Entra documents that this does not end the sessions of external users, who sign in at their home tenant: block sign-in to stop a guest.' })),
}, { additionalProperties: false })
export type RevokeAccessBody = Static<typeof RevokeAccessBody>

export const revokeAccess = {
  operationId: 'revokeGuestAccess',
  // Offboarding: accountEnabled needs User.ReadWrite.All, revokeSignInSessions User.RevokeSessions.All.
  tags: ['guests'],
  summary: 'Take away every group membership and app role of a guest',
  description: 'Removes the guest from every group and every app role assignment it holds, whoever granted them, and keeps the account. With the offboarding options it first blocks sign-in and revokes sign-in sessions, each its own policy action: an option the requester\'s roles do not give is a part "kept" with the rule and reason (and an audit row), and the rest still runs. Each step is audited under one operation id; a step that fails is reported in parts and the others still run (outcome "partial").',
  params: GuestIdParams,
  ...graphPermissions('User.Read.All', 'GroupMember.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All', 'User.ReadWrite.All', 'User.RevokeSessions.All'),
  body: Type.Optional(RevokeAccessBody),
  response: {
    200: Type.Object({
      guestId: Type.String({ format: 'uuid' }),
      operationId: Type.String({ format: 'uuid' }),
      outcome: StringEnum(OUTCOMES, { description: 'partial: at least one removal failed; parts says which' }),
      parts: Type.Array(Type.Ref('OperationPart')),
    }, { additionalProperties: false, description: 'Every removal, in order (outcome partial: some failed; kept: left by a rule)' }),
    ...standardProblemResponses, 404: notFound, 502: problemResponse('Microsoft Graph failed'),
  },
}

export const ResetRedemptionBody = Type.Object({
  email: Type.Optional(Type.String({ format: 'email', maxLength: 254,
    description: 'The address to redeem with: the guest\'s mail or one of its otherMails (Graph refuses any other). Defaults to the guest\'s mail.' })),
  redirectUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https://', maxLength: 2048, description: 'Where the guest lands after redeeming; allowed by policy' })),
  sendEmail: Type.Optional(Type.Boolean({ default: true, description: 'Let Microsoft send the new invitation e-mail' })),
}, { additionalProperties: false, examples: [{ redirectUrl: 'https://myapps.microsoft.com/', sendEmail: false }] })
export type ResetRedemptionBody = Static<typeof ResetRedemptionBody>

export const ResendInvitationBody = Type.Object({
  redirectUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https://', maxLength: 2048 })),
  message: Type.Optional(MultilineText({ maxLength: 2000, deprecated: true, description: 'Not supported: Entra leaves a custom message out of invitation e-mails an application sends, so any text here is refused (422 message_not_delivered).' })),
}, { additionalProperties: false, examples: [{ redirectUrl: 'https://myapps.microsoft.com/' }] })
export type ResendInvitationBody = Static<typeof ResendInvitationBody>

export const resendInvitation = {
  operationId: 'resendInvitation',
  tags: ['guests'],
  summary: 'Send the invitation again',
  description: 'Graph has no resend call: as Microsoft advises, the same user is invited again with the invitation email on. Only for guests who have not accepted yet. Returns the new redeem URL.',
  params: GuestIdParams,
  body: Type.Optional(ResendInvitationBody),
  ...graphPermissions('User.Invite.All', 'User.Read.All'),
  response: {
    200: Type.Object({
      id: Type.String({ format: 'uuid' }),
      email: Type.String(),
      invitationState: InvitationStatus,
      inviteRedeemUrl: Type.Union([Type.String(), Type.Null()], { description: 'null when Graph\'s answer was lost and the resend could not be read back' }),
      operationId: Type.String({ format: 'uuid' }),
    }, { additionalProperties: false, description: 'The invitation was sent again' }),
    ...standardProblemResponses,
    404: notFound,
    409: problemResponse('The guest already accepted, or the user is not a guest'),
    422: problemResponse('Microsoft Graph rejected the invitation'),
    502: problemResponse('Microsoft Graph failed'),
  },
}

export const deleteGuest = {
  operationId: 'deleteGuest',
  tags: ['guests'],
  summary: 'Remove a guest',
  description: 'Deletes the guest user from the directory (Entra keeps it restorable for 30 days). Members are never deleted here.',
  params: GuestIdParams,
  ...graphPermissions('User.ReadWrite.All'),
  response: {
    204: Type.Null({ description: 'Deleted (restorable in Entra for 30 days)' }),
    ...standardProblemResponses,
    404: notFound,
    409: problemResponse('The user is not a guest'),
    502: problemResponse('Microsoft Graph failed'),
  },
}

export const resetRedemption = {
  operationId: 'resetRedemption',
  tags: ['guests'],
  summary: 'Reset a guest\'s redemption',
  description: 'The guest must redeem again, for example after losing access to the account they redeemed with, or to move to another address: the same user object is invited anew (Graph\'s resetRedemption), so its id, group memberships and app role assignments stay. The address must already be the guest\'s mail or one of its otherMails (else 422 with Graph\'s reason). Its own policy action (resetRedemption); counts against the invitation limits like a resend. Needs the Graph application permission User.ReadWrite.All.',
  params: GuestIdParams,
  body: Type.Optional(ResetRedemptionBody),
  ...graphPermissions('User.ReadWrite.All'),
  response: {
    200: Type.Object({
      id: Type.String({ format: 'uuid' }),
      email: Type.String(),
      invitationState: InvitationStatus,
      inviteRedeemUrl: Type.Union([Type.String(), Type.Null()], { description: 'null when Graph\'s answer was lost and the reset was confirmed by reading' }),
      operationId: Type.String({ format: 'uuid' }),
    }, { additionalProperties: false, description: 'The redemption was reset: the guest redeems again with the new link' }),
    ...standardProblemResponses,
    404: problemResponse('No guest with this id'),
    422: problemResponse('The address is not one of the guest\'s (Graph\'s reason), or Graph refused the reset'),
    429: problemResponse('An invitation limit is reached: Retry-After says when'),
    502: problemResponse('Microsoft Graph failed'),
  },
}
