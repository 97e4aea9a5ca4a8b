// Sandbox mode without DATABASE_URL: embedded Postgres under the data folder, started and
// migrated under its own timeout (GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS), with progress lines,
// because creating it takes many seconds on a busy machine: far past Fastify's plugin timeout.
import path from 'node:path'
import type { AppConfig } from '../config.js'
import { EmbeddedPostgresTimeoutError, startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded-postgres.js'
import { applyMigrations } from '../db/migrate.js'
import { StartupError } from './startup-error.js'

interface ProgressLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export const embeddedDataDir = (config: Pick<AppConfig, 'dataDir'>) => path.join(config.dataDir, 'pglite')

export async function openEmbeddedDatabase(config: Pick<AppConfig, 'dataDir' | 'embeddedDbTimeoutMs'>, log: ProgressLogger): Promise<EmbeddedPostgres> {
  let embedded: EmbeddedPostgres
  try {
    embedded = await startEmbeddedPostgres({
      dataDir: embeddedDataDir(config),
      timeoutMs: config.embeddedDbTimeoutMs,
      onProgress: (message, { dataDir, elapsedMs }) => log.info({ dataDir, elapsedSeconds: Math.round(elapsedMs / 1000) }, message),
    })
  } catch (error) {
    if (error instanceof EmbeddedPostgresTimeoutError) {
      throw new StartupError('GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS', `${error.message}: the machine is busy or slow; ` +
        'raise GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS, or set DATABASE_URL to use a Postgres server', { cause: error })
    }
    if (/in use by process/.test((error as Error).message)) {
      throw new StartupError('GUESTGATE_DATA_DIR', `${(error as Error).message.replace(/^embedded Postgres: /, '')}`, { cause: error })
    }
    throw new StartupError('GUESTGATE_DATA_DIR', `the embedded database in ${config.dataDir} could not start (${(error as Error).message}): ` +
      'run `npm run sandbox:reset` to start over, or set DATABASE_URL', { cause: error })
  }
  try {
    await applyMigrations(embedded.connectionString, { logger: { info: (m) => log.info({}, m), warn: (m) => log.warn({}, m) } })
  } catch (error) {
    await embedded.stop()
    throw new StartupError('GUESTGATE_DATA_DIR', `the embedded database in ${config.dataDir} could not be migrated (${(error as Error).message}): ` +
      'run `npm run sandbox:reset` to start over', { cause: error })
  }
  return embedded
}
