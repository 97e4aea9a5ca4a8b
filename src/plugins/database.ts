// Postgres for the audit log: the configured DATABASE_URL, or in sandbox mode an embedded
// PGlite server kept under the data folder. The database is reachable and migrated before
// anything is served; when it is not, the start stops with a line that names DATABASE_URL.
// Every connection has timeouts, and a probe watches the server: while it does not answer,
// every route except those marked `availableWithoutDatabase` answers 503 at once.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import pg from 'pg'
import type { AppConfig } from '../config.js'
import { DatabaseHealth, isDatabaseUnreachable } from '../db/database-health.js'
import type { EmbeddedPostgres } from '../db/embedded-postgres.js'
import { applyMigrations, pendingMigrations } from '../db/migrate.js'
import { createPrismaClient, poolOf, type PrismaClient } from '../db/prisma-client.js'
import { databaseUnavailable } from '../errors.js'
import { StartupError } from '../startup/startup-error.js'
import { errorCode } from '../startup/startup-failure.js'
import { embeddedDataDir, openEmbeddedDatabase } from '../startup/embedded-database.js'

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

export interface DatabasePluginOptions {
  /** Embedded Postgres already started and migrated (the server does it before the app, under its own timeout). */
  embedded?: EmbeddedPostgres
}

/** The least the embedded database's one connection is waited for (DATABASE_CONNECT_TIMEOUT_MS). */
export const EMBEDDED_CONNECT_WAIT_MS = 30_000

export default fp(async function database(app: FastifyInstance, opts: DatabasePluginOptions) {
  const { config } = app
  let connectionString: string
  let maxConnections = config.databasePoolSize
  let embedded = opts.embedded
  // Whoever started the embedded database also stops it.
  const ownsEmbedded = !embedded && !config.databaseUrl
  if (config.databaseUrl) {
    connectionString = config.databaseUrl
    await checkDatabase(config, app.log)
  } else {
    embedded ??= await openEmbeddedDatabase(config, app.log)
    connectionString = embedded.connectionString
    // PGlite has one backend: more than one pooled connection interleaves transactions.
    maxConnections = 1
    app.log.warn({ dataDir: embeddedDataDir(config) }, 'using embedded Postgres (PGlite): for trials only')
  }
  let prisma
  try {
    prisma = createPrismaClient(connectionString, {
      maxConnections,
      // With one connection for everything (embedded), waiting for it is the normal case on a busy
      // machine, not a sign that the database is gone.
      connectTimeoutMs: config.databaseUrl ? config.databaseConnectTimeoutMs : Math.max(config.databaseConnectTimeoutMs, EMBEDDED_CONNECT_WAIT_MS),
      queryTimeoutMs: config.databaseQueryTimeoutMs,
      onPoolError: (err) => app.log.warn({ err }, 'database connection lost'),
    })
  } catch (error) {
    if (ownsEmbedded) await embedded?.stop()
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

  app.addHook('onRequest', (request, _reply, done) => {
    done(health.healthy || request.routeOptions.config.availableWithoutDatabase ? undefined : databaseUnavailable())
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
    if (ownsEmbedded) await embedded?.stop()
  })
}, { name: 'database', dependencies: ['config'] })

/** Can we connect, and is the schema current (applying the migrations when configured to)? */
async function checkDatabase(config: AppConfig, log: FastifyBaseLogger): Promise<void> {
  const url = config.databaseUrl!
  const where = describeServer(url)
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 })
  try {
    await client.connect()
    if (!config.applyMigrations) {
      const pending = await pendingMigrations(client)
      if (pending.length > 0) {
        throw new StartupError('DATABASE_URL', `the database at ${where} lacks ${pending.length} migration(s) (${pending.join(', ')}) ` +
          'and GUESTGATE_APPLY_MIGRATIONS is false: run `npx prisma migrate deploy` as the owner, or set GUESTGATE_APPLY_MIGRATIONS=true')
      }
    }
  } catch (error) {
    throw databaseStartupError(error, where)
  } finally {
    await client.end().catch(() => {})
  }
  if (config.applyMigrations) {
    await applyMigrations(url, { logger: { info: (m) => log.info(m), warn: (m) => log.warn(m) } })
      .catch((error: unknown) => { throw databaseStartupError(error, where) })
  }
}

const CONNECT_HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing listens there: start Postgres, or correct DATABASE_URL',
  ENOTFOUND: 'the host name does not resolve: correct DATABASE_URL',
  EAI_AGAIN: 'the host name does not resolve: correct DATABASE_URL',
  ETIMEDOUT: 'no answer: check DATABASE_URL and the network',
  EHOSTUNREACH: 'the host is unreachable: check DATABASE_URL and the network',
  '28P01': 'the password was refused: correct the credentials in DATABASE_URL',
  '28000': 'the server refused this user: correct the user in DATABASE_URL or the server\'s pg_hba.conf',
  '3D000': 'the database does not exist: create it, or correct its name in DATABASE_URL',
  '42501': 'this user lacks a privilege the start needs: migrate as the owner (GUESTGATE_APPLY_MIGRATIONS=false for the service role)',
}

export function databaseStartupError(error: unknown, where: string): Error {
  if (error instanceof StartupError) return error
  const code = errorCode(error)
  const message = (error as Error).message ?? String(error)
  const timedOut = /timeout/i.test(message)
  const hint = CONNECT_HINTS[code] ?? (timedOut ? CONNECT_HINTS.ETIMEDOUT : `${message}: check DATABASE_URL`)
  return new StartupError('DATABASE_URL', `cannot use the database at ${where}${code ? ` (${code})` : ''}: ${hint}`, { cause: error })
}

/** host:port/database, never the credentials. */
function describeServer(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`
  } catch {
    return '(unparseable URL)'
  }
}
