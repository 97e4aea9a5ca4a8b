// Postgres for the audit log: the configured DATABASE_URL, or in sandbox mode an embedded
// PGlite server kept under the data folder. Migrations are applied before anything is served.
// Every connection has timeouts, and a probe watches the server: while it does not answer,
// every route except those marked `availableWithoutDatabase` answers 503 at once.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import path from 'node:path'
import { DatabaseHealth, isDatabaseUnreachable } from '../db/database-health.js'
import { startEmbeddedPostgres } from '../db/embedded-postgres.js'
import { applyMigrations } from '../db/migrate.js'
import { createPrismaClient, poolOf, type PrismaClient } from '../db/prisma-client.js'
import { databaseUnavailable } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient
    databaseHealth: DatabaseHealth
  }
  interface FastifyContextConfig {
    /** Served while the database is down (liveness, metrics). */
    availableWithoutDatabase?: boolean
  }
}

export default fp(async function database(app: FastifyInstance) {
  const { config } = app
  let connectionString: string
  let maxConnections = config.databasePoolSize
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined
  if (config.databaseUrl) {
    connectionString = config.databaseUrl
  } else {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pglite') })
    connectionString = embedded.connectionString
    // PGlite has one backend: more than one pooled connection interleaves transactions.
    maxConnections = 1
    app.log.warn({ dataDir: config.dataDir }, 'using embedded Postgres (PGlite): for trials only')
  }
  // Embedded Postgres is always ours to migrate; a shared one only when configured to.
  let prisma
  try {
    if (config.applyMigrations || !config.databaseUrl) await applyMigrations(connectionString, { logger: app.log })
    prisma = createPrismaClient(connectionString, {
      maxConnections,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      queryTimeoutMs: config.databaseQueryTimeoutMs,
      onPoolError: (err) => app.log.warn({ err }, 'database connection lost'),
    })
  } catch (error) {
    await embedded?.stop()
    throw error
  }
  app.decorate('prisma', prisma)

  const health = new DatabaseHealth()
  app.decorate('databaseHealth', health)
  health.on('change', (healthy) => {
    if (healthy) app.log.info('database reachable again: serving')
    else app.log.error('database unreachable: answering 503 until it is back')
  })
  const pool = poolOf(prisma)
  let probing: Promise<void> | undefined
  const probe = () => {
    probing ??= pool.query('SELECT 1')
      .then(() => { health.set(true) }, (err: unknown) => {
        if (health.healthy) app.log.warn({ err }, 'database probe failed')
        health.set(false)
      })
      .finally(() => { probing = undefined })
    return probing
  }
  const timer = setInterval(() => { void probe() }, config.databaseHealthIntervalMs)
  timer.unref()

  app.addHook('onRequest', async (request) => {
    if (health.healthy || request.routeOptions.config.availableWithoutDatabase) return
    throw databaseUnavailable()
  })
  // A request that found the database gone says so at once, not at the next probe.
  app.addHook('onError', async (_request, _reply, error) => {
    if (isDatabaseUnreachable(error) && health.healthy) {
      health.set(false)
      void probe()
    }
  })

  // Clients first, then the embedded server they talk to.
  app.addHook('onClose', async () => {
    clearInterval(timer)
    await probing
    await prisma.$disconnect()
    await embedded?.stop()
  })
}, { name: 'database', dependencies: ['config'] })
