// The simulated directory: records use Graph's property names so that a record IS its
// full Graph representation, and the directory rules (idempotency errors, refusals,
// replication lag) live here rather than in the routes.
import { randomBytes, randomUUID } from 'node:crypto'
import { guidToBytes } from '../app-role-assignment-id.js'
import { resetRedemptionAddressProblem } from '../graph-gateway.js'
import { GraphError, graphErrors } from './graph-error-bodies.js'
import { userShape } from './representations.js'
import { matchesMembershipRule, MembershipRuleError, parseMembershipRule, type MembershipRule } from './membership-rule.js'
import { seedData, type AppRegistrationSeed } from './seed.js'

export interface ObjectIdentityRecord {
  signInType: string
  issuer: string
  issuerAssignedId: string | null
}

/** https://learn.microsoft.com/en-us/graph/api/resources/signinactivity */
export interface SignInActivityRecord {
  lastSignInDateTime: string | null
  lastSignInRequestId: string | null
  lastNonInteractiveSignInDateTime: string | null
  lastNonInteractiveSignInRequestId: string | null
  lastSuccessfulSignInDateTime: string | null
  lastSuccessfulSignInRequestId: string | null
}

export interface UserRecord {
  id: string
  accountEnabled: boolean
  companyName: string | null
  createdDateTime: string
  creationType: string | null
  displayName: string
  externalUserState: 'PendingAcceptance' | 'Accepted' | null
  externalUserStateChangeDateTime: string | null
  givenName: string | null
  identities: ObjectIdentityRecord[]
  mail: string | null
  otherMails: string[]
  proxyAddresses: string[]
  /** Only on $select, and only with an Entra ID P1/P2 licence; null for users who never signed in. */
  signInActivity: SignInActivityRecord | null
  surname: string | null
  userPrincipalName: string
  userType: 'Member' | 'Guest'
  /** Not a property the simulator returns: when revokeSignInSessions last ran. */
  signInSessionsValidFromDateTime: string | null
}

export interface GroupRecord {
  id: string
  displayName: string
  groupTypes: string[]
  isAssignableToRole: boolean
  mail: string | null
  mailEnabled: boolean
  membershipRule: string | null
  securityEnabled: boolean
}

export interface AppRoleRecord {
  allowedMemberTypes: string[]
  description: string | null
  displayName: string
  id: string
  isEnabled: boolean
  origin: string
  value: string | null
}

export interface ServicePrincipalRecord {
  id: string
  accountEnabled: boolean
  appId: string
  appRoleAssignmentRequired: boolean
  appRoles: AppRoleRecord[]
  displayName: string
  servicePrincipalType: string
}

export interface AppRoleAssignmentRecord {
  id: string
  appRoleId: string
  createdDateTime: string
  principalDisplayName: string
  principalId: string
  principalType: 'User' | 'ServicePrincipal' | 'Group'
  resourceDisplayName: string
  resourceId: string
}

export interface InvitedUserMessageInfoRecord {
  ccRecipients: Array<{ emailAddress: { address: string | null; name: string | null } }>
  customizedMessageBody: string | null
  messageLanguage: string | null
}

export interface InvitationRecord {
  id: string
  inviteRedeemUrl: string
  invitedUserDisplayName: string | null
  invitedUserEmailAddress: string
  invitedUserMessageInfo: InvitedUserMessageInfoRecord
  invitedUserType: string
  inviteRedirectUrl: string
  resetRedemption: boolean
  sendInvitationMessage: boolean
  status: string
  invitedUser: { id: string }
}

/** An invitation e-mail the simulated directory sent (Graph keeps no such list: the simulator's outbox). */
export interface SentEmailRecord {
  id: string
  invitationId: string
  invitedUserId: string
  to: string
  cc: string[]
  inviteRedeemUrl: string
  /** What the guest reads; null when Graph leaves the custom message out (app-only callers). */
  customizedMessageBody: string | null
  messageLanguage: string | null
  resetRedemption: boolean
  sentDateTime: string
}

/** The whole directory as JSON: /_simulator/state, and the sandbox's state file. */
export interface DirectorySnapshot {
  users: UserRecord[]
  groups: GroupRecord[]
  /** group id -> direct member ids (assigned members; dynamic groups evaluate their rule). */
  memberships: Record<string, string[]>
  servicePrincipals: ServicePrincipalRecord[]
  appRoleAssignments: AppRoleAssignmentRecord[]
  invitations: InvitationRecord[]
  sentEmails: SentEmailRecord[]
  /** user id -> sponsor ids */
  sponsors: Record<string, string[]>
}

export interface NewInvitation {
  invitedUserEmailAddress: string
  inviteRedirectUrl: string
  invitedUserDisplayName?: string
  invitedUserType: 'Guest' | 'Member'
  sendInvitationMessage: boolean
  invitedUserMessageInfo: InvitedUserMessageInfoRecord
  resetRedemption: boolean
  /** Re-invite this user rather than look the email up. */
  invitedUserId?: string
  /** The caller holds an app-only token (no delegated user): Graph leaves the custom message out of the e-mail. */
  appOnly: boolean
  /** invitedUserSponsors: users or groups to sponsor a new guest (at most 5). */
  sponsorIds?: string[]
}

export interface NewAppRoleAssignment {
  principalId: string
  resourceId: string
  appRoleId: string
}

/** Where a request names a user: its URL path, a member reference, or an assignment's principalId. */
export type UserReference = 'path' | 'member' | 'body'

/** "You can assign a maximum of five sponsors to a single guest user." (https://learn.microsoft.com/en-us/entra/external-id/b2b-sponsors) */
export const MAX_SPONSORS = 5

const EMPTY_SIGN_IN_ACTIVITY: SignInActivityRecord = {
  lastSignInDateTime: null, lastSignInRequestId: null,
  lastNonInteractiveSignInDateTime: null, lastNonInteractiveSignInRequestId: null,
  lastSuccessfulSignInDateTime: null, lastSuccessfulSignInRequestId: null,
}

/** The role id Graph uses for "default access" on apps that declare no app roles. */
const DEFAULT_ACCESS_ROLE_ID = '00000000-0000-0000-0000-000000000000'

/** Graph writes timestamps to the second. */
export const graphNow = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')

export class SimulatedDirectory {
  readonly users = new Map<string, UserRecord>()
  readonly groups = new Map<string, GroupRecord>()
  /** group id -> ids of its direct (user) members */
  /** group id -> ids of its assigned (user) members; dynamic groups keep theirs in `rules` */
  readonly memberships = new Map<string, Set<string>>()
  /** dynamic group id -> its parsed membershipRule */
  private readonly rules = new Map<string, MembershipRule>()
  readonly servicePrincipals = new Map<string, ServicePrincipalRecord>()
  readonly assignments = new Map<string, AppRoleAssignmentRecord>()
  readonly invitations: InvitationRecord[] = []
  readonly outbox: SentEmailRecord[] = []

  private replicationLag = 0
  /** object id -> how many more references answer "not found" */
  private readonly unreplicated = new Map<string, number>()

  /** user id -> ids of its sponsors (users or groups), in the order they were added */
  readonly sponsors = new Map<string, string[]>()
  /** Entra ID P1/P2: without it Graph refuses signInActivity. */
  premiumLicence = true

  constructor(
    readonly tenantId: string,
    readonly tenantDomain: string,
    /** Which grants guestgate's own service principal holds in the seed; reset() may change it. */
    public appRegistration: AppRegistrationSeed = 'well-configured',
  ) {
    this.reset()
  }

  /** Back to the seed, in place: references to the maps stay valid. */
  reset(): void {
    const seed = seedData(this.tenantDomain, this.appRegistration)
    const memberships: Record<string, string[]> = {}
    for (const [groupId, userId] of seed.memberships) (memberships[groupId] ??= []).push(userId)
    this.restore({
      users: seed.users,
      groups: seed.groups,
      memberships,
      servicePrincipals: seed.servicePrincipals,
      appRoleAssignments: seed.appRoleAssignments,
      invitations: [],
      sentEmails: [],
      sponsors: {},
    })
    this.premiumLicence = true
  }

  /** A deep copy of everything the directory holds. */
  snapshot(): DirectorySnapshot {
    return structuredClone({
      users: [...this.users.values()],
      groups: [...this.groups.values()],
      memberships: Object.fromEntries([...this.groups.keys()].map((groupId) => [groupId, this.membersOf(groupId).map((user) => user.id)])),
      servicePrincipals: [...this.servicePrincipals.values()],
      appRoleAssignments: [...this.assignments.values()],
      invitations: this.invitations,
      sentEmails: this.outbox,
      sponsors: Object.fromEntries(this.sponsors),
    })
  }

  /** Replaces everything with a snapshot (in place); replication lag starts over. */
  restore(snapshot: DirectorySnapshot): void {
    const copy = structuredClone(snapshot)
    for (const collection of [this.users, this.groups, this.memberships, this.rules, this.servicePrincipals, this.assignments, this.sponsors, this.unreplicated]) {
      collection.clear()
    }
    this.replicationLag = 0
    for (const user of copy.users) this.users.set(user.id, user)
    for (const group of copy.groups) this.addGroup(group, copy.memberships[group.id] ?? [])
    for (const sp of copy.servicePrincipals) this.servicePrincipals.set(sp.id, sp)
    for (const assignment of copy.appRoleAssignments) this.assignments.set(assignment.id, assignment)
    this.invitations.splice(0, this.invitations.length, ...copy.invitations)
    this.outbox.splice(0, this.outbox.length, ...copy.sentEmails)
    for (const [userId, sponsorIds] of Object.entries(copy.sponsors ?? {})) this.sponsors.set(userId, sponsorIds)
  }

  /** Objects created from now on stay invisible to the next `requests` references. */
  setReplicationLag(requests: number): void {
    this.replicationLag = requests
  }

  /**
   * The user a request references by id (path, member reference, principal). While it is
   * not yet replicated the reference fails and uses up one of its remaining misses.
   */
  referenceUser(id: string, from: UserReference = 'path'): UserRecord {
    const misses = this.unreplicated.get(id)
    if (misses !== undefined) {
      if (misses <= 1) this.unreplicated.delete(id)
      else this.unreplicated.set(id, misses - 1)
      // A path reference is an unknown resource; a body reference fails the write as a 400.
      // https://learn.microsoft.com/en-us/graph/api/group-post-members (graph-facts.md, "not yet replicated")
      if (from === 'member') throw graphErrors.addedReferencesMissing()
      if (from === 'body') throw graphErrors.referencedObjectsMissing()
      throw graphErrors.notFound(id)
    }
    const user = this.users.get(id)
    if (!user) throw graphErrors.notFound(id)
    return user
  }

  getGroup(id: string): GroupRecord {
    const group = this.groups.get(id)
    if (!group) throw graphErrors.notFound(id)
    return group
  }

  getServicePrincipal(id: string): ServicePrincipalRecord {
    const sp = this.servicePrincipals.get(id)
    if (!sp) throw graphErrors.notFound(id)
    return sp
  }

  /** Graph matches mail, otherMails and userPrincipalName without regard to case. */
  findUserByEmail(email: string): UserRecord | undefined {
    const wanted = email.toLowerCase()
    for (const user of this.users.values()) {
      const addresses = [user.mail, user.userPrincipalName, ...user.otherMails]
      if (addresses.some((address) => address?.toLowerCase() === wanted)) return user
    }
    return undefined
  }

  /**
   * Creates the guest, or re-invites the user who already has that address (as Graph does: the
   * way to resend). invitedUser names the user instead only for a redemption reset, or to invite
   * an internal member to B2B collaboration (https://learn.microsoft.com/en-us/entra/external-id/invite-internal-users).
   */
  invite(input: NewInvitation): InvitationRecord {
    // invitedUserSponsors: checked before anything is created (at most five, each must exist).
    const sponsorIds = [...new Set(input.sponsorIds ?? [])]
    if (sponsorIds.length > MAX_SPONSORS) throw graphErrors.tooManySponsors()
    const sponsorObjects = sponsorIds.map((id) => this.sponsorObject(id))
    const existing = input.invitedUserId !== undefined ? this.invitedUser(input) : this.findUserByEmail(input.invitedUserEmailAddress)
    const user = existing ?? this.createInvitedUser(input)
    // Sponsors at invitation time are for a new guest (b2b-sponsors); for an existing user: SILENT, not applied.
    if (!existing && sponsorObjects.length > 0) this.sponsors.set(user.id, sponsorObjects.map((o) => o.id))
    if (existing && input.invitedUserId !== undefined) {
      // Reset (or the member's first B2B invitation): the same object must redeem (again).
      existing.externalUserState = 'PendingAcceptance'
      existing.externalUserStateChangeDateTime = graphNow()
    }
    const invitation: InvitationRecord = {
      id: randomUUID(),
      inviteRedeemUrl: this.redeemUrl(user.id),
      invitedUserDisplayName: input.invitedUserDisplayName ?? null,
      invitedUserEmailAddress: input.invitedUserEmailAddress,
      invitedUserMessageInfo: input.invitedUserMessageInfo,
      invitedUserType: input.invitedUserType,
      inviteRedirectUrl: input.inviteRedirectUrl,
      resetRedemption: input.resetRedemption,
      sendInvitationMessage: input.sendInvitationMessage,
      status: 'PendingAcceptance',
      invitedUser: { id: user.id },
    }
    this.invitations.push(invitation)
    if (input.sendInvitationMessage) this.sendInvitationEmail(invitation, input.appOnly)
    return invitation
  }

  /**
   * The e-mail Graph sends for an invitation. When an application invites (app-only token), the
   * custom message is not in it, although the 201 answer echoes invitedUserMessageInfo:
   * the Entra B2B troubleshooting page says the customized message is left out when an app's
   * service principal invites (https://learn.microsoft.com/en-us/entra/external-id/troubleshoot;
   * graph-facts.md; microsoftgraph/microsoft-graph-docs issue 1095).
   */
  private sendInvitationEmail(invitation: InvitationRecord, appOnly: boolean): void {
    const info = invitation.invitedUserMessageInfo
    this.outbox.push({
      id: randomUUID(),
      invitationId: invitation.id,
      invitedUserId: invitation.invitedUser.id,
      to: invitation.invitedUserEmailAddress,
      cc: info.ccRecipients.flatMap((recipient) => recipient.emailAddress.address ?? []),
      inviteRedeemUrl: invitation.inviteRedeemUrl,
      customizedMessageBody: appOnly ? null : info.customizedMessageBody,
      messageLanguage: info.messageLanguage,
      resetRedemption: invitation.resetRedemption,
      sentDateTime: graphNow(),
    })
  }

  /**
   * The user invitedUser names, and whether this request may name it
   * (https://learn.microsoft.com/en-us/graph/api/resources/invitation: invitedUser is read-only
   * except that resetRedemption requires invitedUser/id; invitation-post example 2).
   */
  private invitedUser(input: NewInvitation): UserRecord {
    const user = this.referenceUser(input.invitedUserId as string, 'body')
    if (!input.resetRedemption) {
      // Only an internal member may be named without a reset (its B2B invitation); a guest's
      // invitation is sent again by its address. Graph's wording for this refusal: SILENT.
      if (user.userType === 'Guest') throw graphErrors.invitedUserReadOnly()
      return user
    }
    // A reset of a member: SILENT in the docs (notes §9.4); refused, guestgate checks userType itself.
    if (user.userType !== 'Guest') throw graphErrors.resetOfMember()
    if (resetRedemptionAddressProblem(user, input.invitedUserEmailAddress) !== null) throw graphErrors.resetAddressMismatch()
    return user
  }

  deleteUser(id: string): void {
    this.referenceUser(id)
    this.users.delete(id)
    for (const members of this.memberships.values()) members.delete(id)
    for (const assignment of this.assignments.values()) {
      if (assignment.principalId === id) this.assignments.delete(assignment.id)
    }
    this.sponsors.delete(id)
    for (const [userId, sponsorIds] of this.sponsors) this.sponsors.set(userId, sponsorIds.filter((sponsorId) => sponsorId !== id))
  }

  // Sponsors: https://learn.microsoft.com/en-us/graph/api/user-list-sponsors, user-post-sponsors,
  // user-delete-sponsors; at most five (https://learn.microsoft.com/en-us/entra/external-id/b2b-sponsors).

  /** A sponsor can be a user or a group. */
  sponsorObjectsOf(userId: string): Array<UserRecord | GroupRecord> {
    const user = this.referenceUser(userId)
    return (this.sponsors.get(user.id) ?? []).flatMap((id) => this.users.get(id) ?? this.groups.get(id) ?? [])
  }

  addSponsor(userId: string, sponsorId: string): void {
    const user = this.referenceUser(userId)
    const sponsor = this.sponsorObject(sponsorId)
    const current = this.sponsors.get(user.id) ?? []
    if (current.includes(sponsor.id)) throw graphErrors.sponsorAlreadyExists()
    if (current.length >= MAX_SPONSORS) throw graphErrors.tooManySponsors()
    this.sponsors.set(user.id, [...current, sponsor.id])
  }

  removeSponsor(userId: string, sponsorId: string): void {
    const user = this.referenceUser(userId)
    const current = this.sponsors.get(user.id) ?? []
    if (!current.includes(sponsorId)) throw graphErrors.sponsorDoesNotExist()
    this.sponsors.set(user.id, current.filter((id) => id !== sponsorId))
  }

  /**
   * DELETE /users/{id}/sponsors/{sponsorId} WITHOUT /$ref addresses the sponsor object itself:
   * Graph deletes it when the app may manage that object type (User.ReadWrite.All: a user
   * sponsor is deleted), otherwise 403 (a group: no Group.ReadWrite.All). The documented
   * danger of user-delete-sponsors, reproduced so a test can show guestgate never does it.
   */
  deleteSponsorObject(userId: string, sponsorId: string): void {
    const user = this.referenceUser(userId)
    if (!(this.sponsors.get(user.id) ?? []).includes(sponsorId)) throw graphErrors.notFound(sponsorId)
    if (!this.users.has(sponsorId)) throw graphErrors.insufficientPrivileges()
    this.deleteUser(sponsorId)
  }

  /** PATCH /users/{id} {accountEnabled}: https://learn.microsoft.com/en-us/graph/api/user-update */
  setAccountEnabled(userId: string, enabled: boolean): void {
    this.referenceUser(userId).accountEnabled = enabled
  }

  /**
   * How POST /users/{id}/revokeSignInSessions answers. The documentation says 204 No Content, and
   * Graph's known issues say it answers 200 with an Edm.Boolean (always true) instead
   * (https://learn.microsoft.com/en-us/graph/known-issues, "Revoke sign-in sessions returns wrong
   * HTTP code"): 200 by default, as Graph does today; 204 for the day it is fixed.
   */
  revokeSignInSessionsAnswer: 'boolean' | 'no-content' = 'boolean'

  /** https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions */
  revokeSignInSessions(userId: string): void {
    this.referenceUser(userId).signInSessionsValidFromDateTime = graphNow()
  }

  /** Control API: the guest opens the redemption link and signs in. */
  redeem(userId: string): UserRecord {
    const user = this.referenceUser(userId)
    if (user.externalUserState !== 'PendingAcceptance') throw new GraphError(409, 'Conflict', `User ${user.id} has no pending invitation to redeem.`)
    if (!user.accountEnabled) throw new GraphError(409, 'Conflict', `User ${user.id} is disabled and cannot sign in.`)
    const now = graphNow()
    const requestId = randomUUID()
    user.externalUserState = 'Accepted'
    user.externalUserStateChangeDateTime = now
    user.signInActivity = {
      lastSignInDateTime: now,
      lastSignInRequestId: requestId,
      lastNonInteractiveSignInDateTime: user.signInActivity?.lastNonInteractiveSignInDateTime ?? null,
      lastNonInteractiveSignInRequestId: user.signInActivity?.lastNonInteractiveSignInRequestId ?? null,
      lastSuccessfulSignInDateTime: now,
      lastSuccessfulSignInRequestId: requestId,
    }
    return user
  }

  /** Control API: set (or clear) what Entra recorded of a user's sign-ins. */
  setSignInActivity(userId: string, activity: Partial<SignInActivityRecord> | null): UserRecord {
    const user = this.referenceUser(userId)
    user.signInActivity = activity === null ? null : { ...EMPTY_SIGN_IN_ACTIVITY, ...user.signInActivity, ...activity }
    return user
  }

  private sponsorObject(id: string): UserRecord | GroupRecord {
    const group = this.groups.get(id)
    return group ?? this.referenceUser(id, 'body')
  }

  /** A group with its assigned members; a dynamic group's members come from its rule instead. */
  addGroup(group: GroupRecord, members: readonly string[] = []): void {
    const rule = isDynamic(group) ? compileRule(group) : undefined
    this.groups.set(group.id, group)
    if (rule) this.rules.set(group.id, rule)
    this.memberships.set(group.id, new Set(rule ? [] : members))
  }

  /** Direct members: assigned ones, or for a dynamic group every user its rule matches. */
  membersOf(groupId: string): UserRecord[] {
    const group = this.getGroup(groupId)
    return [...this.users.values()].filter((user) => this.isMember(group, user))
  }

  groupsOf(userId: string): GroupRecord[] {
    const user = this.referenceUser(userId)
    return [...this.groups.values()].filter((group) => this.isMember(group, user))
  }

  private isMember(group: GroupRecord, user: UserRecord): boolean {
    const rule = this.rules.get(group.id)
    return rule ? matchesMembershipRule(user, rule) : this.memberships.get(group.id)?.has(user.id) === true
  }

  addMember(groupId: string, userId: string): void {
    const group = this.getGroup(groupId)
    this.refuseMembershipChange(group, graphErrors.dynamicGroupAdd)
    const user = this.referenceUser(userId, 'member')
    const members = this.membersSet(group.id)
    if (members.has(user.id)) throw graphErrors.memberAlreadyExists()
    members.add(user.id)
  }

  removeMember(groupId: string, userId: string): void {
    const group = this.getGroup(groupId)
    this.refuseMembershipChange(group, graphErrors.dynamicGroupRemove)
    const user = this.referenceUser(userId)
    if (!this.membersSet(group.id).delete(user.id)) throw graphErrors.memberDoesNotExist()
  }

  assignmentsTo(servicePrincipalId: string): AppRoleAssignmentRecord[] {
    const sp = this.getServicePrincipal(servicePrincipalId)
    return [...this.assignments.values()].filter((assignment) => assignment.resourceId === sp.id)
  }

  /** The app role assignments a service principal holds (as principal): e.g. its Graph permissions. */
  assignmentsHeldBy(servicePrincipalId: string): AppRoleAssignmentRecord[] {
    const sp = this.getServicePrincipal(servicePrincipalId)
    return [...this.assignments.values()].filter((assignment) => assignment.principalId === sp.id)
  }

  /**
   * GET /users/{id}/appRoleAssignments: the user's own assignments and those of the groups the
   * user is a direct member of ("This operation also returns app roles assigned to groups that the
   * user is a direct member of", https://learn.microsoft.com/en-us/graph/api/user-list-approleassignments).
   */
  assignmentsOf(userId: string): AppRoleAssignmentRecord[] {
    const user = this.referenceUser(userId)
    const principals = new Set([user.id, ...this.groupsOf(user.id).map((group) => group.id)])
    return [...this.assignments.values()].filter((assignment) => principals.has(assignment.principalId))
  }

  /**
   * POST /servicePrincipals/{id}/appRoleAssignedTo: the principal is a user or a group
   * (https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto: "a user,
   * a group, or a client service principal"); a group's assignment gives the role to its members.
   */
  assignAppRole(servicePrincipalId: string, input: NewAppRoleAssignment): AppRoleAssignmentRecord {
    const sp = this.getServicePrincipal(servicePrincipalId)
    if (input.resourceId.toLowerCase() !== sp.id) throw graphErrors.resourceMismatch(input.resourceId)
    const group = this.groups.get(input.principalId.toLowerCase())
    const user = group ?? this.referenceUser(input.principalId.toLowerCase(), 'body')
    const appRoleId = input.appRoleId.toLowerCase()
    const isDefaultAccess = appRoleId === DEFAULT_ACCESS_ROLE_ID && sp.appRoles.length === 0
    if (!isDefaultAccess) {
      const role = sp.appRoles.find((candidate) => candidate.id === appRoleId)
      if (!role || !role.isEnabled) throw graphErrors.appRoleNotFound(sp.appId)
      if (!role.allowedMemberTypes.includes('User')) throw graphErrors.appRoleNotForUsers(role.value ?? role.id, sp.appId)
    }
    const duplicate = [...this.assignments.values()].some(
      (assignment) => assignment.resourceId === sp.id && assignment.principalId === user.id && assignment.appRoleId === appRoleId,
    )
    if (duplicate) throw graphErrors.assignmentExists()
    const assignment: AppRoleAssignmentRecord = {
      id: assignmentId(user.id),
      appRoleId,
      createdDateTime: graphNow(),
      principalDisplayName: user.displayName,
      principalId: user.id,
      principalType: group ? 'Group' : 'User',
      resourceDisplayName: sp.displayName,
      resourceId: sp.id,
    }
    this.assignments.set(assignment.id, assignment)
    return assignment
  }

  /** One assignment of the app by its id; a missing one is Graph's 404. */
  assignmentTo(servicePrincipalId: string, id: string): AppRoleAssignmentRecord {
    const sp = this.getServicePrincipal(servicePrincipalId)
    const assignment = this.assignments.get(id)
    if (!assignment || assignment.resourceId !== sp.id) throw graphErrors.notFound(id)
    return assignment
  }

  removeAssignment(servicePrincipalId: string, id: string): void {
    this.assignments.delete(this.assignmentTo(servicePrincipalId, id).id)
  }

  private createInvitedUser(input: NewInvitation): UserRecord {
    const email = input.invitedUserEmailAddress
    const [localPart = email, domain = ''] = email.split('@')
    const now = graphNow()
    const userPrincipalName = `${localPart}_${domain}#EXT#@${this.tenantDomain}`
    const user: UserRecord = {
      id: randomUUID(),
      accountEnabled: true,
      companyName: null,
      createdDateTime: now,
      creationType: 'Invitation',
      displayName: input.invitedUserDisplayName ?? localPart,
      externalUserState: 'PendingAcceptance',
      externalUserStateChangeDateTime: now,
      givenName: null,
      identities: [{ signInType: 'userPrincipalName', issuer: this.tenantDomain, issuerAssignedId: userPrincipalName }],
      mail: email,
      otherMails: [],
      proxyAddresses: [`SMTP:${email}`],
      signInActivity: null,
      surname: null,
      userPrincipalName,
      userType: input.invitedUserType,
      signInSessionsValidFromDateTime: null,
    }
    this.users.set(user.id, user)
    if (this.replicationLag > 0) this.unreplicated.set(user.id, this.replicationLag)
    return user
  }

  private redeemUrl(userId: string): string {
    const ticket = randomBytes(24).toString('base64url')
    const target = `https://invitations.microsoft.com/redeem/?tenant=${this.tenantId}&user=${userId}&ticket=${ticket}&ver=2.0`
    return `https://login.microsoftonline.com/redeem?rd=${encodeURIComponent(target)}`
  }

  private membersSet(groupId: string): Set<string> {
    let members = this.memberships.get(groupId)
    if (!members) {
      members = new Set()
      this.memberships.set(groupId, members)
    }
    return members
  }

  /** We never hold RoleManagement.ReadWrite.Directory, and dynamic groups manage themselves. */
  private refuseMembershipChange(group: GroupRecord, dynamicError: () => GraphError): void {
    if (group.isAssignableToRole) throw graphErrors.insufficientPrivileges()
    if (isDynamic(group)) throw dynamicError()
    if (isMailEnabledNotUnified(group)) throw graphErrors.mailEnabledGroupReadOnly()
  }
}

const isDynamic = (group: GroupRecord): boolean => group.groupTypes.includes('DynamicMembership')

/** Mail-enabled security groups and distribution lists (mail-enabled, not Microsoft 365): Exchange
 *  owns their members, Graph only reads them. */
const isMailEnabledNotUnified = (group: GroupRecord): boolean => group.mailEnabled && !group.groupTypes.includes('Unified')

/** The group's rule, refused when it names a property a user does not have or uses syntax we do not evaluate. */
function compileRule(group: GroupRecord): MembershipRule {
  if (!group.membershipRule) throw new MembershipRuleError(`dynamic group ${group.id} has no membershipRule`)
  const rule = parseMembershipRule(group.membershipRule)
  const properties = (node: MembershipRule): string[] =>
    node.kind === 'compare' ? [node.property] : node.kind === 'not' ? properties(node.operand) : [...properties(node.left), ...properties(node.right)]
  for (const property of properties(rule)) {
    if (!(userShape.properties as readonly string[]).includes(property)) throw new MembershipRuleError(`user.${property} is not a property the simulator models (rule of ${group.id})`)
  }
  return rule
}

/** Graph's assignment ids: 43 base64url characters that start with the principal's id (app-role-assignment-id.ts). */
function assignmentId(principalId: string): string {
  return Buffer.concat([guidToBytes(principalId), randomBytes(16)]).toString('base64url')
}
