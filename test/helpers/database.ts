// A fresh, migrated Postgres database per test file on the machine's server (127.0.0.1:5432,
// user postgres, trust auth), dropped again on teardown.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { applyMigrations } from '../../src/db/migrate.js'
import { onAdminDatabase, POSTGRES_SERVER as SERVER, runTemplate } from '../setup/run-template.js'

export interface TestDatabase {
  connectionString: string
  drop(): Promise<void>
}

/**
 * Creates `guestgate_test_<random>`, migrated (a copy of the run's template, or migrated here)
 * unless `migrate: false` (tests of the migrations themselves); pass tap's `t` to drop it when
 * the test ends.
 */
export async function createTestDatabase (
  t?: { teardown(fn: () => unknown): void },
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `guestgate_test_${randomBytes(6).toString('hex')}`
  const template = options.migrate === false ? null : await runTemplate()
  // A copy of the run's migrated template when there is one; otherwise migrated below.
  const copied = template !== null && await onAdminDatabase(`CREATE DATABASE "${name}" TEMPLATE "${template}"`).then(() => true, () => false)
  if (!copied) await onAdminDatabase(`CREATE DATABASE "${name}"`)
  let dropped = false
  const drop = async (): Promise<void> => {
    if (dropped) return
    dropped = true
    await onAdminDatabase(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  }
  t?.teardown(drop)
  const connectionString = `${SERVER}/${name}`
  try {
    if (options.migrate !== false && !copied) await applyMigrations(connectionString)
  } catch (error) {
    await drop()
    throw error
  }
  return { connectionString, drop }
}

/** Runs one statement as the database's owner, outside the app (to break or change its state). */
export async function sql(connectionString: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    await client.query(text)
  } finally {
    await client.end()
  }
}
