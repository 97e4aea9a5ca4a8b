// How each simulated resource appears in Graph's JSON: its property names, which ones Graph
// returns without $select, and which ones $filter and $search accept.
import type { AppRoleAssignmentRecord, GroupRecord, ServicePrincipalRecord, UserRecord } from './state.js'

export type GraphObject = Record<string, unknown>

export interface ResourceShape<T> {
  /** OData type name, used in $select errors and @odata.type. */
  typeName: string
  /** Resource name Graph uses in $filter errors. */
  entityName: string
  /** Every property the simulator models (all are in the Graph v1.0 slice). */
  properties: ReadonlyArray<keyof T & string>
  /** What Graph returns when the request has no $select. */
  defaultProperties: ReadonlyArray<keyof T & string>
  /** Real Graph properties outside the slice: accepted by $select, never returned. */
  unmodelledProperties: readonly string[]
  /** Properties (or paths into complex properties) $filter accepts. */
  filterable: readonly string[]
  /** Of those, the ones that take ge/le/gt/lt. */
  rangeFilterable?: readonly string[]
  /** Of those, the ones no other property may join in the same $filter. */
  isolatedFilterProperties?: readonly string[]
  searchable: ReadonlyArray<keyof T & string>
}

const userProperties = [
  'id', 'accountEnabled', 'companyName', 'createdDateTime', 'creationType', 'displayName', 'externalUserState',
  'externalUserStateChangeDateTime', 'givenName', 'identities', 'mail', 'otherMails', 'proxyAddresses', 'signInActivity',
  'signInSessionsValidFromDateTime', 'surname', 'userPrincipalName', 'userType',
] as const satisfies ReadonlyArray<keyof UserRecord>

// signInActivity: returned only on $select; filterable with eq, ne, not, ge, le on its dates
// "but not with any other filterable properties" (https://learn.microsoft.com/en-us/graph/api/resources/user).
const SIGN_IN_ACTIVITY_FILTERS = [
  'signInActivity/lastSignInDateTime', 'signInActivity/lastNonInteractiveSignInDateTime', 'signInActivity/lastSuccessfulSignInDateTime',
]

export const userShape: ResourceShape<UserRecord> = {
  typeName: 'microsoft.graph.user',
  entityName: 'User',
  properties: userProperties,
  // Graph v1.0's default user properties, less those outside the slice (businessPhones, jobTitle, ...).
  defaultProperties: ['id', 'displayName', 'givenName', 'mail', 'surname', 'userPrincipalName'],
  unmodelledProperties: [],
  filterable: ['id', 'accountEnabled', 'creationType', 'displayName', 'externalUserState', 'mail', 'otherMails', 'proxyAddresses', 'userPrincipalName', 'userType', ...SIGN_IN_ACTIVITY_FILTERS],
  rangeFilterable: SIGN_IN_ACTIVITY_FILTERS,
  isolatedFilterProperties: SIGN_IN_ACTIVITY_FILTERS,
  searchable: ['displayName', 'givenName', 'mail', 'surname', 'userPrincipalName'],
}

const groupProperties = [
  'id', 'displayName', 'groupTypes', 'isAssignableToRole', 'mail', 'mailEnabled', 'membershipRule', 'securityEnabled',
] as const satisfies ReadonlyArray<keyof GroupRecord>

export const groupShape: ResourceShape<GroupRecord> = {
  typeName: 'microsoft.graph.group',
  entityName: 'Group',
  properties: groupProperties,
  defaultProperties: groupProperties,
  unmodelledProperties: ['description'],
  filterable: ['id', 'displayName', 'groupTypes', 'isAssignableToRole', 'mail', 'mailEnabled', 'securityEnabled'],
  searchable: ['displayName', 'mail'],
}

const servicePrincipalProperties = [
  'id', 'accountEnabled', 'appId', 'appRoleAssignmentRequired', 'appRoles', 'displayName', 'servicePrincipalType',
] as const satisfies ReadonlyArray<keyof ServicePrincipalRecord>

export const servicePrincipalShape: ResourceShape<ServicePrincipalRecord> = {
  typeName: 'microsoft.graph.servicePrincipal',
  entityName: 'ServicePrincipal',
  properties: servicePrincipalProperties,
  defaultProperties: servicePrincipalProperties,
  unmodelledProperties: ['description'],
  filterable: ['id', 'accountEnabled', 'appId', 'displayName', 'servicePrincipalType'],
  searchable: ['displayName'],
}

const appRoleAssignmentProperties = [
  'id', 'appRoleId', 'createdDateTime', 'principalDisplayName', 'principalId', 'principalType', 'resourceDisplayName', 'resourceId',
] as const satisfies ReadonlyArray<keyof AppRoleAssignmentRecord>

export const appRoleAssignmentShape: ResourceShape<AppRoleAssignmentRecord> = {
  typeName: 'microsoft.graph.appRoleAssignment',
  entityName: 'AppRoleAssignment',
  properties: appRoleAssignmentProperties,
  defaultProperties: appRoleAssignmentProperties,
  unmodelledProperties: [],
  filterable: ['principalId', 'resourceId', 'appRoleId'],
  searchable: [],
}

/** The record as Graph would send it, restricted to `selected` (id always comes along). */
export function represent<T extends object>(record: T, shape: ResourceShape<T>, selected?: readonly string[]): GraphObject {
  const wanted = new Set<string>(selected ? ['id', ...selected] : shape.defaultProperties)
  const body: GraphObject = {}
  for (const name of shape.properties) {
    if (wanted.has(name)) body[name] = structuredClone(record[name])
  }
  return body
}
