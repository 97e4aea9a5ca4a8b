// The job queue for work that outlives a request (bulk invitation rows, expiry, webhook deliveries):
// pg-boss on the same Postgres, through the app's own connection pool (so the embedded database's
// one-connection rule holds, and its timeouts apply). Its schema comes from a migration, so the
// service runs it as the least-privileged role (`migrate: false`). Each job runs in one replica
// (jobs are fetched with SKIP LOCKED); a job whose process died is retried after its expiry.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createRequire } from 'node:module'
import PgBoss from 'pg-boss'
import { poolOf } from '../db/prisma-client.js'

// pg-boss 10.4.2's workers complete and fail jobs without awaiting (manager.js, work()'s onFetch):
// with the database gone at that moment the rejection is unhandled and ends the process. Those two
// statements, and only they, are answered "nothing changed" when they fail: the job stays active
// and runs again after its expiry, which every job here tolerates (each is idempotent).
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as { completeJobs(schema: string): string; failJobsById(schema: string): string }
const SCHEMA = 'pgboss'
const FIRE_AND_FORGET = new Set([plans.completeJobs(SCHEMA), plans.failJobsById(SCHEMA)])

/** How often an idle worker of a cron-scheduled queue (expiry sweep, invitation poll: once a
 *  minute or less) looks for its job; a start-up sweep wakes its worker instead. */
export const SCHEDULED_JOB_POLL_SECONDS = 10

/** Workers of one queue that a local send wakes, and that start the next job as soon as one ends:
 *  pg-boss would otherwise wait out the poll between jobs, so the poll is left for jobs sent by
 *  other replicas and for retries falling due. One job per fetch, with its retry metadata. */
export async function wakeableWorkers<T>(
  boss: PgBoss,
  queue: string,
  options: { count: number; pollingIntervalSeconds: number },
  handler: (job: PgBoss.JobWithMetadata<T>) => Promise<void>,
): Promise<{ wake: () => void }> {
  const ids: string[] = []
  const wake = () => { for (const id of ids) boss.notifyWorker(id) }
  for (let i = 0; i < options.count; i++) {
    ids.push(await boss.work<T>(queue, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: options.pollingIntervalSeconds }, async ([job]) => {
      if (!job) return
      try {
        await handler(job)
      } finally {
        wake()
      }
    }))
  }
  return { wake }
}

declare module 'fastify' {
  interface FastifyInstance {
    queue: PgBoss
  }
}

export default fp(async function queue(app: FastifyInstance) {
  const pool = poolOf(app.prisma)
  const boss = new PgBoss({
    db: {
      executeSql: (text: string, values?: unknown[]) => FIRE_AND_FORGET.has(text)
        ? pool.query(text, values).catch((err: unknown) => {
          app.log.warn({ err }, 'a job\'s completion could not be recorded; it runs again after its expiry')
          return { rows: [{ count: '0' }], rowCount: 0 }
        })
        : pool.query(text, values),
    },
    schema: SCHEMA,
    migrate: false,
    // Cron schedules and queue maintenance, each run by one replica at a time.
    schedule: true,
    supervise: true,
    // A job whose process died is retried once it is past its timeout and maintenance has run.
    maintenanceIntervalSeconds: app.config.queueMaintenanceSeconds,
  })
  boss.on('error', (err) => app.log.error({ err }, 'job queue error'))
  await boss.start()
  app.decorate('queue', boss)
  app.addHook('onClose', async () => {
    // Workers finish the jobs they hold; jobs not started stay queued for the next start.
    await boss.stop({ graceful: true, wait: true, timeout: 30_000 })
  })
}, { name: 'queue', dependencies: ['config', 'database'] })
