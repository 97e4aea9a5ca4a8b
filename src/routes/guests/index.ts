import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { conflict } from '../../errors.js'
import { removeAppRoleAssignment, removeFromGroup, runPart, type PartOutcome } from '../../operations/guest-access.js'
import { invitationQuestion, loadApp, loadGuest, loadUser } from '../../operations/policy-targets.js'
import { toAssignment } from '../../schemas/directory.js'
import { toGuest } from '../../schemas/guest.js'
import { readPage } from '../page-cursor.js'
import { identityOf } from '../request-identity.js'
import { deleteGuest, getGuest, listGuests, resendInvitation, revokeAccess, type GuestIdParams, type ListGuestsQuery, type ResendInvitationBody } from './schemas.js'

export default async function guestRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  /** The guest's direct groups and app role assignments, with each role's value by role id. */
  async function accessOf(request: FastifyRequest, id: string) {
    const identity = identityOf(request)
    const [groups, assignments] = await Promise.all([
      app.graphOps.read(identity, (graph, ctx) => graph.listUserGroups(id, ctx)),
      app.graphOps.read(identity, (graph, ctx) => graph.listUserAppRoleAssignments(id, ctx)),
    ])
    const apps = await Promise.all([...new Set(assignments.map((a) => a.resourceId))].map((appId) => loadApp(app, request, appId)))
    const roleValues = new Map(apps.flatMap((sp) => sp.appRoles.map((r) => [r.id, r.value] as const)))
    return { groups, assignments, roleValues }
  }

  app.get('/', { schema: listGuests, config: { authorization: { action: 'read', subject: 'Guest' } } }, async (request) => {
    const query = request.query as ListGuestsQuery
    const filters = { state: query.state, domain: query.domain?.toLowerCase(), search: query.search, limit: query.limit }
    await request.authorize('read', { type: 'Guest' })
    const page = await readPage(query.cursor, filters, (pageToken) => app.graphOps.read(identityOf(request), (graph, ctx) =>
      graph.listGuests({ state: filters.state, domain: filters.domain, search: filters.search, top: filters.limit, pageToken }, ctx)))
    return { ...page, items: page.items.map(toGuest) }
  })

  app.get('/:id', { schema: getGuest, config: { authorization: { action: 'read', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params as GuestIdParams
    await request.authorize('read', { type: 'Guest', id })
    const guest = await loadGuest(app, request, id)
    const { groups, assignments, roleValues } = await accessOf(request, id)
    return {
      ...toGuest(guest),
      groups: groups.map((g) => ({ id: g.id, displayName: g.displayName })),
      appRoleAssignments: assignments.map((a) => toAssignment(a, roleValues.get(a.appRoleId) ?? null)),
    }
  })

  app.post('/:id/resend-invitation', { schema: resendInvitation, config: { authorization: { action: 'resend', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params as GuestIdParams
    const body = (request.body ?? {}) as ResendInvitationBody
    const guest = await loadGuest(app, request, id)
    const target = { type: 'guest', id, displayName: guest.mail ?? guest.displayName }
    const redirectUrl = body.redirectUrl ?? app.config.defaultRedirectUrl
    const summary = { guestId: id, redirectUrl, messageLength: body.message?.length ?? 0 }
    const decision = await request.authorize('resend', { type: 'Guest', id }, { auditTarget: target, summary })
    if (guest.externalUserState === 'Accepted') {
      throw conflict('invitation_already_accepted', `${guest.mail ?? id} already accepted the invitation; there is nothing to resend.`)
    }
    if (!guest.mail) throw conflict('guest_without_email', `Guest ${id} has no email address to invite again.`)
    // Redirect URLs are policy: the resend goes through the same check as a new invitation.
    const question = await invitationQuestion(app, request, guest.mail, redirectUrl)
    await request.authorize('invite', question.target, { context: question.context, auditTarget: target, summary })

    const outcome = await app.graphOps.write(identityOf(request), { action: 'guest.resend', target, decision, summary }, (graph, ctx) =>
      graph.invite({
        invitedUserEmailAddress: guest.mail!,
        inviteRedirectUrl: redirectUrl,
        invitedUserDisplayName: guest.displayName ?? undefined,
        sendInvitationMessage: true,
        customizedMessageBody: body.message,
      }, ctx))
    return {
      id,
      email: outcome.value.invitedUserEmailAddress,
      invitationState: outcome.value.status,
      inviteRedeemUrl: outcome.value.inviteRedeemUrl,
      operationId: outcome.operationId,
    }
  })


  app.post('/:id/revoke-access', { schema: revokeAccess, config: { authorization: { action: 'revokeAccess', subject: 'Guest' } } }, async (request) => {
    const { id } = request.params as GuestIdParams
    const guest = await loadGuest(app, request, id)
    const ref = { id, label: guest.mail ?? guest.displayName }
    const decision = await request.authorize('revokeAccess', { type: 'Guest', id }, { auditTarget: { type: 'guest', id, displayName: ref.label } })
    const identity = identityOf(request)
    const { groups, assignments, roleValues } = await accessOf(request, id)
    const write = { decision, operationId: randomUUID() }
    const parts: PartOutcome[] = []
    for (const group of groups) {
      parts.push(await runPart('group', group.id, () => removeFromGroup(app, identity, ref, group, write)))
    }
    for (const assignment of assignments) {
      const value = roleValues.get(assignment.appRoleId) ?? null
      parts.push(await runPart('appRole', `${assignment.resourceId}/${value ?? assignment.appRoleId}`,
        () => removeAppRoleAssignment(app, identity, ref, assignment, value, write)))
    }
    return { guestId: id, operationId: write.operationId, outcome: parts.some((p) => p.status === 'failed') ? 'partial' as const : 'complete' as const, parts }
  })

  app.delete('/:id', { schema: deleteGuest, config: { authorization: { action: 'delete', subject: 'Guest' } } }, async (request, reply) => {
    const { id } = request.params as GuestIdParams
    const user = await loadUser(app, request, id)
    if (user.userType !== 'Guest') throw conflict('not_a_guest', `User ${id} is a member of the directory, not a guest; guestgate never deletes members.`)
    const target = { type: 'guest', id, displayName: user.mail ?? user.displayName }
    const decision = await request.authorize('delete', { type: 'Guest', id }, { auditTarget: target })
    await app.graphOps.write(identityOf(request), { action: 'guest.delete', target, decision }, (graph, ctx) => graph.deleteUser(id, ctx))
    return reply.code(204).send(null)
  })
}
