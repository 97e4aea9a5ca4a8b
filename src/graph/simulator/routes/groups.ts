// Groups: list and read, members (a user-cast view too), and membership changes through
// /members/$ref. DELETE .../members/{id} without /$ref is refused, never a removal.
import type { FastifyPluginAsync } from 'fastify'
import { graphErrors } from '../graph-error-bodies.js'
import { collectionResponse, entityResponse } from '../odata-query.js'
import { groupShape, userShape } from '../representations.js'
import { objectId, referencedObjectId } from '../request-input.js'
import type { SimulatedDirectory } from '../state.js'

interface GroupParams {
  id: string
}

interface MemberParams extends GroupParams {
  memberId: string
}

export const groupRoutes: FastifyPluginAsync<{ directory: SimulatedDirectory }> = async (app, { directory }) => {
  app.get('/groups', async (request) => collectionResponse(request, [...directory.groups.values()], groupShape))

  app.get<{ Params: GroupParams }>('/groups/:id', async (request) =>
    entityResponse(request, directory.getGroup(objectId(request.params.id)), groupShape),
  )

  // Filtering a member list is an advanced query: ConsistencyLevel eventual and $count=true.
  app.get<{ Params: GroupParams }>('/groups/:id/members', async (request) =>
    collectionResponse(request, directory.membersOf(objectId(request.params.id)), userShape, { filterIsAdvanced: true, annotateType: true }),
  )

  app.get<{ Params: GroupParams }>('/groups/:id/members/microsoft.graph.user', async (request) =>
    collectionResponse(request, directory.membersOf(objectId(request.params.id)), userShape, { filterIsAdvanced: true }),
  )

  app.post<{ Params: GroupParams }>('/groups/:id/members/$ref', async (request, reply) => {
    const groupId = objectId(request.params.id)
    directory.addMember(groupId, referencedObjectId(request.body, ['directoryObjects', 'users']))
    return reply.code(204).send()
  })

  app.delete<{ Params: MemberParams }>('/groups/:id/members/:memberId/$ref', async (request, reply) => {
    directory.removeMember(objectId(request.params.id), objectId(request.params.memberId))
    return reply.code(204).send()
  })

  // Without /$ref this would address the member object itself: never a membership removal.
  app.delete<{ Params: MemberParams }>('/groups/:id/members/:memberId', async (request) => {
    throw graphErrors.unsupportedSegment(`groups/${request.params.id}/members/${request.params.memberId}`)
  })
}
