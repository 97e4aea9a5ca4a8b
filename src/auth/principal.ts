/** Who is calling, taken from a verified access token. */
export interface Principal {
  /** Object id of the caller (oid claim). */
  oid: string
  /** name, else preferred_username, else the oid. */
  name: string
  /** Tenant the token was issued in (tid claim). */
  tenantId: string
  /** App roles of guestgate's own app registration (roles claim). */
  roles: string[]
}

/** The API's roles: app roles of guestgate's app registration. */
export const API_ROLES = ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read'] as const
export type ApiRole = (typeof API_ROLES)[number]

/** The expiry scheduler's own principal: audit rows of what it takes away name it as the actor
 *  (and the original grantor in the request summary). Not a v4 GUID, so never an Entra object id. */
export const EXPIRY_PRINCIPAL_OID = '00000000-0000-0000-0000-0000000e4711'
export const expiryPrincipal = (tenantId: string): Principal =>
  ({ oid: EXPIRY_PRINCIPAL_OID, name: 'guestgate expiry scheduler', tenantId, roles: [] })
