// The audit log on Postgres. The database does the chaining (trigger `audit_events_chain`) and
// rejects changes; this module writes with group commit (see append) and reads with keyset
// pagination on id, which is chain order and commit order, so pages never skip or repeat rows
// while others append.
// Queries go through the pg pool behind the Prisma client: they are hand-written SQL (a UNION for
// the actor filter, window functions for verification) and the export path needs pg's row speed.
import pg from 'pg'
import { pendingMigrations } from '../db/migrate.js'
import { poolOf, type PrismaClient } from '../db/prisma-client.js'
import type { Queryable } from '../db/queryable.js'
import { CHECKPOINT_ACTION, EVENT_COLUMNS, insertStatement, insertValues, toAuditEvent, type EventRow } from './audit-rows.js'
import type { AuditEntryInput, AuditEvent, AuditFilter, AuditPage, AuditStore, IntentWindow, IntentWindowQuery, VerifyResult } from './types.js'

export { AuditEntryError } from './audit-rows.js'

/** A filter, cursor, limit or id the store cannot use: the caller's mistake (HTTP 400). */
export class AuditQueryError extends Error {
  override readonly name = 'AuditQueryError'
  readonly code = 'AUDIT_INVALID_QUERY'
  readonly statusCode = 400
}

export const MAX_PAGE_SIZE = 100
/** Most rows one group-commit INSERT writes (21 parameters each, far below Postgres' 65,535). */
export const MAX_APPEND_BATCH = 200
const DEFAULT_STREAM_BATCH = 1000
const VERIFY_CHUNK = 20_000
const MAX_ID = 9223372036854775807n
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A positive bigint id as a decimal string, or null when `value` is not one. */
function parseId (value: string): string | null {
  if (!/^[1-9][0-9]{0,18}$/.test(value) || BigInt(value) > MAX_ID) return null
  return value
}

export function encodeCursor (id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

export function decodeCursor (cursor: string): string {
  const id = parseId(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (id === null || encodeCursor(id) !== cursor) throw new AuditQueryError('invalid cursor')
  return id
}

function checkFilter (filter: AuditFilter): void {
  if (filter.operationId !== undefined && !UUID.test(filter.operationId)) {
    throw new AuditQueryError('operationId must be a UUID')
  }
  for (const [name, date] of [['from', filter.from], ['to', filter.to]] as const) {
    if (date !== undefined && Number.isNaN(date.getTime())) throw new AuditQueryError(`${name} is not a valid date`)
  }
}

/** An intent row `e` that no outcome row (same operation and correlation id) follows yet. */
const NO_OUTCOME = `NOT EXISTS (SELECT 1 FROM audit_events o
  WHERE o.operation_id = e.operation_id AND o.correlation_id = e.correlation_id AND o.status <> 'intent')`

/** Every intent at or below the last reconciler pass's watermark has an outcome. */
const ABOVE_WATERMARK = 'e.id > coalesce((SELECT r.watermark FROM reconciler_runs r ORDER BY r.id DESC LIMIT 1), 0)'

/** The id span a filter's time range covers; each bound is inclusive and absent when unbounded. */
interface IdSpan {
  firstId?: string
  lastId?: string
}

/**
 * One page of rows matching `filter` inside `span` with id < beforeId, newest first. The actor
 * filter matches the oid or the name: two index-ordered scans merged by id (an OR of the two
 * columns would sort every row of the actor), the second skipping rows the first already has.
 */
function pageQuery (filter: AuditFilter, span: IdSpan, beforeId: string | undefined, limit: number): pg.QueryConfig {
  const values: unknown[] = []
  const param = (value: unknown): string => {
    values.push(value)
    return `$${values.length}`
  }
  const conditions: string[] = []
  if (filter.action !== undefined) conditions.push(`e.action = ${param(filter.action)}`)
  if (filter.targetId !== undefined) conditions.push(`e.target_id = ${param(filter.targetId)}`)
  if (filter.decision !== undefined) conditions.push(`e.decision = ${param(filter.decision)}`)
  if (filter.status !== undefined) conditions.push(`e.status = ${param(filter.status)}`)
  if (filter.operationId !== undefined) conditions.push(`e.operation_id = ${param(filter.operationId)}::uuid`)
  if (filter.unsettled === true) conditions.push(`e.status = 'intent'`, ABOVE_WATERMARK, NO_OUTCOME)
  if (span.firstId !== undefined) conditions.push(`e.id >= ${param(span.firstId)}`)
  if (span.lastId !== undefined) conditions.push(`e.id <= ${param(span.lastId)}`)
  if (beforeId !== undefined) conditions.push(`e.id < ${param(beforeId)}`)
  const limitParam = param(limit)
  const select = (where: string[]): string =>
    `SELECT ${EVENT_COLUMNS} FROM audit_events e
     ${where.length > 0 ? 'WHERE ' + where.join(' AND ') : ''}
     ORDER BY e.id DESC LIMIT ${limitParam}`
  if (filter.actor === undefined) return { text: select(conditions), values }
  const actor = param(filter.actor)
  return {
    text: `SELECT * FROM (
      (${select([`e.actor_oid = ${actor}`, ...conditions])})
      UNION ALL
      (${select([`e.actor_name = ${actor}`, `e.actor_oid <> ${actor}`, ...conditions])})
    ) page ORDER BY page.id DESC LIMIT ${limitParam}`,
    values,
  }
}

// Built once: a lone append is the common case when traffic is light, where its latency shows.
const INSERT_ONE = insertStatement()

interface QueuedAppend {
  entry: AuditEntryInput
  values: unknown[]
  resolve(event: AuditEvent): void
  reject(error: unknown): void
}

/** Whether `row` holds `entry`, by its operation and request ids as Postgres stores them: a uuid
 *  prints in lower case, and pg sends text as UTF-8, where a lone surrogate becomes U+FFFD. */
function isRowOf (row: EventRow | undefined, entry: AuditEntryInput): boolean {
  return row?.operation_id === entry.operationId.toLowerCase() &&
    row.request_id === Buffer.from(entry.requestId, 'utf8').toString('utf8')
}

/** An ERROR (not FATAL) from the server: the statement's transaction was rolled back and the
 *  session lives on. Any other failure (connection lost, FATAL) may have come after the commit. */
function surelyRolledBack (error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.severity === 'ERROR'
}

// One chunk of the chain, checked in the database with the trigger's own hash function: each row
// against its stored hash, and its prev_hash against the hash of the row before it ($4 for the
// chunk's first row when $5 says there is one). A first row without a predecessor is linked if it
// starts the chain (prev_hash null) or continues a cut recorded by a retention checkpoint.
const VERIFY_CHUNK_SQL = `
WITH chunk AS (
  SELECT e.id, e.prev_hash, e.hash, audit_event_hash(e) = e.hash AS hash_ok
  FROM audit_events e
  WHERE e.id > $1 AND e.id <= $2
  ORDER BY e.id
  LIMIT $3
), judged AS (
  SELECT id, hash, hash_ok,
    CASE
      WHEN lag(id) OVER w IS NOT NULL THEN prev_hash IS NOT DISTINCT FROM lag(hash) OVER w
      ELSE ($5::boolean AND prev_hash IS NOT DISTINCT FROM $4::text)
        OR (NOT $5::boolean AND prev_hash IS NULL)
        OR EXISTS (
          SELECT 1 FROM audit_events c
          WHERE c.action = '${CHECKPOINT_ACTION}'
            AND c.request_summary ->> 'cutHash' = chunk.prev_hash
            AND (c.request_summary ->> 'prunedThroughId')::bigint < chunk.id)
    END AS link_ok
  FROM chunk
  WINDOW w AS (ORDER BY id)
), first_bad AS (
  SELECT id, hash_ok FROM judged WHERE NOT (hash_ok AND link_ok) ORDER BY id LIMIT 1
)
SELECT
  (SELECT count(*)::int FROM judged WHERE id <= coalesce((SELECT id FROM first_bad), id)) AS checked,
  (SELECT id FROM judged ORDER BY id DESC LIMIT 1) AS last_id,
  (SELECT hash FROM judged ORDER BY id DESC LIMIT 1) AS last_hash,
  (SELECT id FROM first_bad) AS bad_id,
  (SELECT hash_ok FROM first_bad) AS bad_hash_ok`

interface VerifyChunkRow {
  checked: number
  last_id: string | null
  last_hash: string | null
  bad_id: string | null
  bad_hash_ok: boolean | null
}

export interface AuditStoreOptions {
  /** Called with the seconds each committed append took (metrics). */
  onAppend?: (seconds: number) => void
}

export function createAuditStore (prisma: PrismaClient, options: AuditStoreOptions = {}): AuditStore {
  const pool = poolOf(prisma)

  /**
   * The insert trigger keeps occurred_at non-decreasing in id order (see the migration), so a time
   * range is exactly an id range: from the first row at or after `from` to the last at or before
   * `to`, two index probes. Pages then filter on id alone: the planner sizes an id range exactly
   * (next to a time condition it underestimates and sorts the whole range instead), and an index
   * on (column, id) starts and stops at the range. Null when no row lies in the time range.
   */
  async function idSpan (from: Date | undefined, to: Date | undefined): Promise<IdSpan | null> {
    if (from === undefined && to === undefined) return {}
    const result = await pool.query<{ first_id: string | null; last_id: string | null }>(
      `SELECT
        (SELECT a.id FROM audit_events a WHERE a.occurred_at >= $1 ORDER BY a.occurred_at, a.id LIMIT 1) AS first_id,
        (SELECT a.id FROM audit_events a WHERE a.occurred_at <= $2 ORDER BY a.occurred_at DESC, a.id DESC LIMIT 1) AS last_id`,
      [from ?? null, to ?? null])
    const firstId = from === undefined ? undefined : result.rows[0]?.first_id ?? null
    const lastId = to === undefined ? undefined : result.rows[0]?.last_id ?? null
    if (firstId === null || lastId === null) return null
    return { firstId, lastId }
  }

  // Group commit. The chain lock is held through each transaction's commit (its WAL flush), so
  // single-row appends serialize on the flush. Instead, one flush runs at a time; appends that
  // arrive meanwhile queue, and the next flush writes them (up to MAX_APPEND_BATCH, in arrival
  // order) with one multi-row INSERT, one transaction, one WAL flush. The row trigger chains the
  // rows of one statement in VALUES order (it sees the rows the statement inserted before).
  const queue: QueuedAppend[] = []
  let flushing = false

  async function flushQueue (): Promise<void> {
    try {
      while (queue.length > 0) await writeBatch(queue.splice(0, MAX_APPEND_BATCH))
    } finally {
      flushing = false
    }
  }

  /** Settles every append of `batch`; never throws. Each resolves once its row is committed: the
   *  INSERT runs as its own (implicit) transaction, so the reply comes after the commit. */
  async function writeBatch (batch: QueuedAppend[]): Promise<void> {
    try {
      const sql = batch.length === 1 ? INSERT_ONE : insertStatement('audit_events', batch.length)
      const started = performance.now()
      const result = await pool.query<EventRow>(sql, batch.flatMap((item) => item.values))
      const seconds = (performance.now() - started) / 1000
      for (let i = 0; i < batch.length; i++) options.onAppend?.(seconds)
      // Rows map to callers by position. A mismatch would hand callers each other's rows: they get
      // an error instead (their rows are committed, like those of a lost connection below).
      if (!batch.every((item, index) => isRowOf(result.rows[index], item.entry))) {
        throw new Error('audit append: the INSERT returned its rows in an unexpected order')
      }
      batch.forEach((item, index) => { item.resolve(toAuditEvent(result.rows[index] as EventRow)) })
    } catch (error) {
      // A rolled-back batch is retried one entry at a time, in order, so that an entry the database
      // refuses fails alone. After an unclear outcome (the rows may be committed) nothing is
      // retried, which could write them twice: every caller of the batch sees the error.
      if (batch.length > 1 && surelyRolledBack(error)) {
        for (const item of batch) await writeBatch([item])
      } else {
        for (const item of batch) item.reject(error)
      }
    }
  }

  async function fetchPage (filter: AuditFilter, span: IdSpan, beforeId: string | undefined, limit: number): Promise<EventRow[]> {
    return (await pool.query<EventRow>(pageQuery(filter, span, beforeId, limit))).rows
  }

  return {
    /** Resolves once the row is committed; rejects with AuditEntryError, before queueing, for an
     *  entry the table would refuse, and with the database's error if its transaction failed. */
    async append (entry: AuditEntryInput): Promise<AuditEvent> {
      const values = insertValues(entry)
      return await new Promise<AuditEvent>((resolve, reject) => {
        queue.push({ entry, values, resolve, reject })
        if (!flushing) {
          flushing = true
          // Started in a microtask, so appends made in one synchronous run (Promise.all) share the first flush.
          queueMicrotask(() => { void flushQueue() })
        }
      })
    },

    async appendOn (client: Queryable, entry: AuditEntryInput): Promise<AuditEvent> {
      const values = insertValues(entry)
      const started = performance.now()
      const result = await client.query<EventRow>(INSERT_ONE, values)
      options.onAppend?.((performance.now() - started) / 1000)
      return toAuditEvent(result.rows[0] as EventRow)
    },

    async intentWindow (query: IntentWindowQuery, client?: Queryable): Promise<IntentWindow> {
      const db = client ?? pool
      const since = new Date(Date.now() - query.windowMs)
      // The window as an id range (one index probe), as in idSpan.
      const first = await db.query<{ id: string | null }>(
        'SELECT (SELECT a.id FROM audit_events a WHERE a.occurred_at >= $1 ORDER BY a.occurred_at, a.id LIMIT 1) AS id', [since])
      const firstId = first.rows[0]?.id ?? null
      if (firstId === null) return { count: 0, retryAt: null }
      const values: unknown[] = [firstId, query.actions]
      let where = `id >= $1 AND status = 'intent' AND action = ANY($2::text[])`
      if (query.actorOid !== undefined) {
        values.push(query.actorOid)
        where += ` AND actor_oid = $${values.length}`
      }
      const counted = await db.query<{ count: number }>(`SELECT count(*)::int AS count FROM audit_events WHERE ${where}`, values)
      const count = counted.rows[0]?.count ?? 0
      if (query.limit === undefined || count < query.limit) return { count, retryAt: null }
      // The row whose leaving the window brings the count below the limit.
      const leaving = await db.query<{ occurred_at: Date }>(
        `SELECT occurred_at FROM audit_events WHERE ${where} ORDER BY id OFFSET $${values.length + 1} LIMIT 1`,
        [...values, count - query.limit])
      const at = leaving.rows[0]?.occurred_at
      return { count, retryAt: at === undefined ? null : new Date(at.getTime() + query.windowMs) }
    },

    async unsettledIntents (query: { afterId: string; before: Date; limit: number }): Promise<AuditEvent[]> {
      const result = await pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM audit_events e
         WHERE e.status = 'intent' AND e.id > $1 AND e.occurred_at < $2 AND ${NO_OUTCOME}
         ORDER BY e.id LIMIT $3`, [query.afterId, query.before, query.limit])
      return result.rows.map(toAuditEvent)
    },

    async countUnsettled (afterId: string): Promise<{ count: number; oldestId: string | null }> {
      const result = await pool.query<{ count: number; oldest_id: string | null }>(
        `SELECT count(*)::int AS count, min(e.id) AS oldest_id FROM audit_events e
         WHERE e.status = 'intent' AND e.id > $1 AND ${NO_OUTCOME}`, [afterId])
      return { count: result.rows[0]?.count ?? 0, oldestId: result.rows[0]?.oldest_id ?? null }
    },

    async lastId (): Promise<string> {
      const result = await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM audit_events')
      return result.rows[0]?.id ?? '0'
    },

    async get (id: string): Promise<AuditEvent | null> {
      const rowId = parseId(id)
      if (rowId === null) return null
      const result = await pool.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM audit_events e WHERE e.id = $1`, [rowId])
      const row = result.rows[0]
      return row === undefined ? null : toAuditEvent(row)
    },

    async byOperation (operationId: string): Promise<AuditEvent[]> {
      if (!UUID.test(operationId)) return []
      const result = await pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM audit_events e WHERE e.operation_id = $1 ORDER BY e.id`, [operationId])
      return result.rows.map(toAuditEvent)
    },

    /** `from` and `to` are inclusive; the cursor is the last id of the previous page, base64url. */
    async query (filter: AuditFilter, page: { limit: number; cursor?: string }): Promise<AuditPage> {
      if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE_SIZE) {
        throw new AuditQueryError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}`)
      }
      checkFilter(filter)
      const beforeId = page.cursor === undefined ? undefined : decodeCursor(page.cursor)
      const span = await idSpan(filter.from, filter.to)
      if (span === null) return { items: [] }
      // One row more than asked tells whether an older page exists.
      const rows = await fetchPage(filter, span, beforeId, page.limit + 1)
      const items = rows.slice(0, page.limit).map(toAuditEvent)
      const last = items[items.length - 1]
      return rows.length > page.limit && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items }
    },

    async * stream (filter: AuditFilter, batchSize = DEFAULT_STREAM_BATCH): AsyncIterable<AuditEvent> {
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new AuditQueryError('batchSize must be a positive integer')
      checkFilter(filter)
      const span = await idSpan(filter.from, filter.to)
      if (span === null) return
      // The next batch is fetched while the consumer handles the current one; at most two
      // batches are in memory.
      let pending: Promise<EventRow[]> | undefined = fetchPage(filter, span, undefined, batchSize)
      try {
        while (pending !== undefined) {
          const rows: EventRow[] = await pending
          const last = rows[rows.length - 1]
          pending = rows.length === batchSize && last !== undefined ? fetchPage(filter, span, last.id, batchSize) : undefined
          for (const row of rows) yield toAuditEvent(row)
        }
      } finally {
        // The consumer stopped early: nobody awaits the prefetch any more, so its failure must not
        // surface as an unhandled rejection.
        pending?.catch(() => {})
      }
    },

    /** `checked` counts the rows examined, up to and including the first invalid one. */
    async verify (range: { fromId?: string; toId?: string } = {}): Promise<VerifyResult> {
      const fromId = range.fromId === undefined ? '1' : parseId(range.fromId)
      const toId = range.toId === undefined ? MAX_ID.toString() : parseId(range.toId)
      if (fromId === null || toId === null) throw new AuditQueryError('fromId and toId must be positive integer ids')
      let after = (BigInt(fromId) - 1n).toString()
      const predecessor = await pool.query<{ hash: string }>(
        'SELECT hash FROM audit_events WHERE id <= $1 ORDER BY id DESC LIMIT 1', [after])
      let priorHash: string | null = predecessor.rows[0]?.hash ?? null
      let hasPrior = predecessor.rows.length > 0
      let checked = 0
      for (;;) {
        const result = await pool.query<VerifyChunkRow>(VERIFY_CHUNK_SQL, [after, toId, VERIFY_CHUNK, priorHash, hasPrior])
        const chunk = result.rows[0] as VerifyChunkRow
        checked += chunk.checked
        if (chunk.bad_id !== null) {
          const reason = chunk.bad_hash_ok === true
            ? `row ${chunk.bad_id} does not link to the row before it: a row before it was deleted or changed`
            : `row ${chunk.bad_id} does not match its hash: its content was changed`
          return { valid: false, checked, firstInvalid: chunk.bad_id, reason }
        }
        if (chunk.checked < VERIFY_CHUNK || chunk.last_id === null) return { valid: true, checked, firstInvalid: null }
        after = chunk.last_id
        priorHash = chunk.last_hash
        hasPrior = true
      }
    },

    async ready (): Promise<boolean> {
      try {
        return (await pendingMigrations(pool)).length === 0
      } catch {
        return false
      }
    },
  }
}
