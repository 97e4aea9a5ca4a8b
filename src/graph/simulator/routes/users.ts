// Users: list and read (with OData options), delete (cascades to memberships and
// assignments), and the user's side of group memberships and app role assignments.
import type { FastifyPluginAsync } from 'fastify'
import { collectionResponse, entityResponse } from '../odata-query.js'
import { appRoleAssignmentShape, groupShape, userShape } from '../representations.js'
import { objectId } from '../request-input.js'
import type { SimulatedDirectory } from '../state.js'

interface UserParams {
  id: string
}

export const userRoutes: FastifyPluginAsync<{ directory: SimulatedDirectory }> = async (app, { directory }) => {
  app.get('/users', async (request) => collectionResponse(request, [...directory.users.values()], userShape))

  app.get<{ Params: UserParams }>('/users/:id', async (request) =>
    entityResponse(request, directory.referenceUser(objectId(request.params.id)), userShape),
  )

  app.delete<{ Params: UserParams }>('/users/:id', async (request, reply) => {
    directory.deleteUser(objectId(request.params.id))
    return reply.code(204).send()
  })

  app.get<{ Params: UserParams }>('/users/:id/memberOf', async (request) =>
    collectionResponse(request, directory.groupsOf(objectId(request.params.id)), groupShape, { annotateType: true }),
  )

  app.get<{ Params: UserParams }>('/users/:id/memberOf/microsoft.graph.group', async (request) =>
    collectionResponse(request, directory.groupsOf(objectId(request.params.id)), groupShape),
  )

  app.get<{ Params: UserParams }>('/users/:id/appRoleAssignments', async (request) =>
    collectionResponse(request, directory.assignmentsOf(objectId(request.params.id)), appRoleAssignmentShape),
  )
}
