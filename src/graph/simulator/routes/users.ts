// Users: list and read (with OData options, signInActivity on request), update accountEnabled,
// revoke sign-in sessions, delete (cascades to memberships, assignments and sponsorships), the
// user's side of group memberships and app role assignments, and its sponsors.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { graphErrors } from '../graph-error-bodies.js'
import { collectionResponse, entityResponse, mixedCollectionResponse, type MixedItem } from '../odata-query.js'
import { appRoleAssignmentShape, groupShape, userShape, type ResourceShape } from '../representations.js'
import { objectId, readBody, referencedObjectId } from '../request-input.js'
import type { SimulatedDirectory } from '../state.js'

interface UserParams {
  id: string
}

interface SponsorParams extends UserParams {
  sponsorId: string
}

/**
 * signInActivity needs an Entra ID P1/P2 licence, and with it a page holds at most 500 users
 * (https://learn.microsoft.com/en-us/graph/throttling-limits: "use $top=500"; older docs said 120;
 * the simulator clamps to 500).
 */
const SIGN_IN_ACTIVITY_PAGE_CAP = 500

function asksForSignInActivity(request: FastifyRequest): boolean {
  return Object.entries(request.query as Record<string, unknown>).some(([key, value]) =>
    ['$select', '$filter'].includes(key.toLowerCase()) && /signInActivity/i.test(String(value)))
}

// Users the app can change; other user properties are real but not modelled here.
const USER_UPDATE = { accountEnabled: 'Edm.Boolean' } as const

export const userRoutes: FastifyPluginAsync<{ directory: SimulatedDirectory }> = async (app, { directory }) => {
  // Without the licence Graph refuses any read of signInActivity (graph-lifecycle-facts.md §2).
  app.addHook('preHandler', async (request) => {
    if (request.method === 'GET' && asksForSignInActivity(request) && !directory.premiumLicence) throw graphErrors.premiumLicenceRequired()
  })

  app.get('/users', async (request) =>
    collectionResponse(request, [...directory.users.values()], userShape, asksForSignInActivity(request) ? { pageCap: SIGN_IN_ACTIVITY_PAGE_CAP } : {}),
  )

  app.get<{ Params: UserParams }>('/users/:id', async (request) =>
    entityResponse(request, directory.referenceUser(objectId(request.params.id)), userShape),
  )

  // https://learn.microsoft.com/en-us/graph/api/user-update: 204 No Content.
  app.patch<{ Params: UserParams }>('/users/:id', async (request, reply) => {
    const id = objectId(request.params.id)
    // A real user property the simulator does not update is refused as such, not as unknown.
    for (const name of Object.keys(typeof request.body === 'object' && request.body !== null ? request.body : {})) {
      if ((userShape.properties as readonly string[]).includes(name) && !(name in USER_UPDATE)) throw graphErrors.unsupportedQueryOption(`PATCH of ${name}`)
    }
    const body = readBody(request.body, 'microsoft.graph.user', USER_UPDATE)
    if (typeof body.accountEnabled === 'boolean') directory.setAccountEnabled(id, body.accountEnabled)
    else directory.referenceUser(id)
    return reply.code(204).send()
  })

  // https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions: 200 with an Edm.Boolean
  // today (a known issue), 204 as documented (directory.revokeSignInSessionsAnswer).
  app.post<{ Params: UserParams }>('/users/:id/revokeSignInSessions', async (request, reply) => {
    directory.revokeSignInSessions(objectId(request.params.id))
    if (directory.revokeSignInSessionsAnswer === 'no-content') return reply.code(204).send()
    return { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean', value: true }
  })

  app.get<{ Params: UserParams }>('/users/:id/sponsors', async (request) => {
    const items: MixedItem[] = directory.sponsorObjectsOf(objectId(request.params.id)).map((record) => ({
      record,
      shape: (directory.groups.has(record.id) ? groupShape : userShape) as ResourceShape<object>,
    }))
    return mixedCollectionResponse(request, items, [userShape, groupShape] as Array<ResourceShape<object>>)
  })

  // https://learn.microsoft.com/en-us/graph/api/user-post-sponsors: a user or a group, by reference; 204.
  app.post<{ Params: UserParams }>('/users/:id/sponsors/$ref', async (request, reply) => {
    directory.addSponsor(objectId(request.params.id), referencedObjectId(request.body, ['directoryObjects', 'users', 'groups']))
    return reply.code(204).send()
  })

  // https://learn.microsoft.com/en-us/graph/api/user-delete-sponsors: with /$ref only the relationship goes.
  app.delete<{ Params: SponsorParams }>('/users/:id/sponsors/:sponsorId/$ref', async (request, reply) => {
    directory.removeSponsor(objectId(request.params.id), objectId(request.params.sponsorId))
    return reply.code(204).send()
  })

  // Without /$ref Graph deletes the sponsor OBJECT itself (the documented caution): reproduced.
  app.delete<{ Params: SponsorParams }>('/users/:id/sponsors/:sponsorId', async (request, reply) => {
    directory.deleteSponsorObject(objectId(request.params.id), objectId(request.params.sponsorId))
    return reply.code(204).send()
  })

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
