// How an app role is named, wherever someone names one: a request body (single assignment,
// onboarding), the what-if, and the policy file's grant and revoke lists. People say "DocuSign
// Sender", code says "DocuSign.Sender", Graph says e0000000-…: all three mean the same role, and
// one function decides which role a reference means, so no path can disagree with another.

/** What a reference is matched against: a role of a service principal, as Graph declares it. */
export interface AppRoleRef {
  id: string
  value: string | null
  displayName: string
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The roles a reference names: by id (any case), else by value (exact: Graph's values are
 * case-sensitive and unique per application), else by display name (exact, ignoring case).
 * The first kind that matches wins; more than one role back means an ambiguous display name.
 */
export function matchAppRoles<R extends AppRoleRef>(roles: readonly R[], reference: string): R[] {
  if (GUID.test(reference)) {
    const id = reference.toLowerCase()
    const byId = roles.filter((r) => r.id.toLowerCase() === id)
    if (byId.length > 0) return byId
  }
  const byValue = roles.filter((r) => r.value === reference)
  if (byValue.length > 0) return byValue
  const name = reference.toLowerCase()
  return roles.filter((r) => r.displayName.toLowerCase() === name)
}

/** The one role a reference names, or undefined when it names none or several. */
export function findAppRole<R extends AppRoleRef>(roles: readonly R[], reference: string): R | undefined {
  const found = matchAppRoles(roles, reference)
  return found.length === 1 ? found[0] : undefined
}

/** How messages name a role: "DocuSign Sender (DocuSign.Sender)"; the name alone when the value
 *  says nothing more (or there is none). */
export function appRoleLabel(role: { value: string | null; displayName: string }): string {
  return role.value === null || role.value === role.displayName ? role.displayName : `${role.displayName} (${role.value})`
}
