// How audit_events rows are written and read: one column list each way and one mapping, shared
// by the store, retention and the benchmark, so every reader returns the same AuditEvent.
import { AUDIT_STATUSES, type AuditDecision, type AuditEntryInput, type AuditEvent, type AuditStatus } from './types.js'

/** The action of the rows retention appends before it prunes (see retention.ts). */
export const CHECKPOINT_ACTION = 'audit.checkpoint'

/** An entry the table would refuse (a bug in the caller): refused before it joins a batch. */
export class AuditEntryError extends Error {
  override readonly name = 'AuditEntryError'
  readonly code = 'AUDIT_INVALID_ENTRY'
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DECISIONS: readonly unknown[] = ['allowed', 'denied']
const STATUSES: readonly unknown[] = AUDIT_STATUSES
// Postgres text cannot hold NUL; jsonb strings cannot hold NUL nor a lone surrogate (JSON.stringify
// writes it as a \uD8xx escape that jsonb refuses). Text columns get lone surrogates replaced by
// U+FFFD on the way, as before, so they are not refused there.
const NUL = /\u0000/
const NOT_JSONB = /[\u0000\p{Cs}]/u

function text (name: string, value: unknown): string {
  if (typeof value !== 'string') throw new AuditEntryError(`${name} must be a string`)
  if (NUL.test(value)) throw new AuditEntryError(`${name} contains a NUL character`)
  return value
}

function optionalText (name: string, value: unknown): string | null {
  return value === undefined || value === null ? null : text(name, value)
}

function summaryJson (summary: unknown): string {
  if (summary === undefined) return '{}'
  if (typeof summary !== 'object' || summary === null) throw new AuditEntryError('requestSummary must be an object')
  try {
    return JSON.stringify(summary, (key, value: unknown) => {
      if (NOT_JSONB.test(key) || (typeof value === 'string' && NOT_JSONB.test(value))) {
        throw new AuditEntryError('requestSummary contains a NUL character or a lone surrogate')
      }
      return value
    })
  } catch (error) {
    // A BigInt or a cycle makes JSON.stringify throw a TypeError.
    throw error instanceof AuditEntryError ? error : new AuditEntryError(`requestSummary is not JSON: ${(error as Error).message}`)
  }
}

/**
 * Parameters $1..$21 of insertStatement() for one entry, after checking what the table's types
 * and constraints would refuse: one such entry would otherwise fail every row of its batch
 * (see append in audit-store.ts). Throws AuditEntryError.
 */
export function insertValues (entry: AuditEntryInput): unknown[] {
  const operationId = text('operationId', entry.operationId)
  if (!UUID.test(operationId)) throw new AuditEntryError('operationId must be a UUID')
  if (!DECISIONS.includes(entry.decision)) throw new AuditEntryError(`decision must be one of ${DECISIONS.join(', ')}`)
  if (!STATUSES.includes(entry.status)) throw new AuditEntryError(`status must be one of ${STATUSES.join(', ')}`)
  const graphStatus = entry.graphStatus ?? null
  if (graphStatus !== null && !(Number.isInteger(graphStatus) && Math.abs(graphStatus) < 2 ** 31)) {
    throw new AuditEntryError('graphStatus must be an integer HTTP status')
  }
  const roles: unknown = entry.actor.roles
  if (!Array.isArray(roles)) throw new AuditEntryError('actor.roles must be an array of strings')
  return [
    operationId, text('requestId', entry.requestId), text('correlationId', entry.correlationId),
    optionalText('graphRequestId', entry.graphRequestId),
    text('actor.oid', entry.actor.oid), text('actor.name', entry.actor.name), text('actor.tenantId', entry.actor.tenantId),
    roles.map((role, index) => text(`actor.roles[${index}]`, role)),
    text('action', entry.action), text('target.type', entry.target.type), optionalText('target.id', entry.target.id),
    optionalText('target.displayName', entry.target.displayName),
    entry.decision, entry.status, optionalText('ruleId', entry.ruleId), optionalText('reason', entry.reason),
    text('policyVersion', entry.policyVersion), summaryJson(entry.requestSummary), graphStatus,
    optionalText('graphErrorCode', entry.graphErrorCode), optionalText('message', entry.message),
  ]
}

const INSERT_COLUMNS = 21

/** The INSERT of `rows` entries, their insertValues() concatenated in the same order (a table
 *  name other than audit_events only for the benchmark's unchained copy). The insert trigger
 *  fills id, occurred_at, prev_hash and hash. RETURNING lists the rows in VALUES order. */
export function insertStatement (table = 'audit_events', rows = 1): string {
  const tuples = Array.from({ length: rows }, (_, row) =>
    '(' + Array.from({ length: INSERT_COLUMNS }, (_, column) => `$${row * INSERT_COLUMNS + column + 1}`).join(', ') + ')')
  return `INSERT INTO ${table} AS e (operation_id, request_id, correlation_id, graph_request_id, actor_oid,
    actor_name, actor_tenant_id, actor_roles, action, target_type, target_id, target_display_name, decision,
    status, rule_id, reason, policy_version, request_summary, graph_status, graph_error_code, message)
  VALUES ${tuples.join(',\n    ')}
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
