// In-process migration runner, compatible with `prisma migrate deploy`: it applies
// prisma/migrations/*/migration.sql in name order and records each in Prisma's own
// `_prisma_migrations` table with the same checksum (sha256 of the file), so the CLI and this
// runner agree on what is applied. Used at start-up: the CLI's JS engine lingers ~10 s per run.
import { createHash, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { packageRoot } from '../package-root.js'

export interface MigrationLogger {
  info(message: string): void
  warn(message: string): void
}

export interface MigrationStatus {
  applied: string[]
  pending: string[]
}

interface Migration {
  name: string
  script: string
  checksum: string
}

type Queryable = Pick<pg.ClientBase, 'query'>

// Prisma Migrate's own lock key: the runner and `prisma migrate deploy` never run at once.
const MIGRATION_LOCK_KEY = 72707369

// Prisma's DDL for its bookkeeping table (as `prisma migrate deploy` creates it).
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`

/** prisma/migrations of this package, found from this file whether it runs from src/ or dist/. */
export function migrationsDirectory (): string {
  return join(packageRoot(), 'prisma', 'migrations')
}

let migrationsOnDisk: Promise<Migration[]> | undefined

/** The migrations shipped with the package, in the order Prisma applies them. Read once. */
function readMigrations (): Promise<Migration[]> {
  migrationsOnDisk ??= (async () => {
    const root = migrationsDirectory()
    const entries = await readdir(root, { withFileTypes: true })
    const names = entries
      .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'migration.sql')))
      .map((entry) => entry.name)
      .sort()
    return Promise.all(names.map(async (name) => {
      const script = await readFile(join(root, name, 'migration.sql'), 'utf8')
      return { name, script, checksum: createHash('sha256').update(script).digest('hex') }
    }))
  })()
  return migrationsOnDisk
}

interface MigrationRecord {
  migration_name: string
  checksum: string
  finished_at: Date | null
  rolled_back_at: Date | null
}

async function readRecords (client: Queryable): Promise<MigrationRecord[]> {
  const exists = await client.query<{ table: string | null }>(`SELECT to_regclass('_prisma_migrations')::text AS table`)
  if (exists.rows[0]?.table == null) return []
  const records = await client.query<MigrationRecord>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at')
  return records.rows
}

function appliedNames (records: MigrationRecord[]): Set<string> {
  return new Set(records
    .filter((record) => record.finished_at !== null && record.rolled_back_at === null)
    .map((record) => record.migration_name))
}

/** Which of the package's migrations the database has applied, and which it still lacks. */
export async function migrationStatus (client: Queryable): Promise<MigrationStatus> {
  const [migrations, records] = await Promise.all([readMigrations(), readRecords(client)])
  const applied = appliedNames(records)
  return {
    applied: migrations.filter((migration) => applied.has(migration.name)).map((migration) => migration.name),
    pending: migrations.filter((migration) => !applied.has(migration.name)).map((migration) => migration.name),
  }
}

/** Names of the package's migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations (client: Queryable): Promise<string[]> {
  return (await migrationStatus(client)).pending
}

/**
 * Applies the pending migrations, each in one transaction together with its `_prisma_migrations`
 * row, under Prisma's advisory lock (concurrent starters wait; the later ones find nothing to do).
 * Returns the names applied by this call.
 */
export async function applyMigrations (connectionString: string, options: { logger?: MigrationLogger } = {}): Promise<string[]> {
  const { logger } = options
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    await client.query(CREATE_MIGRATIONS_TABLE)
    const records = await readRecords(client)
    const failed = records.find((record) => record.finished_at === null && record.rolled_back_at === null)
    if (failed !== undefined) {
      throw new Error(`migration ${failed.migration_name} failed earlier and is recorded as unfinished in ` +
        '_prisma_migrations: repair the schema by hand, then delete or mark that row rolled back')
    }
    const migrations = await readMigrations()
    const applied = appliedNames(records)
    for (const record of records) {
      const migration = migrations.find((candidate) => candidate.name === record.migration_name)
      if (migration !== undefined && applied.has(migration.name) && migration.checksum !== record.checksum) {
        logger?.warn(`migration ${migration.name} was edited after it was applied (checksum differs)`)
      }
    }
    const done: string[] = []
    for (const migration of migrations.filter((candidate) => !applied.has(candidate.name))) {
      await applyOne(client, migration)
      logger?.info(`applied migration ${migration.name}`)
      done.push(migration.name)
    }
    return done
  } finally {
    // Ending the session releases the advisory lock too.
    await client.end()
  }
}

async function applyOne (client: pg.Client, migration: Migration): Promise<void> {
  await client.query('BEGIN')
  try {
    // One simple-protocol query: dollar-quoted function bodies stay intact.
    await client.query(migration.script)
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), clock_timestamp(), 1)`,
      [randomUUID(), migration.checksum, migration.name])
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK')
    throw new Error(`migration ${migration.name} failed and was rolled back: ${(error as Error).message}`, { cause: error })
  }
}
