// A fresh, migrated Postgres database per test file on the machine's server (127.0.0.1:5432,
// user postgres, trust auth), dropped again on teardown.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { applyMigrations } from '../../src/db/migrate.js'

export interface TestDatabase {
  connectionString: string
  drop(): Promise<void>
}

const SERVER = 'postgresql://postgres@127.0.0.1:5432'

async function onAdminDatabase (sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: `${SERVER}/postgres` })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

/**
 * Creates `guestgate_test_<random>` and applies the migrations (unless `migrate: false`, for
 * tests of the migrations themselves); pass tap's `t` to drop it when the test ends.
 */
export async function createTestDatabase (
  t?: { teardown(fn: () => unknown): void },
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `guestgate_test_${randomBytes(6).toString('hex')}`
  await onAdminDatabase(`CREATE DATABASE "${name}"`)
  let dropped = false
  const drop = async (): Promise<void> => {
    if (dropped) return
    dropped = true
    await onAdminDatabase(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  }
  t?.teardown(drop)
  const connectionString = `${SERVER}/${name}`
  try {
    if (options.migrate !== false) await applyMigrations(connectionString)
  } catch (error) {
    await drop()
    throw error
  }
  return { connectionString, drop }
}
