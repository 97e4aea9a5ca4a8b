// How audit_events rows are written and read: one column list each way and one mapping, shared
// by the store, retention and the benchmark, so every reader returns the same AuditEvent.
import type { AuditDecision, AuditEntryInput, AuditEvent, AuditStatus } from './types.js'

/** The action of the rows retention appends before it prunes (see retention.ts). */
export const CHECKPOINT_ACTION = 'audit.checkpoint'

/** Parameters $1..$21 of insertStatement(). */
export function insertValues (entry: AuditEntryInput): unknown[] {
  return [
    entry.operationId, entry.requestId, entry.correlationId, entry.graphRequestId ?? null,
    entry.actor.oid, entry.actor.name, entry.actor.tenantId, entry.actor.roles,
    entry.action, entry.target.type, entry.target.id ?? null, entry.target.displayName ?? null,
    entry.decision, entry.status, entry.ruleId ?? null, entry.reason ?? null,
    entry.policyVersion, JSON.stringify(entry.requestSummary ?? {}), entry.graphStatus ?? null,
    entry.graphErrorCode ?? null, entry.message ?? null,
  ]
}

/** The INSERT of one entry (a table name other than audit_events only for the benchmark's
 *  unchained copy). The insert trigger fills id, occurred_at, prev_hash and hash. */
export function insertStatement (table = 'audit_events'): string {
  return `INSERT INTO ${table} AS e (operation_id, request_id, correlation_id, graph_request_id, actor_oid,
    actor_name, actor_tenant_id, actor_roles, action, target_type, target_id, target_display_name, decision,
    status, rule_id, reason, policy_version, request_summary, graph_status, graph_error_code, message)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
  RETURNING ${EVENT_COLUMNS}`
}

/** Columns of `audit_events e` as the mapping below expects them. occurred_at is rendered by the
 *  database in UTC with microseconds (a JS Date keeps milliseconds only), as the hash sees it. */
export const EVENT_COLUMNS = `e.id,
  to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS occurred_at,
  e.operation_id, e.request_id, e.correlation_id, e.graph_request_id,
  e.actor_oid, e.actor_name, e.actor_tenant_id, e.actor_roles,
  e.action, e.target_type, e.target_id, e.target_display_name,
  e.decision, e.status, e.rule_id, e.reason, e.policy_version, e.request_summary,
  e.graph_status, e.graph_error_code, e.message, e.prev_hash, e.hash`

/** A row as node-postgres decodes EVENT_COLUMNS (bigint arrives as a decimal string). */
export interface EventRow {
  id: string
  occurred_at: string
  operation_id: string
  request_id: string
  correlation_id: string
  graph_request_id: string | null
  actor_oid: string
  actor_name: string
  actor_tenant_id: string
  actor_roles: string[] | null
  action: string
  target_type: string
  target_id: string | null
  target_display_name: string | null
  decision: AuditDecision
  status: AuditStatus
  rule_id: string | null
  reason: string | null
  policy_version: string
  request_summary: Record<string, unknown>
  graph_status: number | null
  graph_error_code: string | null
  message: string | null
  prev_hash: string | null
  hash: string
}

export function toAuditEvent (row: EventRow): AuditEvent {
  return {
    id: row.id,
    occurredAt: row.occurred_at,
    operationId: row.operation_id,
    requestId: row.request_id,
    correlationId: row.correlation_id,
    actor: { oid: row.actor_oid, name: row.actor_name, tenantId: row.actor_tenant_id, roles: row.actor_roles ?? [] },
    action: row.action,
    target: { type: row.target_type, id: row.target_id, displayName: row.target_display_name },
    decision: row.decision,
    status: row.status,
    ruleId: row.rule_id,
    reason: row.reason,
    policyVersion: row.policy_version,
    requestSummary: row.request_summary,
    graphStatus: row.graph_status,
    graphRequestId: row.graph_request_id,
    graphErrorCode: row.graph_error_code,
    message: row.message,
    prevHash: row.prev_hash,
    hash: row.hash,
  }
}
