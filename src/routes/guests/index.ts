import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { resetRedemptionAddressProblem, type DirectoryUser } from '../../graph/graph-gateway.js'
import { badRequest, ProblemError, unprocessable } from '../../errors.js'
import { accessOf, roleOf } from '../../operations/guest-access.js'
import { deleteGuestAccount, resendGuestInvitation, revokeGuestAccess } from '../../operations/guest-actions.js'
import { guestsWithInviter, invitedByPage } from '../../operations/guest-invitations.js'
import { invitationKey, reserveInvitation } from '../../operations/limits.js'
import { checkGuestAction, enforcing, invitationQuestion, loadUser } from '../../operations/policy-targets.js'
import { addGuestSponsor, listSponsorsOf, removeGuestSponsor } from '../../operations/sponsors.js'
import { toAssignment } from '../../schemas/directory.js'
import { invitableEmail } from '../../schemas/email-address.js'
import { toGuest } from '../../schemas/guest.js'
import { decodeCursor, encodeCursor, readPage } from '../page-cursor.js'
import { identityOf } from '../request-identity.js'
import { addSponsor, deleteGuest, getGuest, listGuests, listSponsors, removeSponsor, resendInvitation, resetRedemption, revokeAccess } from './schemas.js'

interface GuestFilters { state?: string; domain?: string; search?: string; limit: number }

/** The list filters, applied to guests read one by one (as Graph applies them to a list). */
function matches(user: DirectoryUser, filters: GuestFilters): boolean {
  if (filters.state !== undefined && user.externalUserState !== filters.state) return false
  if (filters.domain !== undefined && !user.mail?.toLowerCase().endsWith(`@${filters.domain}`)) return false
  const text = filters.search?.toLowerCase()
  return text === undefined || [user.displayName, user.mail].some((field) => field?.toLowerCase().includes(text))
}

export default async function guestRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/', { schema: listGuests, config: { authorization: { action: 'read', subject: 'Guest' } } }, async (request) => {
    const query = request.query
    const filters = { state: query.state, domain: query.domain?.toLowerCase(), search: query.search, limit: query.limit }
    await request.authorize('read', { type: 'Guest' })
    if (query.invitedBy !== undefined) return invitedByList(request, query.invitedBy, filters, query.cursor)
    const page = await readPage(query.cursor, filters, (pageToken) => app.graphOps.read(identityOf(request), (graph, ctx) =>
      graph.listGuests({ state: filters.state, domain: filters.domain, search: filters.search, top: filters.limit, pageToken }, ctx)))
    return { ...page, items: await guestsWithInviter(app, page.items) }
  })

  /**
   * The guests a requester invited through guestgate, newest first, from the audit log's
   * invitation outcome rows (a page of rows, then each guest from Graph). A guest deleted since,
   * or not matching the other filters, is left out, so a page may hold fewer than limit items:
   * follow nextCursor. Who may read guests may read these (they are guests like any other).
   */
  async function invitedByList(request: FastifyRequest, invitedBy: string, filters: GuestFilters, cursor: string | undefined) {
    const actorOid = invitedBy === 'me' ? request.authenticatedPrincipal().oid : invitedBy.toLowerCase()
    const cursorFilters = { ...filters, invitedBy: actorOid }
    const belowId = decodeCursor(cursor, cursorFilters)
    if (belowId !== undefined && !/^\d{1,19}$/.test(belowId)) throw badRequest('query/cursor: is not a cursor this API returned', [{ field: 'query/cursor', message: 'is not a cursor this API returned' }])
    const page = await invitedByPage(app, actorOid, { limit: filters.limit, belowId })
    const users = await Promise.all(page.items.map(({ guestId }) => loadUser(app, request, guestId).catch((error: unknown) => {
      if (error instanceof ProblemError && error.status === 404) return null
      throw error
    })))
    const items = page.items.flatMap((row, i) => {
      const user = users[i]
      return user && user.userType === 'Guest' && matches(user, filters) ? [toGuest(user, row)] : []
    })
    const nextCursor = encodeCursor(page.nextBelowId, cursorFilters)
    return { items, ...(nextCursor ? { nextCursor } : {}) }
  }

  app.get('/:id', { schema: getGuest, config: { authorization: { action: 'read', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params
    const { user: guest } = await checkGuestAction(app, request, () => enforcing(request), 'read', id)
    const [access, sponsors, [shown]] = await Promise.all([accessOf(app, request, id), listSponsorsOf(app, request, id), guestsWithInviter(app, [guest])])
    return {
      ...shown!,
      accountEnabled: guest.accountEnabled,
      sponsors,
      groups: access.groups.map((g) => ({ id: g.id, displayName: g.displayName })),
      appRoleAssignments: access.assignments.map((a) => toAssignment(a, roleOf(access, a)?.value ?? null)),
    }
  })

  app.get('/:id/sponsors', { schema: listSponsors, config: { authorization: { action: 'read', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params
    await checkGuestAction(app, request, () => enforcing(request), 'read', id)
    return { items: await listSponsorsOf(app, request, id) }
  })

  app.post('/:id/sponsors', { schema: addSponsor, config: { authorization: { action: 'manageSponsors', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params
    return addGuestSponsor(app, request, id, (request.body).sponsorId)
  })

  app.delete('/:id/sponsors/:sponsorId', { schema: removeSponsor, config: { authorization: { action: 'manageSponsors', subject: 'Guest' } } }, async (request) => {
    const { id, sponsorId } = request.params
    return removeGuestSponsor(app, request, id, sponsorId)
  })

  app.post('/:id/resend-invitation', { schema: resendInvitation, config: { authorization: { action: 'resend', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params
    return resendGuestInvitation(app, request, id, request.body ?? {})
  })

  app.post('/:id/reset-redemption', { schema: resetRedemption, config: { authorization: { action: 'resetRedemption', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params
    const body = request.body ?? {}
    const redirectUrl = body.redirectUrl ?? app.config.defaultRedirectUrl
    const sendEmail = body.sendEmail ?? true
    const summary = { guestId: id, email: body.email ?? null, redirectUrl, sendEmail }
    const auditTargetOf = (user: DirectoryUser) => ({ type: 'guest', id, displayName: user.mail ?? user.displayName })
    const { decision, user: guest } = await checkGuestAction(app, request, (u) => enforcing(request, { auditTarget: auditTargetOf(u), summary }), 'resetRedemption', id)
    const email = invitableEmail(body.email ?? guest.mail ?? '', 'body/email')
    // Graph refuses an address the user does not have: say so before anything is recorded.
    const addressProblem = resetRedemptionAddressProblem(guest, email)
    if (addressProblem) throw unprocessable('address_not_on_guest', addressProblem, { errors: [{ field: 'body/email', message: 'is not the guest\'s mail nor one of its otherMails' }] })
    // The same redirect and limit questions as any invitation.
    const question = await invitationQuestion(app, request, email, redirectUrl)
    await request.authorize('invite', question.target, { context: question.context, auditTarget: auditTargetOf(guest), summary })
    const outcome = await app.graphOps.write(identityOf(request), {
      write: 'guest.resetRedemption',
      params: { guestId: id, email, redirectUrl, sendEmail, stateBefore: guest.externalUserState },
      target: auditTargetOf(guest), decision,
      exclusive: { key: invitationKey(request.authenticatedPrincipal(), email), reserve: reserveInvitation(app, request, question.target) },
    })
    return { id, email, invitationState: outcome.value.status, inviteRedeemUrl: outcome.value.inviteRedeemUrl, operationId: outcome.operationId }
  })

  app.post('/:id/revoke-access', { schema: revokeAccess, config: { authorization: { action: 'revokeAccess', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params
    return revokeGuestAccess(app, request, id, request.body ?? {})
  })

  app.delete('/:id', { schema: deleteGuest, config: { authorization: { action: 'delete', subject: 'Guest' } } }, async (request, reply) => {
    const { id } = request.params
    await deleteGuestAccount(app, request, id)
    return reply.code(204).send(null)
  })
}
