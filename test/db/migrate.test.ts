import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import t from 'tap'
import { applyMigrations, migrationStatus, migrationsDirectory, pendingMigrations } from '../../src/db/migrate.js'
import { createTestDatabase } from '../helpers/database.js'

const run = promisify(execFile)
const packageRoot = join(migrationsDirectory(), '..', '..')

async function migrationNames (): Promise<string[]> {
  const entries = await readdir(migrationsDirectory(), { withFileTypes: true })
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()
}

async function withClient<T> (connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

// The CLI with the JS engine lingers ~10 s after its work; each call costs that.
async function prismaMigrateDeploy (connectionString: string): Promise<string> {
  const { stdout, stderr } = await run(join(packageRoot, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: packageRoot,
    env: { ...process.env, DATABASE_URL: connectionString },
  })
  return stdout + stderr
}

t.test('applies every migration to an empty database, then reports none pending', async (t) => {
  const db = await createTestDatabase(t, { migrate: false })
  const names = await migrationNames()
  t.ok(names.length > 0)
  await withClient(db.connectionString, async (client) => {
    t.same(await migrationStatus(client), { applied: [], pending: names })
  })
  const logged: string[] = []
  const applied = await applyMigrations(db.connectionString, { logger: { info: (m) => logged.push(m), warn: (m) => logged.push(m) } })
  t.same(applied, names)
  t.same(logged, names.map((name) => `applied migration ${name}`))
  await withClient(db.connectionString, async (client) => {
    t.same(await migrationStatus(client), { applied: names, pending: [] })
    t.same(await pendingMigrations(client), [])
    const table = await client.query<{ name: string }>(`SELECT to_regclass('audit_events')::text AS name`)
    t.equal(table.rows[0]!.name, 'audit_events')
  })
})

t.test('a second run is a no-op, and concurrent runs apply each migration once', async (t) => {
  const db = await createTestDatabase(t, { migrate: false })
  const runs = await Promise.all([1, 2, 3].map(() => applyMigrations(db.connectionString)))
  t.same(runs.flat().sort(), await migrationNames(), 'each migration applied by exactly one of the runs')
  t.same(await applyMigrations(db.connectionString), [])
  await withClient(db.connectionString, async (client) => {
    const records = await client.query('SELECT migration_name FROM _prisma_migrations')
    t.equal(records.rowCount, (await migrationNames()).length)
  })
})

t.test('records the same checksum as Prisma, and `prisma migrate deploy` agrees afterwards', async (t) => {
  const ours = await createTestDatabase(t)
  const theirs = await createTestDatabase(t, { migrate: false })
  const [afterOurs] = await Promise.all([prismaMigrateDeploy(ours.connectionString), prismaMigrateDeploy(theirs.connectionString)])
  t.match(afterOurs, /No pending migrations to apply/)
  t.same(await applyMigrations(theirs.connectionString), [], 'nothing left to apply after Prisma')
  const expected = await Promise.all((await migrationNames()).map(async (name) => ({
    migration_name: name,
    checksum: createHash('sha256').update(await readFile(join(migrationsDirectory(), name, 'migration.sql'))).digest('hex'),
  })))
  const recorded = async (connectionString: string): Promise<unknown[]> => withClient(connectionString, async (client) =>
    (await client.query<Record<string, unknown>>('SELECT migration_name, checksum FROM _prisma_migrations ORDER BY migration_name')).rows)
  t.same(await recorded(theirs.connectionString), expected, 'Prisma records sha256 of the file')
  t.same(await recorded(ours.connectionString), expected, 'the runner records the same')
})

t.test('refuses to run over a migration recorded as failed', async (t) => {
  const db = await createTestDatabase(t)
  const [first] = await migrationNames()
  await withClient(db.connectionString, (client) => client.query(
    'UPDATE _prisma_migrations SET finished_at = NULL WHERE migration_name = $1', [first]))
  await t.rejects(applyMigrations(db.connectionString), /failed earlier/)
})
