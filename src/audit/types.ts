import type { Queryable } from '../db/queryable.js'

// The contract of the audit log: an append-only, hash-chained record in Postgres.
// An operation writes an intent row before Graph and an outcome row after, sharing operationId.

export type AuditDecision = 'allowed' | 'denied'
/** intent: about to call Graph; succeeded/failed: what Graph did; reconciled: settled later by
 *  reading Graph, when its answer did not say (timeout, crash, a 5xx after the write may have
 *  happened); denied: policy refused; recorded: an event with no Graph call (what-if checks,
 *  exports, checkpoints); dry-run: what a request would have done, nothing done. */
export const AUDIT_STATUSES = ['intent', 'succeeded', 'failed', 'denied', 'recorded', 'reconciled', 'dry-run'] as const
export type AuditStatus = (typeof AUDIT_STATUSES)[number]

export interface AuditActor {
  oid: string
  name: string
  tenantId: string
  roles: string[]
}

export interface AuditTarget {
  type: string
  id?: string | null
  displayName?: string | null
}

export interface AuditEntryInput {
  operationId: string
  requestId: string
  correlationId: string
  actor: AuditActor
  action: string
  target: AuditTarget
  decision: AuditDecision
  status: AuditStatus
  ruleId?: string | null
  reason?: string | null
  policyVersion: string
  /** What was asked, without secrets or tokens. */
  requestSummary?: Record<string, unknown>
  graphStatus?: number | null
  graphRequestId?: string | null
  graphErrorCode?: string | null
  /** Short human-readable outcome (Graph's message on failure). */
  message?: string | null
}

export interface AuditEvent extends Required<Omit<AuditEntryInput, 'requestSummary'>> {
  id: string // bigint as decimal string
  occurredAt: string // ISO 8601
  requestSummary: Record<string, unknown>
  prevHash: string | null
  hash: string
}

export interface AuditFilter {
  actor?: string // actor oid or name
  action?: string
  targetId?: string
  decision?: AuditDecision
  status?: AuditStatus
  operationId?: string
  from?: Date
  to?: Date
  /** Only intents that no outcome row follows yet. */
  unsettled?: boolean
}

export interface IntentWindowQuery {
  /** Audit actions that count (e.g. invitation.invite and guest.resend). */
  actions: string[]
  /** Count one requester's intents only. */
  actorOid?: string
  windowMs: number
  /** When given and reached: also when the count falls below it again. */
  limit?: number
}

export interface IntentWindow {
  count: number
  /** When the count is at or over the limit: the moment it falls below it. */
  retryAt: Date | null
}

export interface AuditPage {
  items: AuditEvent[]
  /** Opaque keyset cursor: the next (older) page. */
  nextCursor?: string
}

export interface VerifyResult {
  valid: boolean
  checked: number
  /** Id of the first row whose hash or link does not match; null when valid. */
  firstInvalid: string | null
  reason?: string
}

export interface AuditStore {
  /** Appends one row and commits it before resolving; the database chains and hashes it. */
  append(entry: AuditEntryInput): Promise<AuditEvent>
  /** Appends on a connection the caller holds (its transaction or session lock), bypassing
   *  group commit: the row is part of the caller's transaction. */
  appendOn(client: Queryable, entry: AuditEntryInput): Promise<AuditEvent>
  /** Intents of some actions inside a time window (limits); on `client` to count inside the
   *  transaction that holds the limit's lock. */
  intentWindow(query: IntentWindowQuery, client?: Queryable): Promise<IntentWindow>
  /** Intents above `afterId`, older than `before`, that no outcome follows, oldest first. */
  unsettledIntents(query: { afterId: string; before: Date; limit: number }): Promise<AuditEvent[]>
  /** How many intents above `afterId` have no outcome, and the oldest of them. */
  countUnsettled(afterId: string): Promise<{ count: number; oldestId: string | null }>
  /** The newest row's id ('0' for an empty log). */
  lastId(): Promise<string>
  get(id: string): Promise<AuditEvent | null>
  byOperation(operationId: string): Promise<AuditEvent[]>
  /** Newest first, keyset pagination. */
  query(filter: AuditFilter, page: { limit: number; cursor?: string }): Promise<AuditPage>
  /** Streams every matching row, newest first, in constant memory. */
  stream(filter: AuditFilter, batchSize?: number): AsyncIterable<AuditEvent>
  verify(range?: { fromId?: string; toId?: string }): Promise<VerifyResult>
  /** Database reachable and migrations applied. */
  ready(): Promise<boolean>
}
