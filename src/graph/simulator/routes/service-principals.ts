// Service principals (enterprise apps): list and read, and app role assignments from the
// resource side (appRoleAssignedTo).
import type { FastifyPluginAsync } from 'fastify'
import { collectionResponse, entityResponse } from '../odata-query.js'
import { appRoleAssignmentShape, represent, servicePrincipalShape } from '../representations.js'
import { objectId, readBody, requiredString } from '../request-input.js'
import type { SimulatedDirectory } from '../state.js'

const APP_ROLE_ASSIGNMENT = 'microsoft.graph.appRoleAssignment'

interface ServicePrincipalParams {
  id: string
}

interface AssignmentParams extends ServicePrincipalParams {
  assignmentId: string
}

export const servicePrincipalRoutes: FastifyPluginAsync<{ directory: SimulatedDirectory }> = async (app, { directory }) => {
  app.get('/servicePrincipals', async (request) =>
    collectionResponse(request, [...directory.servicePrincipals.values()], servicePrincipalShape),
  )

  app.get<{ Params: ServicePrincipalParams }>('/servicePrincipals/:id', async (request) =>
    entityResponse(request, directory.getServicePrincipal(objectId(request.params.id)), servicePrincipalShape),
  )

  // What the service principal holds, e.g. an app's Graph permissions:
  // https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments
  app.get<{ Params: ServicePrincipalParams }>('/servicePrincipals/:id/appRoleAssignments', async (request) =>
    collectionResponse(request, directory.assignmentsHeldBy(objectId(request.params.id)), appRoleAssignmentShape),
  )

  app.get<{ Params: ServicePrincipalParams }>('/servicePrincipals/:id/appRoleAssignedTo', async (request) =>
    collectionResponse(request, directory.assignmentsTo(objectId(request.params.id)), appRoleAssignmentShape),
  )

  app.post<{ Params: ServicePrincipalParams }>('/servicePrincipals/:id/appRoleAssignedTo', async (request, reply) => {
    const servicePrincipalId = objectId(request.params.id)
    const body = readBody(request.body, APP_ROLE_ASSIGNMENT, {
      principalId: 'Edm.Guid',
      resourceId: 'Edm.Guid',
      appRoleId: 'Edm.Guid',
      principalType: 'Edm.String',
    })
    const assignment = directory.assignAppRole(servicePrincipalId, {
      principalId: requiredString(body, 'principalId', APP_ROLE_ASSIGNMENT),
      resourceId: requiredString(body, 'resourceId', APP_ROLE_ASSIGNMENT),
      appRoleId: requiredString(body, 'appRoleId', APP_ROLE_ASSIGNMENT),
    })
    return reply.code(201).send(represent(assignment, appRoleAssignmentShape))
  })

  // appRoleAssignedTo is contained (ContainsTarget in the v1.0 metadata): each assignment is addressable by key.
  app.get<{ Params: AssignmentParams }>('/servicePrincipals/:id/appRoleAssignedTo/:assignmentId', async (request) =>
    entityResponse(request, directory.assignmentTo(objectId(request.params.id), request.params.assignmentId), appRoleAssignmentShape),
  )

  app.delete<{ Params: AssignmentParams }>('/servicePrincipals/:id/appRoleAssignedTo/:assignmentId', async (request, reply) => {
    directory.removeAssignment(objectId(request.params.id), request.params.assignmentId)
    return reply.code(204).send()
  })
}
