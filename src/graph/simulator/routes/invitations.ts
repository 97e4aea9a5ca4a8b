// POST /invitations: creates a guest, or re-invites the user who already has the address.
import type { FastifyPluginAsync } from 'fastify'
import { invitableEmailProblem } from '../../invitable-email.js'
import { callerOf } from '../caller.js'
import { graphErrors } from '../graph-error-bodies.js'
import { objectId, optionalBoolean, optionalString, readBody, requiredString, type GraphBody } from '../request-input.js'
import type { InvitedUserMessageInfoRecord, SimulatedDirectory } from '../state.js'

const INVITATION = 'microsoft.graph.invitation'


/**
 * invitedUserSponsors: [{"id": "<user or group id>"}] (the v1.0 metadata's navigation property;
 * the body shape is what Graph PowerShell sends: graph-lifecycle-facts.md §1, SILENT in the docs).
 */
function sponsorIds(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined
  return (value as unknown[]).map((item) => {
    const sponsor = readBody(item, 'microsoft.graph.directoryObject', { id: 'Edm.String' })
    return objectId(requiredString(sponsor, 'id', 'microsoft.graph.directoryObject'))
  })
}

function redirectUrl(value: string): string {
  try {
    const url = new URL(value)
    if (url.protocol === 'https:' || url.protocol === 'http:') return value
  } catch {
    // falls through to Graph's error
  }
  throw graphErrors.invalidRedirectUrl()
}

function messageInfo(value: unknown): InvitedUserMessageInfoRecord {
  const info: GraphBody = value === undefined || value === null
    ? {}
    : readBody(value, 'microsoft.graph.invitedUserMessageInfo', { ccRecipients: 'array', customizedMessageBody: 'Edm.String', messageLanguage: 'Edm.String' })
  const recipients = Array.isArray(info.ccRecipients) ? info.ccRecipients : []
  if (recipients.length > 1) throw graphErrors.tooManyCcRecipients()
  return {
    ccRecipients: recipients.map((recipient: unknown) => {
      const { emailAddress } = readBody(recipient, 'microsoft.graph.recipient', { emailAddress: 'object' })
      const address = readBody(emailAddress ?? {}, 'microsoft.graph.emailAddress', { address: 'Edm.String', name: 'Edm.String' })
      return { emailAddress: { address: optionalString(address, 'address') ?? null, name: optionalString(address, 'name') ?? null } }
    }),
    customizedMessageBody: optionalString(info, 'customizedMessageBody') ?? null,
    messageLanguage: optionalString(info, 'messageLanguage') ?? null,
  }
}

export const invitationRoutes: FastifyPluginAsync<{ directory: SimulatedDirectory }> = async (app, { directory }) => {
  app.post('/invitations', async (request, reply) => {
    const body = readBody(request.body, INVITATION, {
      invitedUserEmailAddress: 'Edm.String',
      inviteRedirectUrl: 'Edm.String',
      invitedUserDisplayName: 'Edm.String',
      sendInvitationMessage: 'Edm.Boolean',
      invitedUserMessageInfo: 'object',
      invitedUserType: 'Edm.String',
      resetRedemption: 'Edm.Boolean',
      invitedUser: 'object',
      invitedUserSponsors: 'array',
    })
    const email = requiredString(body, 'invitedUserEmailAddress', INVITATION)
    // The same rule guestgate checks before its audit row (invitable-email.ts).
    if (invitableEmailProblem(email) !== null) throw graphErrors.invalidEmail()
    const inviteRedirectUrl = redirectUrl(requiredString(body, 'inviteRedirectUrl', INVITATION))

    const userType = optionalString(body, 'invitedUserType') ?? 'Guest'
    if (userType !== 'Guest' && userType !== 'Member') throw graphErrors.invalidUserType(userType)
    const invitedUser = body.invitedUser === undefined || body.invitedUser === null
      ? undefined
      : readBody(body.invitedUser, 'microsoft.graph.user', { id: 'Edm.String' })
    const invitedUserId = typeof invitedUser?.id === 'string' ? objectId(invitedUser.id) : undefined
    const resetRedemption = optionalBoolean(body, 'resetRedemption') ?? false
    if (resetRedemption && invitedUserId === undefined) throw graphErrors.resetNeedsInvitedUser()

    const invitation = directory.invite({
      invitedUserEmailAddress: email,
      inviteRedirectUrl,
      invitedUserDisplayName: optionalString(body, 'invitedUserDisplayName'),
      invitedUserType: userType,
      sendInvitationMessage: optionalBoolean(body, 'sendInvitationMessage') ?? false,
      invitedUserMessageInfo: messageInfo(body.invitedUserMessageInfo),
      resetRedemption,
      invitedUserId,
      appOnly: callerOf(request.headers.authorization).appOnly,
      sponsorIds: sponsorIds(body.invitedUserSponsors),
    })
    return reply.code(201).send(structuredClone(invitation))
  })
}
