// The one seam between guestgate and Microsoft Graph. Our own types, never the SDK's:
// routes and use cases see these, the SDK implementation and the simulator speak Graph.
//
// Reads and writes are split on purpose: code outside the audited operation runner only
// ever receives a GraphReader, so a Graph write cannot happen without its audit intent row.

/** Carried on every call; correlationId is sent to Graph as client-request-id. */
export interface GraphCallContext {
  correlationId: string
  /** A dry run: writes are not sent but recorded here (what would be sent), reads go to Graph. */
  plan?: PlannedGraphCall[]
}

/** A write a dry run would have sent: method, path under Graph's version, body. */
export interface PlannedGraphCall {
  method: string
  path: string
  body?: unknown
}

/** In a dry run, the id of an object Graph would create (the new guest): unknown until Graph answers. */
export const PLANNED_OBJECT_ID = '00000000-0000-0000-0000-000000000000'

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
  /** Further addresses of the user; a redemption reset may use mail or one of these. */
  otherMails: string[]
  /** false: the account is disabled and cannot sign in. */
  accountEnabled: boolean
  userPrincipalName: string | null
  /** 'Guest' or 'Member'; kept a string, since Graph may answer a value added later. */
  userType: string
  creationType: string | null
  createdDateTime: string | null
  /** An ExternalUserState ('PendingAcceptance', 'Accepted') as far as guestgate knows; Graph may answer others. */
  externalUserState: string | null
  externalUserStateChangeDateTime: string | null
}

/**
 * A new invitation, or a resend: POST /invitations again with the guest's address, and Graph
 * re-invites the user it finds by that address (graph-facts.md: there is no resend API).
 * invitedUser is not sent: Graph documents it as settable only with resetRedemption
 * (https://learn.microsoft.com/en-us/graph/api/resources/invitation).
 */
export interface InvitationRequest {
  invitedUserEmailAddress: string
  inviteRedirectUrl: string
  invitedUserDisplayName?: string
  sendInvitationMessage: boolean
  /**
   * Sent as invitedUserMessageInfo.customizedMessageBody and echoed in Graph's answer, but NOT in
   * the e-mail when an application (app-only token, as guestgate's own) invites: Entra leaves
   * it out (https://learn.microsoft.com/en-us/entra/external-id/troubleshoot).
   */
  customizedMessageBody?: string
  /**
   * invitedUserSponsors: up to five users or groups who sponsor the new guest
   * (https://learn.microsoft.com/en-us/entra/external-id/b2b-sponsors). Pass them explicitly:
   * whom Entra stamps as sponsor when an application invites without any is not documented.
   */
  sponsorIds?: string[]
}

/**
 * Reset a guest's redemption (https://learn.microsoft.com/en-us/graph/api/invitation-post,
 * example 2): the same user object (id, UPN, group memberships, app role assignments) is invited
 * again and must redeem anew, possibly with another address. Needs User.ReadWrite.All.
 */
export interface ResetRedemptionRequest {
  invitedUserId: string
  /** The address to redeem with: must already be the user's mail or one of its otherMails (resetRedemptionAddressProblem). */
  invitedUserEmailAddress: string
  inviteRedirectUrl: string
  sendInvitationMessage: boolean
  customizedMessageBody?: string
}

/** invitation.status as Graph documents it (https://learn.microsoft.com/en-us/graph/api/resources/invitation). */
export const GRAPH_INVITATION_STATUSES = ['PendingAcceptance', 'Completed', 'InProgress', 'Error'] as const
export type GraphInvitationStatus = (typeof GRAPH_INVITATION_STATUSES)[number]

export interface Invitation {
  id: string
  inviteRedeemUrl: string
  invitedUserEmailAddress: string
  invitedUserDisplayName: string | null
  invitedUserType: string | null
  inviteRedirectUrl: string
  status: GraphInvitationStatus
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
  mailEnabled: boolean
  securityEnabled: boolean
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

/**
 * What Entra recorded of a user's sign-ins (https://learn.microsoft.com/en-us/graph/api/resources/signinactivity):
 * interactive attempts, non-interactive attempts, and successful sign-ins of either kind (the last
 * since December 2023 only). Updates can take hours.
 */
export interface SignInActivity {
  lastSignInDateTime: string | null
  lastNonInteractiveSignInDateTime: string | null
  lastSuccessfulSignInDateTime: string | null
}

export interface GuestActivity extends DirectoryUser {
  /** null: never signed in (or not since April 2020); measure inactivity from createdDateTime then. */
  signInActivity: SignInActivity | null
}

/** A sponsor: a user or a group (Graph's @odata.type tells). */
export interface Sponsor {
  id: string
  /** 'user' or 'group' from Graph's @odata.type; any other type as Graph names it ('directoryObject' when it does not say). */
  type: string
  displayName: string | null
  mail: string | null
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
  /** The service principal of an application (client) id in this tenant, or null. */
  findServicePrincipalByAppId(appId: string, ctx: GraphCallContext): Promise<GraphResult<ServicePrincipal | null>>
  /** What a service principal holds as principal: for an app, its application permissions (Graph's among them). */
  listServicePrincipalAppRoleAssignments(servicePrincipalId: string, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment[]>>
  listServicePrincipals(query: SearchQuery, ctx: GraphCallContext): Promise<GraphResult<Page<ServicePrincipal>>>
  listAppRoleAssignedTo(servicePrincipalId: string, query: { principalId?: string }, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment[]>>
  /** The user's own app role assignments (not those the user holds through a group). */
  listUserAppRoleAssignments(userId: string, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment[]>>

  // Settle reads: after an ambiguous failure (isAmbiguousFailure) they tell whether the write
  // happened. Each costs what the guest has, never what the tenant or the app has.

  /** Whether the user is a direct member of the group. A missing user is a 404 error, not false. */
  isGroupMember(groupId: string, userId: string, ctx: GraphCallContext): Promise<GraphResult<boolean>>
  /** The user's own app role assignments on one resource (service principal), not a group's. */
  listUserAppRoleAssignmentsOn(userId: string, resourceId: string, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment[]>>
  /** One assignment of the app, or null when it does not exist (any more). */
  getAppRoleAssignment(servicePrincipalId: string, assignmentId: string, ctx: GraphCallContext): Promise<GraphResult<AppRoleAssignment | null>>

  // Lifecycle (pending guests: listGuests with state PendingAcceptance; invitations never expire,
  // so their age is createdDateTime / externalUserStateChangeDateTime, compared by the caller).

  /** The user's sponsors (users and groups). */
  listSponsors(userId: string, ctx: GraphCallContext): Promise<GraphResult<Sponsor[]>>
  /**
   * signInSessionsValidFromDateTime: tokens and session cookies issued before it are invalid;
   * revokeSignInSessions moves it to now (https://learn.microsoft.com/en-us/graph/api/resources/user).
   * The settle read of a revocation. null: never revoked.
   */
  getSignInSessionsValidFrom(userId: string, ctx: GraphCallContext): Promise<GraphResult<string | null>>
  /**
   * Guests with their sign-in activity, a page at a time (at most 500 per page). Needs
   * AuditLog.Read.All and an Entra ID P1/P2 licence: without it Graph answers 403
   * (isPremiumLicenceMissing). Graph limits these reads to 10 per minute.
   */
  listGuestsWithSignInActivity(query: PageRequest, ctx: GraphCallContext): Promise<GraphResult<Page<GuestActivity>>>
}

export interface GraphGateway extends GraphReader {
  invite(request: InvitationRequest, ctx: GraphCallContext): Promise<GraphResult<Invitation>>
  /** Graph's 400 when the address is not on the user: check resetRedemptionAddressProblem first. */
  resetRedemption(request: ResetRedemptionRequest, ctx: GraphCallContext): Promise<GraphResult<Invitation>>
  deleteUser(id: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** Graph's "already exist" 400 is changed=false, not an error. */
  addGroupMember(groupId: string, userId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** Graph's "do not exist" 400/404 for a non-member is changed=false. */
  removeGroupMember(groupId: string, userId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** A duplicate assignment returns the existing one with changed=false. */
  assignAppRole(servicePrincipalId: string, input: { principalId: string; appRoleId: string }, ctx: GraphCallContext): Promise<GraphResult<Change<AppRoleAssignment>>>
  removeAppRoleAssignment(servicePrincipalId: string, assignmentId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** A sponsor already there is changed=false. At most five (Graph's 400 beyond). */
  addSponsor(userId: string, sponsor: { id: string; type: 'user' | 'group' }, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** Only the relationship, always through /$ref; a non-sponsor is changed=false. */
  removeSponsor(userId: string, sponsorId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** PATCH accountEnabled. Graph does not say whether it changed: changed is always true. */
  setAccountEnabled(userId: string, enabled: boolean, ctx: GraphCallContext): Promise<GraphResult<Change>>
  /** Invalidates the user's refresh tokens and session cookies (sign-in needed again). */
  revokeSignInSessions(userId: string, ctx: GraphCallContext): Promise<GraphResult<Change>>
}

export {
  GraphRequestError,
  InvalidPageTokenError,
  isAmbiguousFailure,
  isNotYetReplicated,
  isPremiumLicenceMissing,
  type GraphFailureCode,
} from './graph-errors.js'

/**
 * Graph's reason (its own words) why this address cannot be used to reset the user's redemption,
 * or null when it can: the address must already be the user's mail or one of its otherMails
 * (https://learn.microsoft.com/en-us/entra/external-id/reset-redemption-status). Shared with
 * the simulator, so guestgate's 422 and Graph's 400 can never disagree.
 */
export function resetRedemptionAddressProblem(user: { mail: string | null; otherMails: readonly string[] }, email: string): string | null {
  const wanted = email.toLowerCase()
  const known = [user.mail, ...user.otherMails].some((address) => address?.toLowerCase() === wanted)
  return known ? null : RESET_ADDRESS_MISMATCH
}

/** Graph's message (OBS: MicrosoftDocs/azure-docs#71825) for a reset to an address the user does not have. */
export const RESET_ADDRESS_MISMATCH =
  'The email you’re using to invite this user doesn’t match any emails on the user object. Please add this email to the user object and try again.'

/** Microsoft Graph's own application id: never a target for app role assignments. */
export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000'
