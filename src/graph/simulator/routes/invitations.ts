// POST /invitations: creates a guest, or re-invites the user who already has the address.
import type { FastifyPluginAsync } from 'fastify'
import { invitableEmailProblem } from '../../invitable-email.js'
import { graphErrors } from '../graph-error-bodies.js'
import { objectId, optionalBoolean, optionalString, readBody, requiredString, type GraphBody } from '../request-input.js'
import type { InvitedUserMessageInfoRecord, SimulatedDirectory } from '../state.js'

const INVITATION = 'microsoft.graph.invitation'


/**
 * Whether the bearer token is app-only: a delegated token carries the user's scopes in `scp`,
 * an application token has none (https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference).
 * Tokens are not verified here; anything that is not a JWT with `scp` counts as app-only, as
 * guestgate's own credential always is.
 */
function isAppOnlyCaller(authorization: string | undefined): boolean {
  const payload = authorization?.replace(/^Bearer\s+/i, '').split('.')[1]
  if (!payload) return true
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    return !(typeof claims === 'object' && claims !== null && typeof (claims as { scp?: unknown }).scp === 'string')
  } catch {
    return true
  }
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
      appOnly: isAppOnlyCaller(request.headers.authorization),
    })
    return reply.code(201).send(structuredClone(invitation))
  })
}
