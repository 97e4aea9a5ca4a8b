// Who asked, as every audit row records it.
import type { AuditActor } from '../audit/types.js'
import type { Principal } from '../auth/principal.js'
import type { PlannedGraphCall } from '../graph/graph-gateway.js'

export interface RequestIdentity {
  /** The server's own id of the request. */
  requestId: string
  principal: Principal
  /** Recorded in every row's request summary: the caller's x-request-id, its Idempotency-Key. */
  context?: { clientRequestId?: string; idempotencyKey?: string }
  /** A dry run: writes are planned into `calls`, nothing is recorded or sent. */
  dryRun?: { calls: PlannedGraphCall[] }
}

export const actorOf = (principal: Principal): AuditActor =>
  ({ oid: principal.oid, name: principal.name, tenantId: principal.tenantId, roles: principal.roles })
