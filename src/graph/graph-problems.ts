// What a Graph failure means to our caller. Graph's own words are kept (they help support),
// its request-id is returned so the operator can quote it to Microsoft.
import { ProblemError, type ProblemExtras } from '../errors.js'
import { GraphRequestError } from './graph-gateway.js'

export function problemFromGraphError(error: GraphRequestError, operationId?: string): ProblemError {
  const extras: ProblemExtras = {
    graphStatus: error.status,
    graphErrorCode: error.code,
    ...(error.requestId ? { graphRequestId: error.requestId } : {}),
    ...(operationId ? { operationId } : {}),
  }
  if (error.status === 404) {
    return new ProblemError(404, 'not_found', 'Not found', `Microsoft Graph says: ${error.graphMessage}`, extras)
  }
  if (error.status === 403) {
    if (/suspicious activity/i.test(error.graphMessage)) {
      return new ProblemError(502, 'graph_invitations_blocked', 'Invitations blocked by Microsoft',
        `Microsoft Graph blocked invitations for this directory: ${error.graphMessage}`, extras)
    }
    if (/cross-tenant access/i.test(error.graphMessage)) {
      return new ProblemError(502, 'graph_cross_tenant_blocked', 'Blocked by cross-tenant access settings',
        `Microsoft Graph refused: ${error.graphMessage}`, extras)
    }
    return new ProblemError(502, 'graph_permission_denied', 'guestgate lacks a Graph permission',
      `Microsoft Graph refused guestgate's own credential (${error.graphMessage}). An administrator must grant guestgate's app registration the Graph application permission this operation needs (see README).`, extras)
  }
  if (error.status === 429 || error.status === 503 || error.status === 504) {
    const retryAfter = Math.max(1, Math.ceil(error.retryAfterSeconds ?? 10))
    return new ProblemError(503, 'graph_unavailable', 'Microsoft Graph is busy',
      `Microsoft Graph is throttling or unavailable (${error.status} ${error.code}); nothing more was retried. Retry after ${retryAfter} s.`,
      { ...extras, retryAfterSeconds: retryAfter }, { 'retry-after': String(retryAfter) })
  }
  if (error.status >= 400 && error.status < 500) {
    return new ProblemError(422, 'graph_rejected', 'Microsoft Graph rejected the request', `Microsoft Graph says: ${error.graphMessage}`, extras)
  }
  return new ProblemError(502, 'graph_failed', 'Microsoft Graph failed', `Microsoft Graph failed (${error.status || 'no response'} ${error.code}).`, extras)
}
