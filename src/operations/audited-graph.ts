// The only holder of the Graph gateway. A write is named from the table in graph-writes.ts and
// goes through `write`: commit the audit intent row, send, append the outcome row. When Graph's
// answer does not say whether the write happened (timeout, dropped connection, 5xx), the outcome
// is settled by reading Graph, never by sending the write again. Reads get a GraphReader, whose
// type has no write methods. Nothing else in the app can reach Graph.
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { trace } from '@opentelemetry/api'
import type pg from 'pg'
import { AuditEntryError } from '../audit/audit-store.js'
import type { AuditEntryInput, AuditStore, AuditTarget } from '../audit/types.js'
import type { Queryable } from '../db/queryable.js'
import { databaseUnavailable, ProblemError } from '../errors.js'
import { GraphRequestError, isAmbiguousFailure, type GraphCallContext, type PlannedGraphCall, type GraphGateway, type GraphReader, type GraphResult } from '../graph/graph-gateway.js'
import { problemFromGraphError } from '../graph/graph-problems.js'
import { retryWhileNotReplicated } from '../graph/replication.js'
import type { PolicyDecision } from '../policies/types.js'
import { denialEntry, policyProblem } from './denials.js'
import { BudgetExhaustedError, type BudgetKind } from './graph-budget.js'
import { GRAPH_WRITES, type Effect, type ParamsOf, type ResultOf, type WriteKind, type WriteName } from './graph-writes.js'
import { actorOf, type RequestIdentity } from './request-identity.js'
import { KeyedMutex } from './keyed-mutex.js'

export { actorOf, type RequestIdentity } from './request-identity.js'

/** Writes that must not run twice at once anywhere (one invitation per address at a time). */
export interface ExclusiveWrite {
  /** Writes with the same key run one after the other, in this process and across replicas. */
  key: string
  /** Under the key's lock, before the intent row: reads only; may throw (409: the user exists). */
  precheck?: (graph: GraphReader, ctx: GraphCallContext) => Promise<void>
  /** In the intent row's transaction, before it is written, under whatever locks it takes: the
   *  policy's answer on counts taken there. A denial stops the write: audited, answered 403/429. */
  reserve?: (db: Queryable) => Promise<PolicyDecision>
}

export interface WriteRequest<K extends WriteName> {
  write: K
  params: ParamsOf<K>
  target: AuditTarget
  /** The allow decision that let this happen. */
  decision: PolicyDecision
  /** What else the audit row should say (names shown to people); no secrets or tokens. */
  summary?: Record<string, unknown>
  /** Group several writes (the parts of one onboarding request) under one operation id. */
  operationId?: string
  /** The target as known after Graph answered (e.g. the new guest's id), for the outcome row. */
  targetAfter?: (value: ResultOf<K>) => AuditTarget
  exclusive?: ExclusiveWrite
  /** How long to wait for the Graph write budget (default: the single-request wait). */
  budgetWaitMs?: number
  /** Right after an invitation: Graph may not know the new user yet (eventual consistency).
   *  Its "not found" answers are retried with backoff: the write surely was not applied. */
  replication?: { retries: number; baseDelayMs: number }
}

export interface WriteOutcome<T> {
  value: T
  operationId: string
  correlationId: string
  graphStatus: number
  graphRequestId?: string
  /** Graph's answer was lost or unclear; reading Graph showed the write had happened. */
  settledByRead?: boolean
}

export interface Settlement {
  operationId: string
  correlationId: string
  action: string
  effect: Effect<unknown>['effect'] | 'unreadable'
}

export interface AuditedGraphEvents {
  /** An ambiguous write was settled by reading Graph in the background (after a timeout). */
  settled: [settlement: Settlement]
}

export interface AuditedGraph {
  read<T>(identity: RequestIdentity, call: (graph: GraphReader, ctx: GraphCallContext) => Promise<GraphResult<T>>): Promise<T>
  write<K extends WriteName>(identity: RequestIdentity, request: WriteRequest<K>): Promise<WriteOutcome<ResultOf<K>>>
  /** Reads Graph for the effect of a write described by its audit intent row (the reconciler). */
  verify(action: string, params: unknown): Promise<Effect<unknown>>
  readonly events: EventEmitter<AuditedGraphEvents>
  /** Resolves when background settlements have ended (shutdown). */
  drain(): Promise<void>
  /**
   * Whether this process is still carrying out the write of this intent (its outcome row is yet
   * to come, from the answer or from a read in the background): the reconciler leaves it alone,
   * however long Graph or a busy machine takes, so that an intent never gets two outcomes.
   */
  isSettling(correlationId: string): boolean
}

interface Logger {
  error(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface AuditedGraphDeps {
  graph: GraphGateway
  audit: AuditStore
  /** Connections for exclusive writes: each holds one through its Graph call. */
  pool: pg.Pool
  log?: Logger
  /** How long an exclusive write may wait for another one with its key (more than a Graph call lasts). */
  lockWaitMs: number
  /** Told of every write Graph applied (answered, or shown by reading): domain events. */
  onApplied?: (applied: { action: string; params: unknown; target: AuditTarget; operationId: string; changed: boolean }) => void
  /** Paces writes below Graph's limits; absent: unpaced (unit tests of one piece). */
  budget?: { take(tenantId: string, kinds: BudgetKind[], maxWaitMs: number): Promise<void>; defaultWaitMs: number }
}

/** Intent and outcome rows of one write share everything but status and Graph's answer. */
type WriteRow = Omit<AuditEntryInput, 'status'>

type Append = (entry: AuditEntryInput) => Promise<void>

export function createAuditedGraph(deps: AuditedGraphDeps): AuditedGraph {
  const { graph, audit } = deps
  const events = new EventEmitter<AuditedGraphEvents>()
  const localLocks = new KeyedMutex()
  const background = new Set<Promise<void>>()
  // Correlation ids of writes under way here: from before their intent row to their outcome row.
  const underWay = new Set<string>()
  const settlingInBackground = new Set<string>()

  /** Graph already acted: a lost outcome row must not turn success into an error. The intent
   *  row without outcome stays visible for the reconciler. */
  const outcomeAppender = (appendRow: (entry: AuditEntryInput) => Promise<unknown>): Append => async (entry) => {
    try {
      await appendRow(entry)
    } catch (err) {
      deps.log?.error({ err, operationId: entry.operationId }, 'audit outcome row could not be written; intent row left for the reconciler')
    }
  }
  const appendOutcome = outcomeAppender((entry) => audit.append(entry))

  async function settleInBackground(kind: WriteKind<unknown, unknown>, params: unknown, row: WriteRow, cause: GraphRequestError) {
    const settlement: Settlement = { operationId: row.operationId, correlationId: row.correlationId, action: kind.action, effect: 'unreadable' }
    settlingInBackground.add(row.correlationId)
    try {
      const effect = await kind.verify(graph, params, { correlationId: randomUUID() })
      settlement.effect = effect.effect
      await appendOutcome(settledRow(row, 'reconciled', cause, effect))
    } catch (err) {
      deps.log?.warn({ err, operationId: row.operationId }, 'settling a timed-out write by reading Graph failed; the reconciler will try again')
    } finally {
      settlingInBackground.delete(row.correlationId)
      events.emit('settled', settlement)
    }
  }

  /** Sends the write and appends its outcome; an ambiguous failure is settled by reading. */
  async function sendAndSettle<T>(kind: WriteKind<unknown, T>, request: WriteRequest<WriteName>, row: WriteRow, append: Append): Promise<WriteOutcome<T>> {
    const { params, replication } = request
    const targetAfter = request.targetAfter as ((value: T) => AuditTarget) | undefined
    const ctx = { correlationId: row.correlationId }
    const ids = { operationId: row.operationId, correlationId: row.correlationId }
    let result: GraphResult<T>
    try {
      // A "not found" right after an invitation surely was not applied: sending again is safe.
      result = replication ? await retryWhileNotReplicated(replication, () => kind.send(graph, params, ctx)) : await kind.send(graph, params, ctx)
    } catch (error) {
      if (!(error instanceof GraphRequestError) || !isAmbiguousFailure(error)) {
        await append(failedRow(row, error))
        throw asProblem(error, row.operationId)
      }
      if (error.code === 'Timeout') {
        // The request's time is spent: answer now, settle right after (the reconciler, after a crash).
        const task = settleInBackground(kind, params, row, error)
        background.add(task)
        void task.finally(() => background.delete(task))
        throw graphTimeout(error, row.operationId)
      }
      let effect: Effect<T>
      try {
        effect = await kind.verify(graph, params, { correlationId: randomUUID() })
      } catch (err) {
        deps.log?.warn({ err, operationId: row.operationId }, 'settling an ambiguous write by reading Graph failed; the reconciler will try again')
        throw outcomeUnknown(error, row.operationId)
      }
      if (effect.effect === 'present') {
        await append({ ...settledRow(row, 'succeeded', error, effect), target: targetAfter?.(effect.value) ?? row.target })
        applied(row, params, effect.value, targetAfter)
        return { value: effect.value, ...ids, graphStatus: error.status, ...(error.requestId ? { graphRequestId: error.requestId } : {}), settledByRead: true }
      }
      if (effect.effect === 'absent') {
        await append(settledRow(row, 'failed', error, effect))
        throw problemFromGraphError(error, row.operationId)
      }
      await append(settledRow(row, 'reconciled', error, effect))
      throw outcomeUnknown(error, row.operationId, effect.reason)
    }
    await append({
      ...row,
      target: targetAfter?.(result.value) ?? row.target,
      status: 'succeeded',
      graphStatus: result.status,
      graphRequestId: result.requestId ?? null,
    })
    applied(row, params, result.value, targetAfter)
    return { value: result.value, ...ids, graphStatus: result.status, ...(result.requestId ? { graphRequestId: result.requestId } : {}) }
  }

  function applied<T>(row: WriteRow, params: unknown, value: T, targetAfter: ((value: T) => AuditTarget) | undefined) {
    if (!deps.onApplied) return
    const changed = typeof value === 'object' && value !== null && 'changed' in value ? (value as { changed: boolean }).changed : true
    try {
      deps.onApplied({ action: row.action, params, target: targetAfter?.(value) ?? row.target, operationId: row.operationId, changed })
    } catch (err) {
      deps.log?.warn({ err, operationId: row.operationId }, 'a listener of applied writes failed')
    }
  }

  /** Holds a connection through the write: the key's session lock, the reservation and the intent
   *  in one transaction, the outcome on the same connection (a full pool cannot deadlock it). */
  async function writeExclusive<T>(identity: RequestIdentity, kind: WriteKind<unknown, T>, request: WriteRequest<WriteName>, row: WriteRow): Promise<WriteOutcome<T>> {
    const exclusive = request.exclusive!
    const client = await deps.pool.connect().catch((error: unknown) => { throw databaseUnavailable(error) })
    // A held connection's errors (the server went away) arrive as events: its next query fails.
    const onError = (err: Error) => deps.log?.warn({ err }, 'database connection of an exclusive write failed')
    client.on('error', onError)
    let healthy = true
    let locked = false
    try {
      await database(async () => {
        await client.query(`SET statement_timeout = ${Math.ceil(deps.lockWaitMs)}`)
        await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [exclusive.key])
        locked = true
        await client.query('RESET statement_timeout')
      })
      await exclusive.precheck?.(graph, { correlationId: row.correlationId })
      await database(async () => {
        await client.query('BEGIN')
        try {
          const decision = await exclusive.reserve?.(client)
          if (decision && !decision.allowed) {
            await client.query('ROLLBACK')
            const denial = denialEntry(identity, decision, row.action, row.target, withoutContext(row.requestSummary), row.operationId)
            await audit.appendOn(client, denial)
            throw policyProblem(decision, row.operationId)
          }
          await audit.appendOn(client, { ...row, status: 'intent' })
          await client.query('COMMIT')
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {})
          throw error
        }
      })
      return await sendAndSettle(kind, request, row, outcomeAppender((entry) => audit.appendOn(client, entry)))
    } catch (error) {
      if (!(error instanceof ProblemError) || error.code === 'database_unavailable') healthy = false
      throw error
    } finally {
      if (locked && healthy) {
        healthy = await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [exclusive.key]).then(() => true, () => false)
      }
      // A connection that may still hold the lock is closed, which releases it.
      client.off('error', onError)
      client.release(!healthy)
    }
  }

  /** A dry run: the same checks up to Graph (a precheck reads), then the write is planned, not sent:
   *  no intent, no budget, no lock, no reservation. */
  async function planWrite<T>(kind: WriteKind<unknown, T>, request: WriteRequest<WriteName>, row: WriteRow, calls: PlannedGraphCall[]): Promise<WriteOutcome<T>> {
    const ctx = { correlationId: row.correlationId }
    await request.exclusive?.precheck?.(graph, ctx)
    const result = await kind.send(graph, request.params, { ...ctx, plan: calls })
    return { value: result.value, operationId: row.operationId, correlationId: row.correlationId, graphStatus: result.status }
  }

  return {
    events,

    async read(_identity, call) {
      const { value } = await call(graph, { correlationId: randomUUID() })
      return value
    },

    async write<K extends WriteName>(identity: RequestIdentity, request: WriteRequest<K>): Promise<WriteOutcome<ResultOf<K>>> {
      const kind = GRAPH_WRITES[request.write] as unknown as WriteKind<unknown, ResultOf<K>>
      const row: WriteRow = {
        operationId: request.operationId ?? randomUUID(),
        requestId: identity.requestId,
        correlationId: randomUUID(),
        actor: actorOf(identity.principal),
        action: kind.action,
        target: request.target,
        decision: 'allowed',
        ruleId: request.decision.rule,
        reason: request.decision.reason,
        policyVersion: request.decision.policyVersion,
        // `params` is what the reconciler needs to read Graph for this write after a crash.
        requestSummary: { ...identity.context, ...request.summary, params: request.params },
      }
      trace.getActiveSpan()?.setAttributes({ 'guestgate.operation_id': row.operationId, 'guestgate.correlation_id': row.correlationId, 'guestgate.action': row.action })
      if (identity.dryRun) return planWrite(kind, request as WriteRequest<WriteName>, row, identity.dryRun.calls)
      // Within the budget before anything is recorded: a write that cannot go now leaves no intent.
      if (deps.budget) await takeBudget(deps.budget, identity.principal.tenantId, kind.budget, request.budgetWaitMs ?? deps.budget.defaultWaitMs)
      underWay.add(row.correlationId)
      try {
        if (request.exclusive) {
          const key = request.exclusive.key
          return await localLocks.run(key, () => writeExclusive(identity, kind, request as WriteRequest<WriteName>, row))
        }
        // No intent row, no Graph call: a database failure here stops the operation.
        await database(() => audit.append({ ...row, status: 'intent' }))
        return await sendAndSettle(kind, request as WriteRequest<WriteName>, row, appendOutcome)
      } finally {
        underWay.delete(row.correlationId)
      }
    },

    isSettling: (correlationId) => underWay.has(correlationId) || settlingInBackground.has(correlationId),

    async verify(action, params) {
      const kind = Object.hasOwn(GRAPH_WRITES, action) ? (GRAPH_WRITES[action as WriteName] as unknown as WriteKind<unknown, unknown>) : undefined
      if (!kind || params === undefined) return { effect: 'unknown', reason: `no way to read back ${action}` }
      return kind.verify(graph, params, { correlationId: randomUUID() })
    },

    async drain() {
      while (background.size > 0) await Promise.allSettled([...background])
    },
  }
}

async function takeBudget(budget: NonNullable<AuditedGraphDeps['budget']>, tenantId: string, kinds: BudgetKind[], maxWaitMs: number) {
  try {
    await budget.take(tenantId, kinds, maxWaitMs)
  } catch (error) {
    if (!(error instanceof BudgetExhaustedError)) throw databaseUnavailable(error)
    const what = error.kind === 'invitations' ? 'invitations' : 'Graph writes'
    throw new ProblemError(503, 'graph_budget_exhausted', 'Busy: pacing Graph writes',
      `guestgate paces ${what} below Microsoft Graph's limits, and the budget has no room now. Retry after ${error.retryAfterSeconds} s, or send many invitations as one bulk job (POST /v1/bulk/invitations), which waits for the budget itself.`,
      { retryAfterSeconds: error.retryAfterSeconds }, { 'retry-after': String(error.retryAfterSeconds) })
  }
}

/** Database work that, when it fails, means nothing was done: 503. An entry the table refuses is
 *  our bug (500), not an outage. */
async function database<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof AuditEntryError || error instanceof ProblemError) throw error
    throw databaseUnavailable(error)
  }
}

function withoutContext(summary: Record<string, unknown> | undefined): Record<string, unknown> {
  const { params: _params, ...rest } = summary ?? {}
  return rest
}

function failedRow(row: WriteRow, error: unknown): AuditEntryInput {
  const graphError = error instanceof GraphRequestError ? error : undefined
  return {
    ...row,
    status: 'failed',
    graphStatus: graphError?.status ?? null,
    graphRequestId: graphError?.requestId ?? null,
    graphErrorCode: graphError?.code ?? (error instanceof ProblemError ? error.code : 'internal_error'),
    message: graphError?.graphMessage ?? (error instanceof ProblemError ? error.detail : 'internal error'),
  }
}

const EFFECT_WORDS = {
  present: 'reading Graph showed the change was made',
  absent: 'reading Graph showed the change was not made',
  unknown: 'whether the change was made cannot be read from Graph',
} as const

/** The outcome of a write whose answer was lost or unclear, as reading Graph settled it. */
function settledRow(row: WriteRow, status: 'succeeded' | 'failed' | 'reconciled', cause: GraphRequestError, effect: Effect<unknown>): AuditEntryInput {
  const answered = cause.status === 0 ? `Graph gave no answer (${cause.code})` : `Graph answered ${cause.status} ${cause.code}`
  return {
    ...row,
    status,
    graphStatus: cause.status,
    graphRequestId: cause.requestId ?? null,
    graphErrorCode: cause.code,
    message: `${answered}; ${EFFECT_WORDS[effect.effect]}${effect.effect === 'unknown' ? ` (${effect.reason})` : ''}.`,
    requestSummary: { ...row.requestSummary, settlement: { by: 'read', effect: effect.effect, cause: { status: cause.status, code: cause.code } } },
  }
}

function asProblem(error: unknown, operationId: string): unknown {
  if (error instanceof GraphRequestError) return problemFromGraphError(error, operationId)
  if (error instanceof ProblemError) return new ProblemError(error.status, error.code, error.title, error.detail, { ...error.extras, operationId }, error.headers)
  return error
}

function graphTimeout(error: GraphRequestError, operationId: string): ProblemError {
  return new ProblemError(504, 'graph_timeout', 'Microsoft Graph did not answer in time',
    `Microsoft Graph did not answer within the deadline. Whether the change was made is being checked by reading Graph; GET /v1/audit/operations/${operationId} shows the outcome. Do not repeat the request before it does.`,
    { operationId, graphStatus: 0, graphErrorCode: error.code })
}

function outcomeUnknown(error: GraphRequestError, operationId: string, why?: string): ProblemError {
  const answered = error.status === 0 ? `gave no usable answer (${error.code})` : `answered ${error.status} ${error.code}`
  return new ProblemError(502, 'graph_outcome_unknown', 'Outcome unknown',
    `Microsoft Graph ${answered} after the request was sent, and ${why ? `whether the change was made cannot be read back: ${why}` : 'Graph could not be read to learn whether the change was made; the reconciler will record it'}. GET /v1/audit/operations/${operationId} shows the outcome.`,
    { operationId, graphStatus: error.status, graphErrorCode: error.code, ...(error.requestId ? { graphRequestId: error.requestId } : {}) })
}
