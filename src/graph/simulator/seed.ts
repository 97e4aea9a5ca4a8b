// The sandbox directory: fixed ids that the sandbox policy file and the tests reference.
import { MICROSOFT_GRAPH_APP_ID } from '../graph-gateway.js'
import { guidToBytes } from '../app-role-assignment-id.js'
import type { AppRoleAssignmentRecord, AppRoleRecord, GroupRecord, ServicePrincipalRecord, SignInActivityRecord, UserRecord } from './state.js'

export const DEFAULT_TENANT_DOMAIN = 'sandbox.onmicrosoft.com'

export const SEED = {
  tenantId: 'c0ffee00-0000-4000-8000-000000000001',
  tenantDomain: DEFAULT_TENANT_DOMAIN,
  groups: {
    developers: 'd0000000-0000-4000-8000-000000000001',
    marketing: 'd0000000-0000-4000-8000-000000000002',
    /** Role-assignable: guestgate may never change its members. */
    financeAdmins: 'd0000000-0000-4000-8000-000000000003',
    /** Dynamic membership: members cannot be added or removed. */
    allPartners: 'd0000000-0000-4000-8000-000000000004',
  },
  apps: {
    docuSign: {
      id: 'a0000000-0000-4000-8000-000000000001',
      appId: 'b0000000-0000-4000-8000-000000000001',
      roles: {
        sender: 'e0000000-0000-4000-8000-000000000011',
        viewer: 'e0000000-0000-4000-8000-000000000012',
        admin: 'e0000000-0000-4000-8000-000000000013',
        /** Disabled. */
        legacy: 'e0000000-0000-4000-8000-000000000014',
        /** Application-only: never assignable to a user. */
        sync: 'e0000000-0000-4000-8000-000000000015',
      },
    },
    jira: {
      id: 'a0000000-0000-4000-8000-000000000002',
      appId: 'b0000000-0000-4000-8000-000000000002',
      roles: {
        user: 'e0000000-0000-4000-8000-000000000021',
        admin: 'e0000000-0000-4000-8000-000000000022',
      },
    },
    microsoftGraph: {
      id: 'a0000000-0000-4000-8000-000000000003',
      appId: MICROSOFT_GRAPH_APP_ID,
      // Graph's real application permission (app role) ids (https://learn.microsoft.com/en-us/graph/permissions-reference).
      roles: {
        userInviteAll: '09850681-111b-4a89-9bed-3f2cae46d706',
        userReadAll: 'df021288-bdef-4463-88db-98f22de89214',
        userReadWriteAll: '741f803b-c850-494e-b5df-cde7c675a1ca',
        groupMemberReadAll: '98830695-27a2-44f7-8c18-0c3ebc9698f6',
        groupMemberReadWriteAll: 'dbaae8cf-10b5-4b86-a4a1-f871c94c6695',
        applicationReadAll: '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30',
        applicationReadWriteAll: '1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9',
        appRoleAssignmentReadWriteAll: '06b708a9-e830-4db3-a914-8e69da51d44f',
        directoryReadAll: '7ab1d382-f21e-4acd-a863-ba3e13f7da61',
        directoryReadWriteAll: '19dbc75e-c2e2-444c-a770-ec69d8559fc7',
        roleManagementReadWriteDirectory: '9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8',
        auditLogReadAll: 'b0afded3-3588-46d8-8b3d-9842eff778da',
      },
    },
    guestgate: {
      id: 'a0000000-0000-4000-8000-000000000004',
      appId: 'b0000000-0000-4000-8000-000000000004',
      roles: {
        guestsInvite: 'e0000000-0000-4000-8000-000000000041',
        guestsManage: 'e0000000-0000-4000-8000-000000000042',
        groupsManageMembers: 'e0000000-0000-4000-8000-000000000043',
        appsAssignRoles: 'e0000000-0000-4000-8000-000000000044',
        auditRead: 'e0000000-0000-4000-8000-000000000045',
      },
    },
  },
  users: {
    adele: {
      id: 'f0000000-0000-4000-8000-000000000001',
      mail: 'adele@sandbox.onmicrosoft.com',
      displayName: 'Adele Vance',
    },
    existingGuest: {
      id: 'f0000000-0000-4000-8000-000000000002',
      mail: 'existing@fabrikam.example',
      displayName: 'Existing Guest',
      userPrincipalName: 'existing_fabrikam.example#EXT#@sandbox.onmicrosoft.com',
    },
  },
} as const

/**
 * guestgate's own app registration as the tenant holds it: which Graph application permissions
 * were granted to its service principal (app role assignments on Microsoft Graph's).
 * - well-configured: exactly what guestgate needs (docs/doctor.md), plus AuditLog.Read.All;
 * - mis-configured: GroupMember.ReadWrite.All missing, Directory.ReadWrite.All granted too.
 */
export type AppRegistrationSeed = 'well-configured' | 'mis-configured'

export const APP_REGISTRATION_SEEDS: readonly AppRegistrationSeed[] = ['well-configured', 'mis-configured']

const { roles: graphRoles } = SEED.apps.microsoftGraph
const WELL_CONFIGURED_GRANTS = [
  graphRoles.userInviteAll, graphRoles.userReadWriteAll, graphRoles.groupMemberReadWriteAll,
  graphRoles.applicationReadAll, graphRoles.appRoleAssignmentReadWriteAll, graphRoles.auditLogReadAll,
]
const GRANTS: Record<AppRegistrationSeed, string[]> = {
  'well-configured': WELL_CONFIGURED_GRANTS,
  'mis-configured': [...WELL_CONFIGURED_GRANTS.filter((id) => id !== graphRoles.groupMemberReadWriteAll), graphRoles.directoryReadWriteAll],
}

/** Seeded objects carry fixed timestamps so that runs are comparable. */
const SEEDED_AT = '2024-01-15T09:00:00Z'

export interface SeedData {
  users: UserRecord[]
  groups: GroupRecord[]
  /** [groupId, userId] pairs. */
  memberships: Array<[string, string]>
  servicePrincipals: ServicePrincipalRecord[]
  /** guestgate's own service principal's grants of Graph permissions. */
  appRoleAssignments: AppRoleAssignmentRecord[]
}

/** An interactive, successful sign-in at `at`. */
const signedIn = (at: string, requestId: string): SignInActivityRecord => ({
  lastSignInDateTime: at,
  lastSignInRequestId: requestId,
  lastNonInteractiveSignInDateTime: null,
  lastNonInteractiveSignInRequestId: null,
  lastSuccessfulSignInDateTime: at,
  lastSuccessfulSignInRequestId: requestId,
})

/** Fresh records (safe to mutate) for a directory whose verified domain is tenantDomain. */
export function seedData(tenantDomain: string = DEFAULT_TENANT_DOMAIN, appRegistration: AppRegistrationSeed = 'well-configured'): SeedData {
  const { adele, existingGuest } = SEED.users
  const adeleMail = `adele@${tenantDomain}`
  const users: UserRecord[] = [
    {
      id: adele.id,
      accountEnabled: true,
      companyName: null,
      createdDateTime: SEEDED_AT,
      creationType: null,
      displayName: adele.displayName,
      externalUserState: null,
      externalUserStateChangeDateTime: null,
      givenName: 'Adele',
      identities: [{ signInType: 'userPrincipalName', issuer: tenantDomain, issuerAssignedId: adeleMail }],
      mail: adeleMail,
      otherMails: [],
      proxyAddresses: [`SMTP:${adeleMail}`],
      signInActivity: signedIn('2024-06-03T07:45:00Z', 'a1d3e0f0-0000-4000-8000-000000000001'),
      surname: 'Vance',
      userPrincipalName: adeleMail,
      userType: 'Member',
      signInSessionsValidFromDateTime: null,
    },
    {
      id: existingGuest.id,
      accountEnabled: true,
      companyName: null,
      createdDateTime: SEEDED_AT,
      creationType: 'Invitation',
      displayName: existingGuest.displayName,
      externalUserState: 'Accepted',
      externalUserStateChangeDateTime: '2024-01-16T10:30:00Z',
      givenName: null,
      identities: [{ signInType: 'federated', issuer: 'ExternalAzureAD', issuerAssignedId: null }],
      mail: existingGuest.mail,
      otherMails: [],
      proxyAddresses: [`SMTP:${existingGuest.mail}`],
      signInActivity: signedIn('2024-01-16T10:30:00Z', 'a1d3e0f0-0000-4000-8000-000000000002'),
      surname: null,
      userPrincipalName: `existing_fabrikam.example#EXT#@${tenantDomain}`,
      userType: 'Guest',
      signInSessionsValidFromDateTime: null,
    },
  ]

  const securityGroup = (id: string, displayName: string): GroupRecord => ({
    id,
    displayName,
    groupTypes: [],
    isAssignableToRole: false,
    mail: null,
    mailEnabled: false,
    membershipRule: null,
    securityEnabled: true,
  })
  const groups: GroupRecord[] = [
    securityGroup(SEED.groups.developers, 'Developers'),
    securityGroup(SEED.groups.marketing, 'Marketing'),
    { ...securityGroup(SEED.groups.financeAdmins, 'Finance Admins'), isAssignableToRole: true },
    {
      ...securityGroup(SEED.groups.allPartners, 'All Partners'),
      groupTypes: ['DynamicMembership'],
      membershipRule: '(user.userType -eq "Guest")',
    },
  ]

  const role = (id: string, value: string, displayName: string, allowedMemberTypes: string[], isEnabled = true): AppRoleRecord => ({
    allowedMemberTypes,
    description: `${displayName} role.`,
    displayName,
    id,
    isEnabled,
    origin: 'Application',
    value,
  })
  const { docuSign, jira, microsoftGraph, guestgate } = SEED.apps
  const servicePrincipal = (
    ids: { id: string; appId: string },
    displayName: string,
    appRoles: AppRoleRecord[],
    appRoleAssignmentRequired: boolean,
  ): ServicePrincipalRecord => ({
    id: ids.id,
    accountEnabled: true,
    appId: ids.appId,
    appRoleAssignmentRequired,
    appRoles,
    displayName,
    servicePrincipalType: 'Application',
  })
  const userAndApp = ['User', 'Application']
  const graphPermission = (id: string, value: string, displayName: string) => role(id, value, displayName, ['Application'])
  const servicePrincipals: ServicePrincipalRecord[] = [
    servicePrincipal(docuSign, 'DocuSign', [
      role(docuSign.roles.sender, 'DocuSign.Sender', 'DocuSign Sender', ['User']),
      role(docuSign.roles.viewer, 'DocuSign.Viewer', 'DocuSign Viewer', ['User']),
      role(docuSign.roles.admin, 'DocuSign.Admin', 'DocuSign Admin', ['User']),
      role(docuSign.roles.legacy, 'DocuSign.Legacy', 'DocuSign Legacy', ['User'], false),
      role(docuSign.roles.sync, 'DocuSign.Sync', 'DocuSign Sync', ['Application']),
    ], true),
    servicePrincipal(jira, 'Jira', [
      role(jira.roles.user, 'User', 'User', ['User']),
      role(jira.roles.admin, 'Admin', 'Admin', ['User']),
    ], true),
    servicePrincipal(microsoftGraph, 'Microsoft Graph', [
      graphPermission(microsoftGraph.roles.userInviteAll, 'User.Invite.All', 'Invite guest users to the organization'),
      graphPermission(microsoftGraph.roles.userReadAll, 'User.Read.All', 'Read all users\' full profiles'),
      graphPermission(microsoftGraph.roles.userReadWriteAll, 'User.ReadWrite.All', 'Read and write all users\' full profiles'),
      graphPermission(microsoftGraph.roles.groupMemberReadAll, 'GroupMember.Read.All', 'Read all group memberships'),
      graphPermission(microsoftGraph.roles.groupMemberReadWriteAll, 'GroupMember.ReadWrite.All', 'Read and write all group memberships'),
      graphPermission(microsoftGraph.roles.applicationReadAll, 'Application.Read.All', 'Read all applications'),
      graphPermission(microsoftGraph.roles.applicationReadWriteAll, 'Application.ReadWrite.All', 'Read and write all applications'),
      graphPermission(microsoftGraph.roles.appRoleAssignmentReadWriteAll, 'AppRoleAssignment.ReadWrite.All', 'Manage app permission grants and app role assignments'),
      role(microsoftGraph.roles.directoryReadAll, 'Directory.Read.All', 'Read directory data', userAndApp),
      graphPermission(microsoftGraph.roles.directoryReadWriteAll, 'Directory.ReadWrite.All', 'Read and write directory data'),
      graphPermission(microsoftGraph.roles.roleManagementReadWriteDirectory, 'RoleManagement.ReadWrite.Directory', 'Read and write all directory RBAC settings'),
      graphPermission(microsoftGraph.roles.auditLogReadAll, 'AuditLog.Read.All', 'Read all audit log data'),
    ], false),
    servicePrincipal(guestgate, 'guestgate', [
      role(guestgate.roles.guestsInvite, 'Guests.Invite', 'Invite guests', userAndApp),
      role(guestgate.roles.guestsManage, 'Guests.Manage', 'Manage guests', userAndApp),
      role(guestgate.roles.groupsManageMembers, 'Groups.ManageMembers', 'Manage group members', userAndApp),
      role(guestgate.roles.appsAssignRoles, 'Apps.AssignRoles', 'Assign app roles', userAndApp),
      role(guestgate.roles.auditRead, 'Audit.Read', 'Read the audit log', userAndApp),
    ], true),
  ]

  const grant = (appRoleId: string): AppRoleAssignmentRecord => ({
    id: Buffer.concat([guidToBytes(guestgate.id), guidToBytes(appRoleId)]).toString('base64url'),
    appRoleId,
    createdDateTime: SEEDED_AT,
    principalDisplayName: 'guestgate',
    principalId: guestgate.id,
    principalType: 'ServicePrincipal',
    resourceDisplayName: 'Microsoft Graph',
    resourceId: microsoftGraph.id,
  })
  return {
    users,
    groups,
    memberships: [[SEED.groups.marketing, existingGuest.id]],
    servicePrincipals,
    appRoleAssignments: GRANTS[appRegistration].map(grant),
  }
}
