import { Type, type Static } from '@sinclair/typebox'
import { problemResponse, standardProblemResponses } from '../../schemas/problem.js'
import { MultilineText } from '../../schemas/text.js'

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
}, { additionalProperties: false })
export type CreateInvitationBody = Static<typeof CreateInvitationBody>

export const createInvitation = {
  operationId: 'createInvitation',
  tags: ['invitations'],
  summary: 'Invite an external user as a guest',
  description: 'Onboarding in one request. Every part (the invitation, each group, each app role) is authorized before anything is sent to Graph: one part denied is a 403 and nothing is done. Then the invitation, the groups and the app roles run in order, each with its own audit intent and outcome rows under one operation id. A part that fails after the invitation does not undo it: the answer is still 201, with outcome "partial" and the failed parts (with their error) in parts. An address that already belongs to a user gets no second invitation (409 names the user).',
  body: CreateInvitationBody,
  response: {
    201: Type.Ref('InvitationResult'),
    ...standardProblemResponses,
    409: problemResponse('A user with this email already exists: existingUserId names it'),
    413: problemResponse('The body is too large'),
    415: problemResponse('The body is not JSON'),
    422: problemResponse('Microsoft Graph rejected the invitation'),
    502: problemResponse('Microsoft Graph failed or refused guestgate\'s own permissions'),
  },
}
