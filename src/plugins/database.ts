// Postgres for the audit log: the configured DATABASE_URL, or in sandbox mode an embedded
// PGlite server kept under the data folder. Migrations are applied before anything is served.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import path from 'node:path'
import { startEmbeddedPostgres } from '../db/embedded-postgres.js'
import { applyMigrations } from '../db/migrate.js'
import { createPrismaClient, type PrismaClient } from '../db/prisma-client.js'

declare module 'fastify' {
  interface FastifyInstance {
    prisma: PrismaClient
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
    prisma = createPrismaClient(connectionString, { maxConnections, onPoolError: (err) => app.log.warn({ err }, 'database connection lost') })
  } catch (error) {
    await embedded?.stop()
    throw error
  }
  app.decorate('prisma', prisma)
  // Clients first, then the embedded server they talk to.
  app.addHook('onClose', async () => {
    await prisma.$disconnect()
    await embedded?.stop()
  })
}, { name: 'database', dependencies: ['config'] })
