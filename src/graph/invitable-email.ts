// The one rule for "can Entra invite this address?", shared by guestgate's own input check
// (src/schemas/email-address.ts) and the Graph simulator (POST /invitations), so the two can
// never disagree and an address Graph would refuse never gets as far as an audit intent row.
//
// Graph refuses such an address with 400 "The Primary SMTP Address is an invalid value"
// (graph-facts.md; plus-addressing is not supported). The guest's userPrincipalName is made from
// the address (local_domain.example#EXT#@tenant), so its part before @ may only hold what a
// userPrincipalName may hold: A-Z a-z 0-9 ' . - _ ! # ^ ~, no leading, trailing or double dot
// (https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy#username-policies).

const LOCAL_PART = /^[A-Za-z0-9'_!#^~-]+(\.[A-Za-z0-9'_!#^~-]+)*$/
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/

/** Why Entra would refuse to invite this address, or null when it can be invited. */
export function invitableEmailProblem(email: string): string | null {
  const at = email.lastIndexOf('@')
  if (at <= 0 || at === email.length - 1) return 'must be an email address like name@example.com'
  if (email.length > 254) return 'must be at most 254 characters'
  const local = email.slice(0, at)
  const domain = email.slice(at + 1)
  if (local.includes('+')) return 'plus-addressing (name+tag@) is not supported by Entra invitations'
  if (local.includes('@')) return 'must contain one @ only'
  if (local.length > 64) return 'the part before @ must be at most 64 characters'
  if (!LOCAL_PART.test(local)) {
    return "the part before @ may only contain letters, digits and ' . - _ ! # ^ ~ (no leading, trailing or double dot): Entra refuses other characters"
  }
  if (!DOMAIN.test(domain)) return 'the domain after @ is not a valid domain name'
  return null
}
