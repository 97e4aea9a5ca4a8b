// The sandbox directory: fixed ids that the sandbox policy file and the tests reference.
import { MICROSOFT_GRAPH_APP_ID } from '../graph-gateway.js'
import type { AppRoleRecord, GroupRecord, ServicePrincipalRecord, UserRecord } from './state.js'

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
      // Graph's real app role ids.
      roles: {
        userReadWriteAll: '741f803b-c850-494e-b5df-cde7c675a1ca',
        directoryReadAll: '7ab1d382-f21e-4acd-a863-ba3e13f7da61',
        appRoleAssignmentReadWriteAll: '06b708a9-e830-4db3-a914-8e69da51d44f',
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

/** Seeded objects carry fixed timestamps so that runs are comparable. */
const SEEDED_AT = '2024-01-15T09:00:00Z'

export interface SeedData {
  users: UserRecord[]
  groups: GroupRecord[]
  /** [groupId, userId] pairs. */
  memberships: Array<[string, string]>
  servicePrincipals: ServicePrincipalRecord[]
}

/** Fresh records (safe to mutate) for a directory whose verified domain is tenantDomain. */
export function seedData(tenantDomain: string = DEFAULT_TENANT_DOMAIN): SeedData {
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
      surname: 'Vance',
      userPrincipalName: adeleMail,
      userType: 'Member',
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
      surname: null,
      userPrincipalName: `existing_fabrikam.example#EXT#@${tenantDomain}`,
      userType: 'Guest',
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
      role(microsoftGraph.roles.userReadWriteAll, 'User.ReadWrite.All', 'Read and write all users\' full profiles', ['Application']),
      role(microsoftGraph.roles.directoryReadAll, 'Directory.Read.All', 'Read directory data', userAndApp),
      role(microsoftGraph.roles.appRoleAssignmentReadWriteAll, 'AppRoleAssignment.ReadWrite.All', 'Manage app permission grants and app role assignments', ['Application']),
    ], false),
    servicePrincipal(guestgate, 'guestgate', [
      role(guestgate.roles.guestsInvite, 'Guests.Invite', 'Invite guests', userAndApp),
      role(guestgate.roles.guestsManage, 'Guests.Manage', 'Manage guests', userAndApp),
      role(guestgate.roles.groupsManageMembers, 'Groups.ManageMembers', 'Manage group members', userAndApp),
      role(guestgate.roles.appsAssignRoles, 'Apps.AssignRoles', 'Assign app roles', userAndApp),
      role(guestgate.roles.auditRead, 'Audit.Read', 'Read the audit log', userAndApp),
    ], true),
  ]

  return { users, groups, memberships: [[SEED.groups.marketing, existingGuest.id]], servicePrincipals }
}
