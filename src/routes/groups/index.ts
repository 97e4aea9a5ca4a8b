import type { FastifyInstance, FastifyRequest } from 'fastify'
import { addToGroup, removeFromGroup } from '../../operations/guest-access.js'
import { checkGroupMembership, enforcing, groupMembershipTarget, loadGuest } from '../../operations/policy-targets.js'
import { toGroup } from '../../schemas/directory.js'
import { guestsWithInviter } from '../../operations/guest-invitations.js'
import { readPage } from '../page-cursor.js'
import { identityOf } from '../request-identity.js'
import { addGroupMember, listGroupMembers, listGroups, removeGroupMember, type AddMemberBody, type ListGroupsQuery, type ListMembersQuery, type MemberParams } from './schemas.js'
import { checkExpiry, recordExpiry, settleGrantExpiry } from '../../operations/expiry.js'

export default async function groupRoutes(app: FastifyInstance) {
  const read = { action: 'read', subject: 'Group' } as const

  app.get('/', { schema: listGroups, config: { authorization: read } }, async (request) => {
    const query = request.query as ListGroupsQuery
    await request.authorize('read', { type: 'Group' })
    const page = await readPage(query.cursor, { search: query.search, limit: query.limit }, (pageToken) =>
      app.graphOps.read(identityOf(request), (graph, ctx) => graph.listGroups({ search: query.search, top: query.limit, pageToken }, ctx)))
    return { ...page, items: page.items.map((g) => ({ ...toGroup(g), canAddGuests: request.evaluate('addMember', groupMembershipTarget(g.id, g)).allowed })) }
  })

  // Guests only, never members of the directory: see listGroupMembers' description for the rule.
  app.get('/:groupId/members', { schema: listGroupMembers, config: { authorization: { action: 'read', subject: 'GroupMembership' } } }, async (request) => {
    const { groupId } = request.params as { groupId: string }
    const query = request.query as ListMembersQuery
    await checkGroupMembership(app, request, enforcing(request, { auditTarget: { type: 'group', id: groupId } }), 'read', groupId)
    const page = await readPage(query.cursor, { guestsOnly: true, limit: query.limit }, (pageToken) =>
      app.graphOps.read(identityOf(request), (graph, ctx) => graph.listGroupMembers(groupId, { guestsOnly: true, top: query.limit, pageToken }, ctx)))
    return { ...page, items: await guestsWithInviter(app, page.items.filter((user) => user.userType === 'Guest')) }
  })

  /** Policy first (the group may not be manageable at all), then the guest, then Graph. */
  async function membershipChange(request: FastifyRequest, action: 'addMember' | 'removeMember') {
    const { groupId, userId } = request.params as MemberParams
    const auditTarget = { type: 'guest', id: userId }
    const body = (request.body ?? {}) as AddMemberBody
    const expiresAt = action === 'addMember' ? checkExpiry(app, request, { kind: 'group' }, body.expiresAt, 'body/expiresAt') : undefined
    const { decision, group } = await checkGroupMembership(app, request, enforcing(request, { auditTarget, summary: { groupId } }), action, groupId)
    const guest = await loadGuest(app, request, userId)
    const ref = { id: guest.id, label: guest.mail ?? guest.displayName }
    const outcome = action === 'addMember'
      ? await addToGroup(app, identityOf(request), ref, group!, { decision, summary: expiresAt ? { expiresAt: expiresAt.toISOString() } : undefined })
      : await removeFromGroup(app, identityOf(request), ref, group!, { decision, summary: expiresAt ? { expiresAt: expiresAt.toISOString() } : undefined })
    const item = { guestId: guest.id, kind: 'group', subject: group!.id, label: group!.displayName } as const
    // Removed: its expiry ends. Added: new access gets the date asked (or the cap); on a membership
    // already there, no date leaves its expiry alone and an earlier one needs the removal right.
    if (action === 'removeMember') await recordExpiry(app, request, { ...item, expiresAt: null })
    else {
      await settleGrantExpiry(app, request, { ...item, asked: expiresAt, changed: outcome.value.changed, access: { kind: 'group', groupId: group!.id },
        field: 'body/expiresAt', accessField: 'params/groupId', auditTarget: { ...auditTarget, displayName: ref.label } })
    }
    return { groupId, userId, changed: outcome.value.changed, operationId: outcome.operationId }
  }

  app.put('/:groupId/members/:userId', { schema: addGroupMember, config: { authorization: { action: 'addMember', subject: 'GroupMembership' } } },
    (request) => membershipChange(request, 'addMember'))
  app.delete('/:groupId/members/:userId', { schema: removeGroupMember, config: { authorization: { action: 'removeMember', subject: 'GroupMembership' } } },
    (request) => membershipChange(request, 'removeMember'))
}
