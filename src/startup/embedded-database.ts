// Sandbox mode without DATABASE_URL: embedded Postgres under the data folder, started and
// migrated on a thread of its own (src/db/embedded-postgres-thread.ts) under its own timeout
// (GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS), with progress lines, because creating it takes many
// seconds on a busy machine: far past Fastify's plugin timeout.
import path from 'node:path'
import type { AppConfig } from '../config.js'
import type { EmbeddedPostgres } from '../db/embedded-postgres.js'
import { EmbeddedPostgresThreadError, EmbeddedPostgresTimeoutError, startEmbeddedPostgresThread } from '../db/embedded-postgres-thread.js'
import { StartupError } from './startup-error.js'

interface ProgressLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

export const embeddedDataDir = (config: Pick<AppConfig, 'dataDir'>) => path.join(config.dataDir, 'pglite')

export async function openEmbeddedDatabase(config: Pick<AppConfig, 'dataDir' | 'embeddedDbTimeoutMs'>, log: ProgressLogger): Promise<EmbeddedPostgres> {
  try {
    return await startEmbeddedPostgresThread({
      dataDir: embeddedDataDir(config),
      migrate: true,
      timeoutMs: config.embeddedDbTimeoutMs,
      onProgress: (message, { dataDir, elapsedMs }) => log.info({ dataDir, elapsedSeconds: Math.round(elapsedMs / 1000) }, message),
      onLog: (level, message) => log[level]({}, message),
    })
  } catch (error) {
    if (error instanceof EmbeddedPostgresTimeoutError) {
      throw new StartupError('GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS', `${error.message}: the machine is busy or slow; ` +
        'raise GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS, or set DATABASE_URL to use a Postgres server', { cause: error })
    }
    const message = (error as Error).message
    if (error instanceof EmbeddedPostgresThreadError && error.stage === 'migrate') {
      throw new StartupError('GUESTGATE_DATA_DIR', `the embedded database in ${config.dataDir} could not be migrated (${message}): ` +
        'run `npm run sandbox:reset` to start over', { cause: error })
    }
    if (/in use by process/.test(message)) {
      throw new StartupError('GUESTGATE_DATA_DIR', message.replace(/^embedded Postgres: /, ''), { cause: error })
    }
    throw new StartupError('GUESTGATE_DATA_DIR', `the embedded database in ${config.dataDir} could not start (${message}): ` +
      'run `npm run sandbox:reset` to start over, or set DATABASE_URL', { cause: error })
  }
}
