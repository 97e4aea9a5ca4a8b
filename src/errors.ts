// Every error the API answers is one of these: RFC 9457 problem details with a stable code.
// Anything else that reaches the error handler is an internal error and shows no internals.

export interface FieldError {
  /** JSON pointer-ish location, e.g. "body/email" or "query/limit". */
  field: string
  message: string
}

export interface ProblemExtras {
  errors?: FieldError[]
  rule?: string
  reason?: string
  policyVersion?: string
  existingUserId?: string
  operationId?: string
  retryAfterSeconds?: number
  graphStatus?: number
  graphErrorCode?: string
  graphRequestId?: string
  /** Clean-up safety gate: the guests a refused run would have removed. */
  guests?: { id: string; email: string | null; displayName: string | null }[]
  maxRemovalsPerRun?: number
}

export class ProblemError extends Error {
  override readonly name = 'ProblemError'
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly extras: ProblemExtras = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
  }
}

export const problemTypeUri = (code: string) => `urn:guestgate:problem:${code}`

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new ProblemError(400, 'validation_failed', 'Request is not valid', detail, errors ? { errors } : {})

export const unauthorized = (detail: string, wwwAuthenticate: string) =>
  new ProblemError(401, 'unauthorized', 'Authentication required', detail, {}, { 'www-authenticate': wwwAuthenticate })

export const notFound = (detail: string) => new ProblemError(404, 'not_found', 'Not found', detail)

export const conflict = (code: string, detail: string, extras: ProblemExtras = {}) =>
  new ProblemError(409, code, 'Conflict', detail, extras)

export const unprocessable = (code: string, detail: string, extras: ProblemExtras = {}) =>
  new ProblemError(422, code, 'Request cannot be carried out', detail, extras)

/** `cause`: the database error, kept for logs and for the health check (never shown). */
export const databaseUnavailable = (cause?: unknown) => {
  const problem = new ProblemError(503, 'database_unavailable', 'Service unavailable',
    'The audit database cannot be reached, so nothing was done. Retry later.', { retryAfterSeconds: 5 }, { 'retry-after': '5' })
  if (cause !== undefined) problem.cause = cause
  return problem
}

/** A refusal or a check that could not be written to the audit log: nothing is answered
 *  without its row, so the caller gets this instead (fail closed). */
export const auditUnavailable = (cause?: unknown) => {
  const problem = new ProblemError(503, 'audit_unavailable', 'Service unavailable',
    'The audit log could not record this request, so it was not answered. Retry later.', { retryAfterSeconds: 5 }, { 'retry-after': '5' })
  if (cause !== undefined) problem.cause = cause
  return problem
}
