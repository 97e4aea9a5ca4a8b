// The contract of the audit log: an append-only, hash-chained record in Postgres.
// An operation writes an intent row before Graph and an outcome row after, sharing operationId.

export type AuditDecision = 'allowed' | 'denied'
/** intent: about to call Graph; succeeded/failed: what Graph did; denied: policy refused;
 *  recorded: an event with no Graph call (what-if checks, exports, checkpoints). */
export type AuditStatus = 'intent' | 'succeeded' | 'failed' | 'denied' | 'recorded'

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
  /** Count rows of action+status by actor oid since a time (invitation rate limits). */
  countByActorSince(actorOid: string, action: string, status: AuditStatus, since: Date): Promise<number>
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
