// The only holder of the Graph gateway. Writes go through `write`, which commits an audit intent
// row, calls Graph, and appends the outcome row, sharing one operation id. Reads get a
// GraphReader, whose type has no write methods. Nothing else in the app can reach Graph.
import { randomUUID } from 'node:crypto'
import { AuditEntryError } from '../audit/audit-store.js'
import type { AuditActor, AuditEvent, AuditStore, AuditTarget } from '../audit/types.js'
import type { Principal } from '../auth/principal.js'
import { databaseUnavailable, ProblemError } from '../errors.js'
import { GraphRequestError, type GraphCallContext, type GraphGateway, type GraphReader, type GraphResult } from '../graph/graph-gateway.js'
import { problemFromGraphError } from '../graph/graph-problems.js'
import type { PolicyDecision } from '../policies/types.js'

export interface RequestIdentity {
  requestId: string
  principal: Principal
}

export interface WriteSpec<T = unknown> {
  action: string
  target: AuditTarget
  /** The allow decision that let this happen. */
  decision: PolicyDecision
  /** What was asked, without secrets or tokens. */
  summary?: Record<string, unknown>
  /** Group several writes (the parts of one onboarding request) under one operation id. */
  operationId?: string
  /** The target as known after Graph answered (e.g. the new guest's id), for the outcome row. */
  targetAfter?: (value: T) => AuditTarget
}

export interface WriteOutcome<T> {
  value: T
  operationId: string
  correlationId: string
  graphStatus: number
  graphRequestId?: string
}

export interface AuditedGraph {
  read<T>(identity: RequestIdentity, call: (graph: GraphReader, ctx: GraphCallContext) => Promise<GraphResult<T>>): Promise<T>
  write<T>(identity: RequestIdentity, spec: WriteSpec<T>, call: (graph: GraphGateway, ctx: GraphCallContext) => Promise<GraphResult<T>>): Promise<WriteOutcome<T>>
}

export const actorOf = (principal: Principal): AuditActor =>
  ({ oid: principal.oid, name: principal.name, tenantId: principal.tenantId, roles: principal.roles })

export function createAuditedGraph(deps: { graph: GraphGateway; audit: AuditStore; log?: { error(obj: object, msg: string): void } }): AuditedGraph {
  const { graph, audit } = deps

  return {
    async read(_identity, call) {
      const { value } = await call(graph, { correlationId: randomUUID() })
      return value
    },

    async write<T>(identity: RequestIdentity, spec: WriteSpec<T>, call: (graph: GraphGateway, ctx: GraphCallContext) => Promise<GraphResult<T>>): Promise<WriteOutcome<T>> {
      const operationId = spec.operationId ?? randomUUID()
      const correlationId = randomUUID()
      const row = {
        operationId,
        requestId: identity.requestId,
        correlationId,
        actor: actorOf(identity.principal),
        action: spec.action,
        target: spec.target,
        decision: 'allowed' as const,
        ruleId: spec.decision.rule,
        reason: spec.decision.reason,
        policyVersion: spec.decision.policyVersion,
        requestSummary: spec.summary ?? {},
      }
      // No intent row, no Graph call: a database failure here stops the operation.
      await appendOrUnavailable(audit, { ...row, status: 'intent' })

      let result: GraphResult<T>
      try {
        result = await call(graph, { correlationId })
      } catch (error) {
        const graphError = error instanceof GraphRequestError ? error : undefined
        await appendOutcome(audit, deps.log, {
          ...row,
          status: 'failed',
          graphStatus: graphError?.status ?? null,
          graphRequestId: graphError?.requestId ?? null,
          graphErrorCode: graphError?.code ?? (error instanceof ProblemError ? error.code : 'internal_error'),
          message: graphError?.graphMessage ?? (error instanceof ProblemError ? error.detail : 'internal error'),
        })
        if (graphError) throw problemFromGraphError(graphError, operationId)
        if (error instanceof ProblemError) {
          throw new ProblemError(error.status, error.code, error.title, error.detail, { ...error.extras, operationId }, error.headers)
        }
        throw error
      }
      await appendOutcome(audit, deps.log, {
        ...row,
        target: spec.targetAfter?.(result.value) ?? spec.target,
        status: 'succeeded',
        graphStatus: result.status,
        graphRequestId: result.requestId ?? null,
      })
      return { value: result.value, operationId, correlationId, graphStatus: result.status, graphRequestId: result.requestId }
    },
  }
}

async function appendOrUnavailable(audit: AuditStore, entry: Parameters<AuditStore['append']>[0]): Promise<AuditEvent> {
  try {
    return await audit.append(entry)
  } catch (error) {
    // An entry the table refuses is our bug (500), not an outage.
    if (error instanceof AuditEntryError) throw error
    throw databaseUnavailable()
  }
}

/** Graph already acted: a lost outcome row must not turn success into an error. The intent
 *  row without outcome stays visible for reconciliation. */
async function appendOutcome(audit: AuditStore, log: { error(obj: object, msg: string): void } | undefined, entry: Parameters<AuditStore['append']>[0]) {
  try {
    await audit.append(entry)
  } catch (err) {
    log?.error({ err, operationId: entry.operationId }, 'audit outcome row could not be written; intent row left for reconciliation')
  }
}
