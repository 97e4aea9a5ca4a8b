// The migrated database a test run copies for each test (CREATE DATABASE ... TEMPLATE): made by
// tap's `before` script, dropped by its `after` script, named in a file under .tap/ so that the
// test processes of this run find it. Copying is cheaper than migrating every test database
// (about a third of Postgres's CPU per database, and the runner's own work in each test process).
import { randomBytes } from 'node:crypto'
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import pg from 'pg'
import { REPO } from '../helpers/repo.js'

export const POSTGRES_SERVER = 'postgresql://postgres@127.0.0.1:5432'
const NAME_FILE = path.join(REPO, '.tap', 'guestgate-template-database')

/** Runs one statement on the server's `postgres` database (CREATE or DROP DATABASE). */
export async function onAdminDatabase (sql: string, server = POSTGRES_SERVER): Promise<void> {
  const admin = new pg.Client({ connectionString: `${server}/postgres` })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

async function readRunTemplate (): Promise<string | null> {
  const name = (await readFile(NAME_FILE, 'utf8').catch(() => '')).trim()
  return /^guestgate_template_[0-9a-f]+$/.test(name) ? name : null
}

let known: Promise<string | null> | undefined
/** This run's template, or null (a run without the before script, e.g. `node dist-test/test/<file>.test.js`);
 *  read once per test process. */
export const runTemplate = (): Promise<string | null> => (known ??= readRunTemplate())

export async function makeRunTemplate (migrate: (connectionString: string) => Promise<unknown>): Promise<string> {
  const name = `guestgate_template_${randomBytes(6).toString('hex')}`
  await onAdminDatabase(`CREATE DATABASE "${name}"`)
  try {
    await migrate(`${POSTGRES_SERVER}/${name}`)
  } catch (error) {
    await onAdminDatabase(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    throw error
  }
  await mkdir(path.dirname(NAME_FILE), { recursive: true })
  await writeFile(NAME_FILE, name)
  return name
}

export async function dropRunTemplate (): Promise<void> {
  const name = await readRunTemplate()
  await rm(NAME_FILE, { force: true })
  if (name) await onAdminDatabase(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
}
