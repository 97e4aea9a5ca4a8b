// What a failed Graph call means for the caller: which failures leave a write's fate unknown
// (settle by reading Graph, never by sending the write again) and which ones say "not yet
// replicated". Re-exported from graph-gateway.ts, the one seam.

/**
 * Why a call got no usable answer from Graph (status 0), or why a 2xx answer was unusable.
 * - ConnectionFailed: no connection was made (refused, unknown host, unreachable, TLS refused):
 *   the request surely never reached Graph.
 * - NetworkError: the connection broke after the request may have been sent.
 * - Timeout: no complete answer within the deadline (GRAPH_TIMEOUT_MS).
 * - TokenAcquisitionFailed: the credential gave no token, so nothing was sent.
 * - InvalidResponse: Graph answered 2xx with a body we cannot read.
 * - ClientError: the SDK failed in a way none of the above describes.
 */
export type GraphFailureCode = 'ConnectionFailed' | 'NetworkError' | 'Timeout' | 'TokenAcquisitionFailed' | 'InvalidResponse' | 'ClientError'

/** A Graph call that failed after the gateway's own bounded retries. */
export class GraphRequestError extends Error {
  override readonly name = 'GraphRequestError'
  constructor(
    /** Graph's HTTP status; 0 when Graph never answered (see GraphFailureCode). */
    readonly status: number,
    /** Graph's error code, or a GraphFailureCode. */
    readonly code: string,
    readonly graphMessage: string,
    readonly requestId?: string,
    /** Seconds Graph asked us to wait (429/503), when it said so. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`Graph answered ${status} ${code}: ${graphMessage}`)
  }
}

/** Status-0 failures after which the request surely was not applied: it never left us. */
const NEVER_SENT: ReadonlySet<string> = new Set(['ConnectionFailed', 'TokenAcquisitionFailed'])

/**
 * True when a write may or may not have been applied by Graph, so its outcome must be settled
 * by reading Graph (never by sending it again):
 * - Timeout, NetworkError, InvalidResponse (a 2xx we could not read), ClientError;
 * - 500, 502, 504 and any other 5xx, and 503 WITHOUT Retry-After.
 * Not ambiguous: 429 and 503 with Retry-After (Graph documents both as "not processed, retry
 * later": https://learn.microsoft.com/en-us/graph/throttling and
 * https://learn.microsoft.com/en-us/graph/errors), every other 4xx, ConnectionFailed and
 * TokenAcquisitionFailed (never sent). Errors that are not GraphRequestError never came from
 * Graph (for example an id refused before sending): false.
 */
export function isAmbiguousFailure(error: unknown): boolean {
  if (!(error instanceof GraphRequestError)) return false
  if (error.code === 'InvalidResponse') return true
  if (error.status === 0) return !NEVER_SENT.has(error.code)
  if (error.status === 503) return error.retryAfterSeconds === undefined
  return error.status >= 500
}

/**
 * "Not replicated yet": Entra is eventually consistent, so an object created a moment ago can
 * be missing for the next requests (https://learn.microsoft.com/en-us/graph/api/group-post-members,
 * https://learn.microsoft.com/en-us/graph/errors). Graph says so in two ways:
 * - a reference in the PATH: 404 Request_ResourceNotFound "Resource '{id}' does not exist or one
 *   of its queried reference-property objects are not present.";
 * - a reference in the BODY: 400 Request_BadRequest "One or more added object references don't
 *   exist for the following modified properties: 'members'." or "The source resource object or
 *   one of the objects being referenced do not exist."
 * Codes are matched first; the 400's wording is all that tells it apart from other 400s.
 */
export function isNotYetReplicated(error: unknown): boolean {
  if (!(error instanceof GraphRequestError)) return false
  if (error.status === 404) return error.code === 'Request_ResourceNotFound' || /does not exist/i.test(error.graphMessage)
  if (error.status !== 400) return false
  return /\bOne or more\b.*\b(don't|don’t|do not) exist\b/i.test(error.graphMessage) ||
    /objects being referenced (don't|don’t|do not) exist/i.test(error.graphMessage)
}

/** A page token that is not a link to the Graph endpoint we call: refused before any request. */
export class InvalidPageTokenError extends RangeError {
  override readonly name = 'InvalidPageTokenError'
  constructor(reason: string) {
    super(`Not a page token this service issued: ${reason}`)
  }
}

/**
 * Graph refused signInActivity because the tenant has no Entra ID P1/P2 licence: 403
 * Authentication_RequestFromNonPremiumTenantOrB2CTenant (graph-lifecycle-facts.md §2). Not a
 * permission problem and not retryable: inactivity cannot be measured from sign-ins there.
 */
export function isPremiumLicenceMissing(error: unknown): boolean {
  return error instanceof GraphRequestError && error.status === 403 && error.code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant'
}
