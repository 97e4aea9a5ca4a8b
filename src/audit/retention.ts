// Retention for the append-only audit log: archive the oldest rows to an NDJSON file, record the
// cut in the chain (a checkpoint row), then delete them through the database's only delete path,
// audit_prune_through(). Runs as the owner of audit_events (guestgate_app may not execute that
// function). Procedure and recovery: docs/audit-retention.md.
import { createHash, randomUUID } from 'node:crypto'
import { open } from 'node:fs/promises'
import { basename } from 'node:path'
import type pg from 'pg'
import { poolOf, type PrismaClient } from '../db/prisma-client.js'
import { toNdjsonLine } from './audit-export.js'
import { createAuditStore } from './audit-store.js'
import { CHECKPOINT_ACTION, EVENT_COLUMNS, toAuditEvent, type EventRow } from './audit-rows.js'
import type { AuditActor, AuditEvent } from './types.js'

export { CHECKPOINT_ACTION }

export interface ArchiveAndPruneOptions {
  /** Rows older than this many days are pruned (only a prefix of the chain: the first newer row
   *  stops the cut). */
  olderThanDays: number
  /** The NDJSON archive to write; must not exist yet. Its sha256 goes to `<archivePath>.sha256`. */
  archivePath: string
  /** Who runs the retention, as recorded on the checkpoint row. */
  actor?: AuditActor
  policyVersion?: string
  now?: Date
}

export interface ArchiveAndPruneResult {
  /** Rows written to the archive and deleted; 0 when nothing was old enough (no file written). */
  rows: number
  prunedThroughId: string | null
  cutHash: string | null
  archiveSha256: string | null
  checkpoint: AuditEvent | null
}

const RETENTION_ACTOR: AuditActor = { oid: 'guestgate-retention', name: 'guestgate retention', tenantId: '', roles: [] }
const ARCHIVE_BATCH = 1000
const DAY_MS = 24 * 60 * 60 * 1000

export async function archiveAndPrune (prisma: PrismaClient, options: ArchiveAndPruneOptions): Promise<ArchiveAndPruneResult> {
  if (!(options.olderThanDays >= 0)) throw new RangeError('olderThanDays must be a number >= 0')
  const pool = poolOf(prisma)
  const threshold = new Date((options.now ?? new Date()).getTime() - options.olderThanDays * DAY_MS)

  // The cut is the newest row such that it and every row before it are older than the threshold
  // (occurred_at never decreases along the chain: the first row at or after the threshold by time
  // is also the first by id).
  const cut = await pool.query<{ id: string; hash: string }>(
    `SELECT e.id, e.hash FROM audit_events e
     WHERE e.id < coalesce(
       (SELECT a.id FROM audit_events a WHERE a.occurred_at >= $1 ORDER BY a.occurred_at, a.id LIMIT 1),
       9223372036854775807)
     ORDER BY e.id DESC LIMIT 1`, [threshold])
  const cutRow = cut.rows[0]
  if (cutRow === undefined) return { rows: 0, prunedThroughId: null, cutHash: null, archiveSha256: null, checkpoint: null }

  const archive = await writeArchive(pool, cutRow.id, options.archivePath)

  const operationId = randomUUID()
  const checkpoint = await createAuditStore(prisma).append({
    operationId,
    requestId: operationId,
    correlationId: operationId,
    actor: options.actor ?? RETENTION_ACTOR,
    action: CHECKPOINT_ACTION,
    target: { type: 'audit_log' },
    decision: 'allowed',
    status: 'recorded',
    policyVersion: options.policyVersion ?? 'retention',
    requestSummary: {
      prunedThroughId: cutRow.id,
      cutHash: cutRow.hash,
      rows: archive.rows,
      archiveSha256: archive.sha256,
      archiveFile: basename(options.archivePath),
      olderThanDays: options.olderThanDays,
    },
    message: `archived and pruned ${archive.rows} rows through id ${cutRow.id}`,
  })
  await pool.query('SELECT audit_prune_through($1)', [cutRow.id])
  return { rows: archive.rows, prunedThroughId: cutRow.id, cutHash: cutRow.hash, archiveSha256: archive.sha256, checkpoint }
}

/** Writes rows 1..throughId in chain order as NDJSON, fsyncs it, and writes its sha256 beside it. */
async function writeArchive (pool: pg.Pool, throughId: string, archivePath: string): Promise<{ rows: number; sha256: string }> {
  const hash = createHash('sha256')
  let rows = 0
  const file = await open(archivePath, 'wx')
  try {
    let afterId = '0'
    for (;;) {
      const batch = await pool.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM audit_events e WHERE e.id > $1 AND e.id <= $2 ORDER BY e.id LIMIT $3`,
        [afterId, throughId, ARCHIVE_BATCH])
      if (batch.rows.length === 0) break
      const text = batch.rows.map((row) => toNdjsonLine(toAuditEvent(row))).join('')
      hash.update(text)
      await file.write(text)
      rows += batch.rows.length
      afterId = (batch.rows[batch.rows.length - 1] as EventRow).id
    }
    await file.sync()
  } finally {
    await file.close()
  }
  const sha256 = hash.digest('hex')
  const sidecar = await open(`${archivePath}.sha256`, 'wx')
  try {
    // The format of `sha256sum`, so `sha256sum -c <archive>.sha256` checks the archive.
    await sidecar.writeFile(`${sha256}  ${basename(archivePath)}\n`)
    await sidecar.sync()
  } finally {
    await sidecar.close()
  }
  return { rows, sha256 }
}
