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
