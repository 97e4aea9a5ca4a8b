// Settles audit intents that never got an outcome (the process died, or Graph could not be read
// when its answer was unclear) by reading Graph for the write's effect, and appends an outcome row
// with status `reconciled` saying what Graph showed. Never sends a write again.
// One replica at a time (a session-level advisory lock); each pass starts above the previous
// pass's watermark, so it reads only the recent part of the log.
import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import type pg from 'pg'
import type { AuditEntryInput, AuditEvent, AuditStore } from '../audit/types.js'
import type { PrismaClient } from '../db/prisma-client.js'
import type { AuditedGraph } from './audited-graph.js'

export interface ReconcilerRunSummary {
  replica: string
  startedAt: string
  finishedAt: string
  /** Intents old enough that had no outcome. */
  examined: number
  /** Settled: Graph showed the change made / not made / cannot show it. */
  present: number
  absent: number
  unknown: number
  /** Graph could not be read for them this time: left for the next pass. */
  unreadable: number
  /** Intents without outcome after the pass (too recent to settle, or unreadable). */
  unsettled: number
  /** Every intent at or below this audit id has an outcome. */
  watermark: string
  error: string | null
}

export interface ReconcilerEvents {
  run: [summary: ReconcilerRunSummary]
}

export interface ReconcilerOptions {
  prisma: PrismaClient
  pool: pg.Pool
  audit: AuditStore
  graphOps: AuditedGraph
  /** An intent this old without outcome is settled (longer than any Graph call may take). */
  afterSeconds: number
  /** Embedded Postgres has one connection and one process: no lock to hold (and none to spare). */
  singleConnection: boolean
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void }
  /** Runs after each pass that held the lock (housekeeping such as expired idempotency keys). */
  maintenance?: () => Promise<unknown>
}

const LOCK_KEY = 'guestgate:reconciler'
const BATCH = 200

const toSummary = (row: { replica: string; startedAt: Date; finishedAt: Date; examined: number; present: number; absent: number; unknown: number; unreadable: number; unsettled: number; watermark: bigint; error: string | null }): ReconcilerRunSummary => ({
  replica: row.replica,
  startedAt: row.startedAt.toISOString(),
  finishedAt: row.finishedAt.toISOString(),
  examined: row.examined,
  present: row.present,
  absent: row.absent,
  unknown: row.unknown,
  unreadable: row.unreadable,
  unsettled: row.unsettled,
  watermark: row.watermark.toString(),
  error: row.error,
})

function outcomeOf(intent: AuditEvent): Omit<AuditEntryInput, 'status'> {
  return {
    operationId: intent.operationId,
    requestId: intent.requestId,
    correlationId: intent.correlationId,
    actor: intent.actor,
    action: intent.action,
    target: intent.target,
    decision: intent.decision,
    ruleId: intent.ruleId,
    reason: intent.reason,
    policyVersion: intent.policyVersion,
    requestSummary: intent.requestSummary,
  }
}

const WORDS = {
  present: 'Graph shows the change was made',
  absent: 'Graph shows the change was not made',
  unknown: 'Graph cannot show whether the change was made',
} as const

export class Reconciler extends EventEmitter<ReconcilerEvents> {
  readonly replica = `${hostname()}:${process.pid}`
  #running: Promise<ReconcilerRunSummary | null> | undefined

  constructor(private readonly options: ReconcilerOptions) {
    super()
  }

  /** One pass; null when another replica is running one. Concurrent calls share the pass. */
  runOnce(): Promise<ReconcilerRunSummary | null> {
    this.#running ??= this.#locked().finally(() => { this.#running = undefined })
    return this.#running
  }

  /** Resolves when no pass is running. */
  async idle(): Promise<void> {
    await this.#running?.catch(() => {})
  }

  async lastRun(): Promise<ReconcilerRunSummary | null> {
    const row = await this.options.prisma.reconcilerRun.findFirst({ orderBy: { id: 'desc' } })
    return row ? toSummary(row) : null
  }

  /** Intents without outcome now (the pass's watermark bounds the search). */
  async unsettledCount(): Promise<number> {
    const last = await this.options.prisma.reconcilerRun.findFirst({ orderBy: { id: 'desc' }, select: { watermark: true } })
    return (await this.options.audit.countUnsettled((last?.watermark ?? 0n).toString())).count
  }

  async #locked(): Promise<ReconcilerRunSummary | null> {
    if (this.options.singleConnection) return this.#pass()
    const client = await this.options.pool.connect()
    const onError = (err: Error) => this.options.log?.warn({ err }, 'reconciler: its database connection failed')
    client.on('error', onError)
    let healthy = true
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [LOCK_KEY])
      if (!rows[0]?.locked) return null
      try {
        return await this.#pass()
      } finally {
        healthy = await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [LOCK_KEY]).then(() => true, () => false)
      }
    } catch (error) {
      healthy = false
      throw error
    } finally {
      client.off('error', onError)
      client.release(!healthy)
    }
  }

  async #pass(): Promise<ReconcilerRunSummary> {
    const { prisma, audit, afterSeconds, log } = this.options
    const startedAt = new Date()
    const counts = { examined: 0, present: 0, absent: 0, unknown: 0, unreadable: 0 }
    let error: string | null = null
    const previous = await prisma.reconcilerRun.findFirst({ orderBy: { id: 'desc' }, select: { watermark: true } })
    const from = (previous?.watermark ?? 0n).toString()
    // Rows up to here are committed (ids follow commit order): the watermark never passes them unseen.
    const lastId = await audit.lastId()
    const before = new Date(startedAt.getTime() - afterSeconds * 1000)
    try {
      let after = from
      for (;;) {
        const intents = await audit.unsettledIntents({ afterId: after, before, limit: BATCH })
        for (const intent of intents) {
          // Still under way in this process (a slow Graph, a busy machine): its own outcome comes.
          if (this.options.graphOps.isSettling(intent.correlationId)) continue
          counts.examined++
          const settled = await this.#settle(intent)
          counts[settled]++
        }
        if (intents.length < BATCH) break
        after = intents[intents.length - 1]!.id
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err)
      log?.error({ err }, 'reconciler pass failed')
    }
    const left = await audit.countUnsettled(from)
    const watermark = left.oldestId === null ? BigInt(lastId) : BigInt(left.oldestId) - 1n
    const row = await prisma.reconcilerRun.create({
      data: {
        replica: this.replica, startedAt, finishedAt: new Date(), ...counts, unsettled: left.count,
        watermark: watermark > BigInt(lastId) ? BigInt(lastId) : watermark, error,
      },
    })
    await this.options.maintenance?.().catch((err: unknown) => log?.warn({ err }, 'reconciler maintenance failed'))
    const summary = toSummary(row)
    log?.info({ reconciler: summary }, 'reconciler pass finished')
    this.emit('run', summary)
    return summary
  }

  async #settle(intent: AuditEvent): Promise<'present' | 'absent' | 'unknown' | 'unreadable'> {
    const { audit, graphOps, log } = this.options
    let effect
    try {
      effect = await graphOps.verify(intent.action, intent.requestSummary.params)
    } catch (err) {
      log?.warn({ err, operationId: intent.operationId }, 'reconciler: Graph could not be read for this write; next pass')
      return 'unreadable'
    }
    await audit.append({
      ...outcomeOf(intent),
      status: 'reconciled',
      message: `Settled by the reconciler: the write's answer was never recorded; ${WORDS[effect.effect]}${effect.effect === 'unknown' ? ` (${effect.reason})` : ''}.`,
      requestSummary: { ...intent.requestSummary, settlement: { by: 'reconciler', effect: effect.effect, intentId: intent.id } },
    })
    return effect.effect
  }
}
