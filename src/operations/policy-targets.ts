// Builds the policy question for each kind of request, from the request alone (first pass,
// no Graph call) and then with what Graph knows about the target (second pass). The real routes
// and the what-if check use these same functions, so the what-if answer is what the route does.
import type { FastifyInstance } from 'fastify'
import type { Caller } from './caller.js'
import { conflict, notFound, ProblemError } from '../errors.js'
import { GraphRequestError, type AppRole, type DirectoryGroup, type DirectoryUser, type ServicePrincipal } from '../graph/graph-gateway.js'
import type { AuthorizeOptions } from '../plugins/authorization.js'
import type { PolicyAction, PolicyContext, PolicyDecision, PolicyTarget } from '../policies/types.js'
import { identityOf } from '../routes/request-identity.js'
import { appRoleLabel, matchAppRoles } from '../policies/app-roles.js'
import { invitationContext } from './limits.js'

export interface PolicyQuestion {
  target: PolicyTarget
  context?: PolicyContext
}

export type InvitationTarget = Extract<PolicyTarget, { type: 'Invitation' }>

/** Invitations count against the requester's and the tenant's hourly limits (limits.ts). */
export async function invitationQuestion(app: FastifyInstance, request: Caller, email: string, redirectUrl: string): Promise<PolicyQuestion & { target: InvitationTarget }> {
  const context = await invitationContext(app, request.authenticatedPrincipal())
  return { target: { type: 'Invitation', email, redirectUrl }, context }
}

const notFoundAs = (detail: string) => (error: unknown) => {
  if (error instanceof GraphRequestError && error.status === 404) throw notFound(detail)
  throw error
}

export function loadUser(app: FastifyInstance, request: Caller, id: string): Promise<DirectoryUser> {
  return app.graphOps.read(identityOf(request), (graph, ctx) => graph.getUser(id, ctx)).catch(notFoundAs(`No guest with id ${id}`))
}

export type GuestAction = 'read' | 'resend' | 'resetRedemption' | 'delete' | 'revokeAccess' | 'manageSponsors' | 'blockSignIn' | 'revokeSessions'

/**
 * The question of every action on one guest, asked the same way by its route and by the what-if:
 * the user must exist (404) and be a guest (a member is 409 not_a_guest for delete, 404 for the
 * others, which never show members), then the policy decides. `askFor` gets the user, so an
 * enforcing ask can name it in the audit row of a denial.
 */
export async function checkGuestAction(app: FastifyInstance, request: Caller, askFor: (user: DirectoryUser) => PolicyAsk,
  action: GuestAction, id: string): Promise<{ decision: PolicyDecision; user: DirectoryUser }> {
  const user = await loadUser(app, request, id)
  if (user.userType !== 'Guest') {
    if (action === 'delete') throw conflict('not_a_guest', `User ${id} is a member of the directory, not a guest; guestgate never deletes members.`)
    throw notFound(`No guest with id ${id}`)
  }
  return { decision: await askFor(user)(action, { type: 'Guest', id }), user }
}

/** The guest, or 404: members of the directory are not guests and are not shown or changed here. */
export async function loadGuest(app: FastifyInstance, request: Caller, id: string): Promise<DirectoryUser> {
  const user = await loadUser(app, request, id)
  if (user.userType !== 'Guest') throw notFound(`No guest with id ${id}`)
  return user
}

export function loadGroup(app: FastifyInstance, request: Caller, groupId: string): Promise<DirectoryGroup> {
  return app.graphOps.read(identityOf(request), (graph, ctx) => graph.getGroup(groupId, ctx)).catch(notFoundAs(`No group with id ${groupId}`))
}

export function loadApp(app: FastifyInstance, request: Caller, appId: string): Promise<ServicePrincipal> {
  return app.graphOps.read(identityOf(request), (graph, ctx) => graph.getServicePrincipal(appId, ctx)).catch(notFoundAs(`No enterprise application with id ${appId}`))
}

/** Mail-enabled security groups and distribution lists (mail-enabled, not Microsoft 365): "Only
 *  Microsoft 365 and security groups can be managed through the Microsoft Graph groups API.
 *  Mail-enabled and distribution groups are read-only"
 *  (https://learn.microsoft.com/en-us/graph/api/resources/groups-overview). */
export const isMailManaged = (group: Pick<DirectoryGroup, 'mailEnabled' | 'groupTypes'>): boolean => group.mailEnabled && !group.groupTypes.includes('Unified')

export const groupMembershipTarget = (groupId: string, group?: DirectoryGroup): Extract<PolicyTarget, { type: 'GroupMembership' }> => ({
  type: 'GroupMembership',
  groupId,
  ...(group ? { groupName: group.displayName, isAssignableToRole: group.isAssignableToRole, isDynamic: group.isDynamic, isMailManaged: isMailManaged(group) } : {}),
})

/** Roles a user (and so a guest) can hold: enabled, and allowed for users. */
export const assignableRoles = (sp: ServicePrincipal): AppRole[] =>
  sp.appRoles.filter((r) => r.isEnabled && r.allowedMemberTypes.includes('User'))

/** How a request names an app role: appRole (its value, display name or id) or appRoleId. */
export interface AppRoleAsk {
  appRole?: string
  appRoleId?: string
}

/**
 * The role a request names, by the one resolver (policies/app-roles.ts): value, display name
 * (ignoring case) or id. A role that is unknown, ambiguous, disabled or for applications only
 * is a 422 that lists the roles a guest can hold, each by name and value.
 */
export function resolveAppRole(sp: ServicePrincipal, ask: AppRoleAsk, field: string): AppRole {
  const reference = ask.appRoleId ?? ask.appRole ?? ''
  const matches = matchAppRoles(sp.appRoles, reference)
  const valid = assignableRoles(sp)
  if (matches.length === 1 && valid.includes(matches[0]!)) return matches[0]!
  const validList = valid.length > 0 ? valid.map(appRoleLabel).join(', ') : 'none'
  const role = matches[0]
  const problem = matches.length > 1
    ? `"${reference}" names ${matches.length} roles of ${sp.displayName} (${matches.map(appRoleLabel).join(', ')}); give the value or the id`
    : role === undefined ? `${sp.displayName} has no app role "${reference}" (by value, display name or id)`
      : !role.isEnabled ? `${appRoleLabel(role)} is disabled on ${sp.displayName}`
        : `${appRoleLabel(role)} can be held by applications only, not by users`
  throw new ProblemError(422, 'app_role_not_assignable', 'App role cannot be assigned', `${problem}. Roles a guest can hold: ${validList}.`,
    { errors: [{ field, message: `must name one of: ${validList}` }] })
}

/** The policy question of an app role: with Graph's answer (the application and its roles) when
 *  known; without a role, whether some role of the application may be granted at all. */
export const appRoleTarget = (appId: string, role?: AppRole, sp?: ServicePrincipal): Extract<PolicyTarget, { type: 'AppRoleAssignment' }> => ({
  type: 'AppRoleAssignment',
  appId,
  ...(sp ? { applicationId: sp.appId, appDisplayName: sp.displayName, appRoles: sp.appRoles } : {}),
  ...(role ? { appRoleId: role.id, appRoleDisplayName: role.displayName, ...(role.value !== null ? { appRoleValue: role.value } : {}) } : {}),
})

/** Asks the policy one question: enforcing (403 and audited when denied) or only evaluating (what-if). */
export type PolicyAsk = (action: PolicyAction, target: PolicyTarget, context?: PolicyContext) => Promise<PolicyDecision>

export const enforcing = (request: Caller, options: Omit<AuthorizeOptions, 'context'> = {}): PolicyAsk =>
  (action, target, context) => request.authorize(action, target, { ...options, context })

export const evaluating = (request: Caller): PolicyAsk =>
  async (action, target, context) => request.evaluate(action, target, context)

/** First from the request alone (a group the role may not manage costs no Graph call), then
 *  with the group's kind from Graph (role-assignable and dynamic groups are refused). */
export async function checkGroupMembership(app: FastifyInstance, request: Caller, ask: PolicyAsk,
  action: 'addMember' | 'removeMember' | 'read', groupId: string): Promise<{ decision: PolicyDecision; group?: DirectoryGroup }> {
  const first = await ask(action, groupMembershipTarget(groupId))
  if (!first.allowed) return { decision: first }
  const group = await loadGroup(app, request, groupId)
  return { decision: await ask(action, groupMembershipTarget(groupId, group)), group }
}

/** The same two passes for an app role: whether the policy lets the caller grant some role of
 *  this application (no Graph call for an application it may not touch), then the role resolved
 *  against the application's roles from Graph (422 when none fits; Microsoft Graph's and
 *  guestgate's own applications are refused). Single route, onboarding and what-if all ask this. */
export async function checkAppRole(app: FastifyInstance, request: Caller, ask: PolicyAsk,
  action: 'assign' | 'unassign', appId: string, role: AppRoleAsk, field: string,
): Promise<{ decision: PolicyDecision; app?: ServicePrincipal; role?: AppRole }> {
  const first = await ask(action, appRoleTarget(appId))
  if (!first.allowed) return { decision: first }
  const sp = await loadApp(app, request, appId)
  const resolved = resolveAppRole(sp, role, field)
  return { decision: await ask(action, appRoleTarget(appId, resolved, sp)), app: sp, role: resolved }
}
