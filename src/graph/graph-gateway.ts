// The one seam between guestgate and Microsoft Graph. Our own types, never the SDK's:
// routes and use cases see these, the SDK implementation and the simulator speak Graph.
//
// Reads and writes are split on purpose: code outside the audited operation runner only
// ever receives a GraphReader, so a Graph write cannot happen without its audit intent row.

/** Carried on every call; correlationId is sent to Graph as client-request-id. */
export interface GraphCallContext {
  correlationId: string
}

/** What Graph answered besides the payload: recorded in the audit outcome row. */
export interface GraphResult<T> {
  value: T
  /** HTTP status of the (last) Graph response. */
  status: number
  /** Graph's request-id response header, when it sent one. */
  requestId?: string
}

export type ExternalUserState = 'PendingAcceptance' | 'Accepted'

export interface DirectoryUser {
  id: string
  displayName: string | null
  mail: string | null
  userPrincipalName: string | null
  userType: 'Guest' | 'Member' | string
  creationType: string | null
  createdDateTime: string | null
  externalUserState: ExternalUserState | string | null
  externalUserStateChangeDateTime: string | null
}

export interface InvitationRequest {
  invitedUserEmailAddress: string
  inviteRedirectUrl: string
  invitedUserDisplayName?: string
  sendInvitationMessage: boolean
  customizedMessageBody?: string
  /** Re-invite an existing guest (resend): Graph needs invitedUser.id for that. */
  invitedUserId?: string
  resetRedemption?: boolean
}

export interface Invitation {
  id: string
  inviteRedeemUrl: string
  invitedUserEmailAddress: string
  invitedUserDisplayName: string | null
  invitedUserType: string | null
  inviteRedirectUrl: string
  status: string
  invitedUserId: string
}

export interface DirectoryGroup {
  id: string
  displayName: string
  description: string | null
  isAssignableToRole: boolean
  groupTypes: string[]
  membershipRule: string | null
  /** Derived: groupTypes includes DynamicMembership. */
  isDynamic: boolean
}

export interface AppRole {
  id: string
  value: string | null
  displayName: string
  description: string | null
  isEnabled: boolean
  allowedMemberTypes: string[]
}

export interface ServicePrincipal {
  id: string
  /** The application (client) id of the app registration behind this service principal. */
  appId: string
  displayName: string
  appRoles: AppRole[]
}

export interface AppRoleAssignment {
  id: string
  appRoleId: string
  principalId: string
  principalType: string | null
  principalDisplayName: string | null
  resourceId: string
  resourceDisplayName: string | null
  createdDateTime: string | null
}

export interface Page<T> {
  items: T[]
  /**
   * Opaque token for the next page (Graph's @odata.nextLink as given); absent on the last page.
   * Pass it back with the same query; a token that is no link to our Graph endpoint is refused
   * with InvalidPageTokenError before any request.
   */
  nextPageToken?: string
}

export interface PageRequest {
  /** 1..999 (Graph's bound); callers cap lower. Ignored when pageToken is given (the link carries it). */
  top: number
  pageToken?: string
}

export interface GuestQuery extends PageRequest {
  state?: ExternalUserState
  /** Email domain, e.g. partner.example. */
  domain?: string
  /** Free text matched against displayName and mail. */
  search?: string
}

export interface SearchQuery extends PageRequest {
  search?: string
}

export interface MemberQuery extends PageRequest {
  guestsOnly?: boolean
}

/** Result of an idempotent write: changed=false when Graph reported it was already so. */
export interface Change<T = undefined> {
  changed: boolean
  value: T
}

export interface GraphReader {
  /** Users whose mail, otherMails, proxyAddresses (smtp:) or userPrincipalName equal the address. */
  findUsersByEmail(email: string, ctx: GraphCallContext): Promise<GraphResult<DirectoryUser[]>>
  getUser(id: string, ctx: GraphCallContext): Promise<GraphResult<DirectoryUser>>
  listGuests(query: GuestQuery, ctx: GraphCallContext): Promise<GraphResult<Page<DirectoryUser>>>
  getGroup(id: string, ctx: GraphCallContext): Promise<GraphResult<DirectoryGroup>>
  listGroups(query: SearchQuery, ctx: GraphCallContext): Promise<GraphResult<Page<DirectoryGroup>>>
  listGroupMembers(groupId: string, query: MemberQuery, ctx: GraphCallContext): Promise<GraphResult<Page<DirectoryUser>>>
  /** Groups the user is a direct member of (memberOf, groups only). */
  listUserGroups(userId: string, ctx: GraphCallContext): Promise<GraphResult<DirectoryGroup[]>>
  getServicePrincipal(id: string, ctx: GraphCallContext): Promise<GraphResult<ServicePrincipal>>
  listServicePrincipals(query: SearchQuery, ctx: GraphCallContext): Promise<GraphResult<Page<ServicePrincipal>>>
  listAppRoleAssignedTo(servicePrincipalId: string, query: { principalId?: string }, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment[]>>
  listUserAppRoleAssignments(userId: string, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment[]>>

  // Settle reads: after an ambiguous failure (isAmbiguousFailure) they tell whether the write
  // happened. Each costs what the guest has, never what the tenant or the app has.

  /** Whether the user is a direct member of the group. A missing user is a 404 error, not false. */
  isGroupMember(groupId: string, userId: string, ctx: GraphCallContext): Promise<GraphResult<boolean>>
  /** The user's app role assignments on one resource (service principal). */
  listUserAppRoleAssignmentsOn(userId: string, resourceId: string, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment[]>>
  /** One assignment of the app, or null when it does not exist (any more). */
  getAppRoleAssignment(servicePrincipalId: string, assignmentId: string, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment | null>>
}

export interface GraphGateway extends GraphReader {
  invite(request: InvitationRequest, ctx: GraphCallContext): Promise<GraphResult<Invitation>>
  deleteUser(id: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** Graph's "already exist" 400 is changed=false, not an error. */
  addGroupMember(groupId: string, userId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** Graph's "do not exist" 400/404 for a non-member is changed=false. */
  removeGroupMember(groupId: string, userId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** A duplicate assignment returns the existing one with changed=false. */
  assignAppRole(servicePrincipalId: string, input: { principalId: string; appRoleId: string }, ctx: GraphCallContext): Promise<GraphResult<Change<AppRoleAssignment>>>
  removeAppRoleAssignment(servicePrincipalId: string, assignmentId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
}

export { GraphRequestError, InvalidPageTokenError, isAmbiguousFailure, isNotYetReplicated, type GraphFailureCode } from './graph-errors.js'

/** Microsoft Graph's own application id: never a target for app role assignments. */
export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000'
