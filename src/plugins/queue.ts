// The job queue for work that outlives a request (bulk invitation rows, expiry, webhook deliveries):
// pg-boss on the same Postgres, through the app's own connection pool (so the embedded database's
// one-connection rule holds, and its timeouts apply). Its schema comes from a migration, so the
// service runs it as the least-privileged role (`migrate: false`). Each job runs in one replica
// (jobs are fetched with SKIP LOCKED); a job whose process died is retried after its expiry.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import PgBoss from 'pg-boss'
import { poolOf } from '../db/prisma-client.js'

declare module 'fastify' {
  interface FastifyInstance {
    queue: PgBoss
  }
}

export default fp(async function queue(app: FastifyInstance) {
  const pool = poolOf(app.prisma)
  const boss = new PgBoss({
    db: { executeSql: (text: string, values?: unknown[]) => pool.query(text, values) },
    schema: 'pgboss',
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
