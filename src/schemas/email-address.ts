// Entra invitations accept a plain SMTP address only: Graph answers "The Primary SMTP Address
// is an invalid value" for plus-addressing and characters outside this set. We refuse those up
// front, so the caller learns which field is wrong and Graph is not called at all.
import { badRequest } from '../errors.js'

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*\/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*\/=?^_`{|}~-]+)*$/
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/

/** Why this address cannot be invited, or null when it can. */
export function invitableEmailProblem(email: string): string | null {
  const at = email.lastIndexOf('@')
  if (at <= 0 || at === email.length - 1) return 'must be an email address like name@example.com'
  const local = email.slice(0, at)
  const domain = email.slice(at + 1)
  if (local.includes('+')) return 'plus-addressing (name+tag@) is not supported by Entra invitations'
  if (local.length > 64) return 'the part before @ must be at most 64 characters'
  if (!LOCAL_PART.test(local)) return 'the part before @ has characters Entra does not accept (or a leading, trailing or double dot)'
  if (!DOMAIN.test(domain)) return 'the domain after @ is not a valid domain name'
  return null
}

/** The address lower-cased, or a 400 naming the field and why Entra would refuse it. */
export function invitableEmail(email: string, field: string): string {
  const problem = invitableEmailProblem(email)
  if (problem) throw badRequest(`${field}: ${problem}`, [{ field, message: problem }])
  return email.toLowerCase()
}
