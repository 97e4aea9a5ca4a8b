import type { FastifyInstance } from 'fastify'
import { badRequest, conflict } from '../../errors.js'
import { assignAppRole, removeAppRoleAssignment } from '../../operations/guest-access.js'
import { appRoleTarget, assignableRoles, checkAppRole, enforcing, loadApp, loadGuest, loadUser } from '../../operations/policy-targets.js'
import { toApp, toAppRole, toAssignment } from '../../schemas/directory.js'
import { checkExpiry, recordExpiry, settleGrantExpiry } from '../../operations/expiry.js'
import { readPage } from '../page-cursor.js'
import { identityOf } from '../request-identity.js'
import { createAssignment, deleteAssignment, listAppRoles, listApps, listAssignments, type CreateAssignmentBody, type ListAppsQuery } from './schemas.js'

export default async function appRoutes(app: FastifyInstance) {
  const read = { action: 'read', subject: 'App' } as const

  app.get('/', { schema: listApps, config: { authorization: read } }, async (request) => {
    const query = request.query as ListAppsQuery
    await request.authorize('read', { type: 'App' })
    const page = await readPage(query.cursor, { search: query.search, limit: query.limit }, (pageToken) =>
      app.graphOps.read(identityOf(request), (graph, ctx) => graph.listServicePrincipals({ search: query.search, top: query.limit, pageToken }, ctx)))
    return { ...page, items: page.items.map(toApp) }
  })

  app.get('/:appId/roles', { schema: listAppRoles, config: { authorization: read } }, async (request) => {
    const { appId } = request.params as { appId: string }
    await request.authorize('read', { type: 'App' })
    const sp = await loadApp(app, request, appId)
    return {
      app: toApp(sp),
      items: assignableRoles(sp).map((role) => ({
        ...toAppRole(role),
        canGrant: request.evaluate('assign', appRoleTarget(appId, role, sp)).allowed,
      })),
    }
  })

  app.get('/:appId/assignments', { schema: listAssignments, config: { authorization: read } }, async (request) => {
    const { appId } = request.params as { appId: string }
    const { principalId } = request.query as { principalId?: string }
    await request.authorize('read', { type: 'App' })
    const sp = await loadApp(app, request, appId)
    const assignments = await app.graphOps.read(identityOf(request), (graph, ctx) => graph.listAppRoleAssignedTo(appId, { principalId }, ctx))
    const valueOf = new Map(sp.appRoles.map((r) => [r.id, r.value]))
    return { items: assignments.map((a) => toAssignment(a, valueOf.get(a.appRoleId) ?? null)) }
  })

  app.post('/:appId/assignments', { schema: createAssignment, config: { authorization: { action: 'assign', subject: 'AppRoleAssignment' } } }, async (request, reply) => {
    const { appId } = request.params as { appId: string }
    const body = request.body as CreateAssignmentBody
    if ((body.appRole === undefined) === (body.appRoleId === undefined)) {
      const message = 'give exactly one of appRole (the value) or appRoleId'
      throw badRequest(`body/appRole: ${message}`, [{ field: 'body/appRole', message }])
    }
    const auditTarget = { type: 'guest', id: body.principalId }
    const expiresAt = checkExpiry(app, request, { kind: 'appRole' }, body.expiresAt, 'body/expiresAt')
    const { decision, app: sp, role } = await checkAppRole(app, request, enforcing(request, { auditTarget, summary: { appId, appRole: body.appRole ?? body.appRoleId } }),
      'assign', appId, { appRole: body.appRole, appRoleId: body.appRoleId }, body.appRole !== undefined ? 'body/appRole' : 'body/appRoleId')
    const guest = await loadGuest(app, request, body.principalId)
    const outcome = await assignAppRole(app, identityOf(request), { id: guest.id, label: guest.mail ?? guest.displayName }, sp!, role!,
      { decision, summary: expiresAt ? { expiresAt: expiresAt.toISOString() } : undefined })
    const { changed, value } = outcome.value
    // New: the date asked (or the cap). Already assigned: no date leaves its expiry alone, an
    // earlier one needs the right to unassign it (the sweep would).
    await settleGrantExpiry(app, request, { guestId: guest.id, kind: 'appRole', subject: `${sp!.id}/${role!.id}`, label: role!.value ?? role!.id,
      asked: expiresAt, changed, access: { kind: 'appRole', appId: sp!.id, appRoleId: role!.id },
      field: 'body/expiresAt', accessField: body.appRole !== undefined ? 'body/appRole' : 'body/appRoleId', auditTarget: { ...auditTarget, displayName: guest.mail ?? guest.displayName } })
    return reply.code(changed ? 201 : 200).send({ assignment: toAssignment(value, role!.value), changed, operationId: outcome.operationId })
  })

  app.delete('/:appId/assignments/:assignmentId', { schema: deleteAssignment, config: { authorization: { action: 'unassign', subject: 'AppRoleAssignment' } } }, async (request) => {
    const { appId, assignmentId } = request.params as { appId: string; assignmentId: string }
    // The app first: an id that is no enterprise application is a 404, not an assignment "already gone".
    await loadApp(app, request, appId)
    const assignment = await app.graphOps.read(identityOf(request), (graph, ctx) => graph.getAppRoleAssignment(appId, assignmentId, ctx))
    // Already gone: the end state the caller asked for, nothing to authorize or audit.
    if (!assignment) return { assignmentId, changed: false }
    const { decision, role } = await checkAppRole(app, request, enforcing(request, { auditTarget: { type: 'guest', id: assignment.principalId } }),
      'unassign', appId, { appRoleId: assignment.appRoleId }, 'params/assignmentId')
    const user = await loadUser(app, request, assignment.principalId)
    if (user.userType !== 'Guest') throw conflict('not_a_guest', `The assignment belongs to ${assignment.principalDisplayName ?? assignment.principalId}, who is not a guest; guestgate only manages guests' access.`)
    const outcome = await removeAppRoleAssignment(app, identityOf(request), { id: user.id, label: user.mail ?? user.displayName }, assignment, role?.value ?? null, { decision })
    await recordExpiry(app, request, { guestId: user.id, kind: 'appRole', subject: `${appId.toLowerCase()}/${assignment.appRoleId.toLowerCase()}`, label: role?.value ?? null, expiresAt: null })
    return { assignmentId, changed: outcome.value.changed, operationId: outcome.operationId }
  })
}
