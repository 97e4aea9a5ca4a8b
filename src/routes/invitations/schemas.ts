import { Type, type Static } from '@sinclair/typebox'
import { graphPermissions } from '../../plugins/openapi-contract.js'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'
import { MultilineText } from '../../schemas/text.js'
import { BundleName, ExpiresAt } from '../lifecycle/schemas.js'

export const CreateInvitationBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254, description: 'The external user\'s email address (no plus-addressing)' }),
  displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  redirectUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https://', maxLength: 2048,
    description: 'Where the guest lands after redeeming; must be allowed by policy. Defaults to the configured URL (My Apps).' })),
  message: Type.Optional(MultilineText({ maxLength: 2000, deprecated: true, description: 'Not supported: Entra leaves a custom message out of invitation e-mails an application sends, so any text here is refused (422 message_not_delivered). To send your own text, invite with sendEmail false and e-mail the inviteRedeemUrl yourself.' })),
  sendEmail: Type.Optional(Type.Boolean({ default: true, description: 'Let Microsoft send the invitation email' })),
  groups: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 20, uniqueItems: true,
    description: 'Groups to add the guest to, in order, after the invitation' })),
  appRoles: Type.Optional(Type.Array(Type.Object({
    appId: Type.String({ format: 'uuid', description: 'Service principal id of the enterprise application' }),
    appRole: Type.String({ minLength: 1, maxLength: 256, description: 'The role by value (DocuSign.Sender), display name (DocuSign Sender, any case) or id' }),
  }, { additionalProperties: false }), { maxItems: 20, description: 'App roles to grant, in order, after the groups' })),
  sponsors: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 5, uniqueItems: true,
    description: 'Object ids of users or groups who sponsor the guest (Entra allows at most five), added right after the invitation, each an audited part. Absent: the requester, when it is a user of the directory; [] for none. Naming anyone but yourself needs the policy\'s guests.manageSponsors. An id that is no user or group of the directory is a 422 before anything is sent.' })),
  bundles: Type.Optional(Type.Array(Type.Object({
    bundle: BundleName,
    expiresAt: Type.Optional(Type.String({ ...ExpiresAt, description: 'When this grant ends; default and maximum: the bundle\'s maxDays from now' })),
  }, { additionalProperties: false }), { maxItems: 10, description: 'Access bundles of the policy file to grant after the app roles: the caller needs each bundle\'s grantableBy role and every part\'s own grant' })),
  expiresAt: Type.Optional(Type.String({ ...ExpiresAt, description: 'When the guest\'s access ends: the expiry scheduler then takes every group and app role away. Within the inviting role\'s expiry.maxDays; absent, that cap from now (no expiry when the role has none).' })),
}, {
  additionalProperties: false,
  // Valid in the sandbox: partner.example and this redirect URL are allowed by its policy.
  examples: [{ email: 'jane@partner.example', displayName: 'Jane Doe', redirectUrl: 'https://myapps.microsoft.com/', sendEmail: false }],
})
export type CreateInvitationBody = Static<typeof CreateInvitationBody>

export const createInvitation = {
  operationId: 'createInvitation',
  tags: ['invitations'],
  summary: 'Invite an external user as a guest',
  description: 'Onboarding in one request. Every part (the invitation, each sponsor, each group, each app role) is authorized before anything is sent to Graph: one part denied is a 403 and nothing is done. Then the invitation, the sponsors, the groups and the app roles run in order, each with its own audit intent and outcome rows under one operation id. A part that fails after the invitation does not undo it: the answer is still 201, with outcome "partial" and the failed parts (with their error) in parts. An address that already belongs to a user gets no second invitation (409 names the user).',
  body: CreateInvitationBody,
  ...graphPermissions('User.Invite.All', 'User.Read.All', 'GroupMember.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All', 'Application.Read.All'),
  response: {
    201: {
      description: 'The guest was invited (outcome complete), or invited with some group or app role parts failed (outcome partial)',
      headers: { Location: { type: 'string', description: 'The guest: /v1/guests/{id}' } },
      content: { 'application/json': { schema: Type.Ref('InvitationResult') } },
    },
    ...standardProblemResponses,
    409: problemResponse('A user with this email already exists: existingUserId names it'),
    413: problemResponse('The body is too large'),
    415: problemResponse('The body is not JSON'),
    422: problemResponse('Microsoft Graph rejected the invitation, or a sponsor is no user or group of the directory'),
    502: problemResponse('Microsoft Graph failed or refused guestgate\'s own permissions'),
  },
}
