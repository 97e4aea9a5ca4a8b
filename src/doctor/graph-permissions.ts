// The Microsoft Graph application permissions guestgate needs, may use, and must not hold.
// Least privileged per call, from the Graph reference pages linked beside each
// (https://learn.microsoft.com/en-us/graph/permissions-reference lists them all).

export interface GraphPermission {
  value: string
  /** What guestgate does with it. */
  why: string
}

export const REQUIRED_GRAPH_PERMISSIONS: readonly GraphPermission[] = [
  // https://learn.microsoft.com/en-us/graph/api/invitation-post
  { value: 'User.Invite.All', why: 'invite guests and send invitations again' },
  // https://learn.microsoft.com/en-us/graph/api/user-delete, invitation-post (resetRedemption),
  // user-post-sponsors, user-update (accountEnabled), user-revokesigninsessions; it also reads users.
  { value: 'User.ReadWrite.All', why: 'read guests, delete them, reset redemption, sponsors, disable accounts, revoke sessions' },
  // https://learn.microsoft.com/en-us/graph/api/group-post-members, group-delete-members
  { value: 'GroupMember.ReadWrite.All', why: 'add guests to groups and remove them' },
  // https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto
  { value: 'AppRoleAssignment.ReadWrite.All', why: 'give guests app roles and take them away' },
  // https://learn.microsoft.com/en-us/graph/api/serviceprincipal-get (apps, their roles, these grants)
  { value: 'Application.Read.All', why: 'read enterprise applications, their roles and these grants' },
]

export const OPTIONAL_GRAPH_PERMISSIONS: readonly GraphPermission[] = [
  // https://learn.microsoft.com/en-us/graph/api/resources/signinactivity (also needs Entra ID P1 or P2)
  { value: 'AuditLog.Read.All', why: 'read guests\' sign-in activity to find inactive ones (needs Entra ID P1 or P2)' },
]

/**
 * Grants that make guestgate's credential far stronger than it needs: each one lets whoever holds
 * the secret take over directory roles, every object, or every application's credentials.
 */
export const DANGEROUS_GRAPH_PERMISSIONS: readonly GraphPermission[] = [
  { value: 'RoleManagement.ReadWrite.Directory', why: 'assigns any directory role, Global Administrator included' },
  { value: 'Directory.ReadWrite.All', why: 'writes almost every object in the directory' },
  { value: 'Application.ReadWrite.All', why: 'adds credentials to any application, so acts as any of them' },
]
