import { Type, type Static } from '@sinclair/typebox'
import type { AppRole, AppRoleAssignment, DirectoryGroup, ServicePrincipal } from '../graph/graph-gateway.js'

const NullableString = Type.Union([Type.String(), Type.Null()])

export const GroupSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  displayName: Type.String(),
  description: NullableString,
  isAssignableToRole: Type.Boolean({ description: 'Role-assignable groups are never managed through guestgate' }),
  isDynamic: Type.Boolean({ description: 'Dynamic groups get their members from a rule, not from guestgate' }),
}, { $id: 'Group', additionalProperties: false })
export type Group = Static<typeof GroupSchema>
export const GroupRef = Type.Unsafe<Group>(Type.Ref('Group'))

export const toGroup = (g: DirectoryGroup): Group => ({
  id: g.id, displayName: g.displayName, description: g.description, isAssignableToRole: g.isAssignableToRole, isDynamic: g.isDynamic,
})

export const AppSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Service principal id (the appId of these routes)' }),
  applicationId: Type.String({ format: 'uuid', description: 'Application (client) id of the app registration' }),
  displayName: Type.String(),
}, { $id: 'App', additionalProperties: false })
export type App = Static<typeof AppSchema>
export const toApp = (sp: ServicePrincipal): App => ({ id: sp.id, applicationId: sp.appId, displayName: sp.displayName })

export const AppRoleSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  value: NullableString,
  displayName: Type.String(),
  description: NullableString,
}, { $id: 'AppRole', additionalProperties: false })
export type AppRoleBody = Static<typeof AppRoleSchema>
export const toAppRole = (r: AppRole): AppRoleBody => ({ id: r.id, value: r.value, displayName: r.displayName, description: r.description })

export const AppRoleAssignmentSchema = Type.Object({
  id: Type.String({ description: 'Opaque assignment id from Graph' }),
  appId: Type.String({ format: 'uuid', description: 'Service principal id of the application' }),
  appDisplayName: NullableString,
  appRoleId: Type.String({ format: 'uuid' }),
  appRole: NullableString,
  principalId: Type.String({ format: 'uuid' }),
  principalDisplayName: NullableString,
  createdAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
}, { $id: 'AppRoleAssignment', additionalProperties: false })
export type AppRoleAssignmentBody = Static<typeof AppRoleAssignmentSchema>
export const AppRoleAssignmentRef = Type.Unsafe<AppRoleAssignmentBody>(Type.Ref('AppRoleAssignment'))

export const toAssignment = (a: AppRoleAssignment, roleValue: string | null = null): AppRoleAssignmentBody => ({
  id: a.id, appId: a.resourceId, appDisplayName: a.resourceDisplayName, appRoleId: a.appRoleId, appRole: roleValue,
  principalId: a.principalId, principalDisplayName: a.principalDisplayName, createdAt: a.createdDateTime,
})
