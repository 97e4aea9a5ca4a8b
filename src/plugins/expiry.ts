// The expiry scheduler: a pg-boss cron schedule queues one sweep a minute for all replicas
// (pg-boss sends each cron job once, whoever's clock ticks first), and a Postgres advisory lock
// held by the sweeping replica keeps a second sweep, queued by another replica or at start, from
// running beside it. A sweep publishes reminders (expiry.reminder) and takes away what has
// expired. Its time comes from an injectable clock (tests move it forward without waiting).
import { EventEmitter } from 'node:events'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import pg from 'pg'
import type { AuditActor } from '../audit/types.js'
import { expiryPrincipal } from '../auth/principal.js'
import { DAY_MS, expireItem, type ItemResult } from '../operations/expiry.js'
import { listSponsorsOf } from '../operations/sponsors.js'
import { SCHEDULED_JOB_POLL_SECONDS } from './queue.js'

export const EXPIRY_SWEEP_QUEUE = 'expiry-sweep'
/** Every minute: the finest a pg-boss cron schedule goes. */
const SWEEP_CRON = '* * * * *'
/** Items one sweep takes away at most; the rest wait for the next sweep (a minute later). */
const SWEEP_BATCH = 500
const LOCK_KEY = 'guestgate:expiry-sweep'

export interface SweepReport {
  /** The queue job that ran it. */
  jobId: string
  /** false: another replica was sweeping, this one did nothing. */
  ran: boolean
  reminders: number
  expired: ItemResult[]
  failed: ItemResult[]
  /** The clock's time the sweep went by. */
  at: string
}

export interface ExpiryScheduler {
  /** The scheduler's clock: routes check expiries against the same time the sweep uses. */
  now(): Date
  /** Queues a sweep now (start-up catches up; tests move the clock and ask for one): its job id,
   *  which the `swept` report of that sweep carries. */
  sweepNow(): Promise<string>
  /** `swept` after every sweep this replica ran or skipped. */
  readonly events: EventEmitter<{ swept: [SweepReport] }>
}

declare module 'fastify' {
  interface FastifyInstance {
    expiry: ExpiryScheduler
  }
}

export interface ExpiryPluginOptions {
  /** The time the sweep goes by (default: the system clock). */
  clock?: () => Date
}

export default fp(async function expiry(app: FastifyInstance, opts: ExpiryPluginOptions) {
  const clock = opts.clock ?? (() => new Date())
  const events = new EventEmitter<{ swept: [SweepReport] }>()
  let sweeping = false

  /** Another replica's sweep holds the lock: a session lock on a connection of its own, so a
   *  replica killed mid-sweep releases it with its connection. The embedded database (one
   *  process, one connection) only needs the in-process flag. */
  async function exclusively(work: () => Promise<Omit<SweepReport, 'ran' | 'at' | 'jobId'>>): Promise<Omit<SweepReport, 'jobId'>> {
    const at = clock().toISOString()
    if (sweeping) return { ran: false, reminders: 0, expired: [], failed: [], at }
    sweeping = true
    const client = app.config.databaseUrl ? new pg.Client({ connectionString: app.config.databaseUrl }) : undefined
    try {
      if (client) {
        // A connection the server ends (restart, failover) must not end the process.
        client.on('error', (err) => app.log.warn({ err }, 'the expiry sweep lost its lock connection'))
        await client.connect()
        const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [LOCK_KEY])
        if (!rows[0]?.locked) return { ran: false, reminders: 0, expired: [], failed: [], at }
      }
      return { ran: true, at, ...await work() }
    } finally {
      sweeping = false
      // Closing the connection releases the lock.
      await client?.end().catch(() => {})
    }
  }

  async function remind(now: Date): Promise<number> {
    const days = [...(app.policies.current().policy.expiry?.reminderDaysBefore ?? [])].sort((a, b) => a - b)
    if (days.length === 0) return 0
    const horizon = new Date(now.getTime() + days.at(-1)! * DAY_MS)
    const upcoming = await app.prisma.accessExpiry.findMany({ where: { state: 'active', expiresAt: { gt: now, lte: horizon } }, orderBy: { expiresAt: 'asc' } })
    let sent = 0
    for (const item of upcoming) {
      const left = item.expiresAt.getTime() - now.getTime()
      const due = days.filter((d) => left <= d * DAY_MS && !item.remindedDays.includes(d))
      if (due.length === 0) continue
      // Published first, then marked: at least once (a crash between repeats a reminder, never loses one).
      const grantedBy = item.grantedBy as unknown as AuditActor
      // Whom to tell: the guest's sponsors (read from Graph), and the grantor. A guest Graph no
      // longer has (or a failed read) still gets its reminder, to the grantor.
      const caller = app.callerFor(expiryPrincipal(app.config.tenantId), { requestId: `expiry-reminder-${item.id}` })
      const sponsorIds = await listSponsorsOf(app, caller, item.guestId).then((sponsors) => sponsors.map((s) => s.id), () => [])
      app.events.publish({
        type: 'expiry.reminder',
        data: {
          expiryId: item.id, guestId: item.guestId, kind: item.kind, subject: item.subject, label: item.label,
          expiresAt: item.expiresAt.toISOString(), daysBefore: due[0]!,
          sponsorIds, grantedBy: { oid: grantedBy.oid, name: grantedBy.name },
        },
      })
      await app.prisma.accessExpiry.update({ where: { id: item.id }, data: { remindedDays: [...item.remindedDays, ...due], updatedAt: new Date() } })
      sent++
    }
    return sent
  }

  async function sweep(): Promise<Omit<SweepReport, 'jobId'>> {
    return exclusively(async () => {
      const now = clock()
      const reminders = await remind(now)
      const expired: ItemResult[] = []
      const failed: ItemResult[] = []
      const due = await app.prisma.accessExpiry.findMany({ where: { state: 'active', expiresAt: { lte: now } }, orderBy: [{ expiresAt: 'asc' }, { id: 'asc' }], take: SWEEP_BATCH })
      for (const item of due) {
        // A guest's expiry may have ended the others of that guest meanwhile.
        const current = await app.prisma.accessExpiry.findUnique({ where: { id: item.id } })
        if (current?.state !== 'active') continue
        const result = await expireItem(app, current).catch((error: unknown): ItemResult => {
          app.log.error({ err: error, expiryId: item.id }, 'an expiry could not be carried out; the next sweep tries again')
          return { expiryId: item.id, status: 'failed', parts: [] }
        })
        if (result.status === 'done') {
          expired.push(result)
          app.log.info({ expiryId: item.id, kind: item.kind, guestId: item.guestId, parts: result.parts.map((p) => p.status) }, 'expiry carried out')
          app.events.publish({ type: 'guest.access.expired', data: { expiryId: item.id, guestId: item.guestId, kind: item.kind, subject: item.subject, label: item.label, parts: result.parts } })
        } else {
          failed.push(result)
        }
      }
      return { reminders, expired, failed }
    })
  }

  await app.queue.createQueue(EXPIRY_SWEEP_QUEUE, { name: EXPIRY_SWEEP_QUEUE, policy: 'standard', retryLimit: 0, expireInSeconds: 15 * 60 })
  await app.queue.schedule(EXPIRY_SWEEP_QUEUE, SWEEP_CRON)
  const workerId = await app.queue.work(EXPIRY_SWEEP_QUEUE, { pollingIntervalSeconds: SCHEDULED_JOB_POLL_SECONDS }, async ([job]) => {
    const report = { jobId: job!.id, ...await sweep() }
    app.log.info({ ran: report.ran, reminders: report.reminders, expired: report.expired.length, failed: report.failed.length }, 'expiry sweep finished')
    events.emit('swept', report)
  })

  const scheduler: ExpiryScheduler = {
    now: clock,
    events,
    async sweepNow() {
      const id = await app.queue.send(EXPIRY_SWEEP_QUEUE, {})
      app.queue.notifyWorker(workerId)
      return id!
    },
  }
  app.decorate('expiry', scheduler)
  // What expired while no replica ran is taken away at start, not a minute later.
  app.addHook('onReady', async () => { await scheduler.sweepNow() })
}, { name: 'expiry', dependencies: ['config', 'database', 'queue', 'events', 'graph', 'authorization'] })
