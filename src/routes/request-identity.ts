import type { Caller } from '../operations/caller.js'
import type { RequestIdentity } from '../operations/audited-graph.js'

export const identityOf = (request: Caller): RequestIdentity => {
  const context = {
    ...(request.clientRequestId ? { clientRequestId: request.clientRequestId } : {}),
    ...(request.idempotencyKey ? { idempotencyKey: request.idempotencyKey } : {}),
  }
  return {
    requestId: String(request.id), principal: request.authenticatedPrincipal(), context,
    ...(request.dryRun ? { dryRun: { calls: request.dryRun.calls } } : {}),
  }
}
