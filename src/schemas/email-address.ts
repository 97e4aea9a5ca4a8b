// Entra invitations accept a plain SMTP address only: Graph answers "The Primary SMTP Address
// is an invalid value" for plus-addressing and characters outside the userPrincipalName set. We
// refuse those up front, so the caller learns which field is wrong and Graph is not called at
// all. The rule itself is shared with the Graph simulator (src/graph/invitable-email.ts).
import { badRequest } from '../errors.js'
import { invitableEmailProblem } from '../graph/invitable-email.js'

export { invitableEmailProblem }

/** The address lower-cased, or a 400 naming the field and why Entra would refuse it. */
export function invitableEmail(email: string, field: string): string {
  const problem = invitableEmailProblem(email)
  if (problem) throw badRequest(`${field}: ${problem}`, [{ field, message: problem }])
  return email.toLowerCase()
}
