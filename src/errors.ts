// Every error the API answers is one of these: RFC 9457 problem details with a stable code.
// Anything else that reaches the error handler is an internal error and shows no internals.

/** Every `code` a problem body can carry: the Problem schema's enum, and the type of
 *  ProblemError.code, so a new code cannot reach a client without being listed here. */
export const PROBLEM_CODES = [
  // the request itself
  'validation_failed', 'malformed_body', 'bad_request', 'body_too_large', 'uri_too_long', 'unsupported_media_type', 'route_not_found',
  'too_many_rows',
  // who asks and what the policy says
  'unauthorized', 'policy_denied', 'limit_exceeded', 'rate_limited',
  // the target
  'not_found', 'not_a_guest', 'user_exists', 'invitation_already_accepted', 'guest_without_email', 'address_not_on_guest',
  'app_role_not_assignable', 'message_not_delivered',
  'sponsor_not_found', 'sponsor_is_guest', 'too_many_sponsors', 'unknown_bundle', 'expiry_invalid', 'expiry_in_past', 'expiry_over_cap',
  'licence_required', 'cleanup_limit_exceeded', 'webhook_url_not_allowed', 'webhooks_not_configured',
  // Idempotency-Key
  'idempotency_key_reused', 'idempotency_key_in_use',
  // Microsoft Graph
  'graph_rejected', 'graph_permission_denied', 'graph_invitations_blocked', 'graph_cross_tenant_blocked', 'graph_failed',
  'graph_unavailable', 'graph_timeout', 'graph_outcome_unknown', 'graph_budget_exhausted',
  // guestgate's own dependencies
  'database_unavailable', 'audit_unavailable', 'token_keys_unavailable', 'not_ready', 'internal_error',
] as const
export type ProblemCode = (typeof PROBLEM_CODES)[number]

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
    readonly code: ProblemCode,
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

export const conflict = (code: ProblemCode, detail: string, extras: ProblemExtras = {}) =>
  new ProblemError(409, code, 'Conflict', detail, extras)

export const unprocessable = (code: ProblemCode, detail: string, extras: ProblemExtras = {}) =>
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
