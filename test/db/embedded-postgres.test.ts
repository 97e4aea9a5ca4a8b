import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { createAuditStore } from '../../src/audit/audit-store.js'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js'
import { compileWasmWithLiftoffOnly } from '../../src/db/wasm-tiering.js'
import { applyMigrations, migrationsDirectory } from '../../src/db/migrate.js'
import { createPrismaClient } from '../../src/db/prisma-client.js'
import { auditEntry, canonicalRowHash, databaseRowHash } from '../audit/fixtures/audit-fixture.js'

// PGlite compiled as the server compiles it with the embedded database (about half the CPU).
compileWasmWithLiftoffOnly()

/** The pid of a process that has exited, for a lock file left behind by a crash. */
async function deadPid (): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''])
  await once(child, 'exit')
  return child.pid!
}

t.test('serves PGlite on a loopback port: migrate, append, verify, restart on the same data', async (t) => {
  const dataDir = join(t.testdir(), 'pg')
  const first = await startEmbeddedPostgres({ dataDir })
  t.match(first.connectionString, /^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres/)
  t.notMatch(first.connectionString, /:0\//, 'the real port, not 0')
  t.equal(await readFile(join(dataDir, 'guestgate-embedded.lock'), 'utf8'), String(process.pid))

  await t.rejects(startEmbeddedPostgres({ dataDir }), /data folder .* is in use by process \d+/, 'a second server is refused')

  const shipped = (await readdir(migrationsDirectory(), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  t.same(await applyMigrations(first.connectionString), shipped, 'every migration applies on PGlite')
  const prisma = createPrismaClient(first.connectionString, { maxConnections: 1 })
  const store = createAuditStore(prisma)
  t.equal(await store.ready(), true)
  const intent = await store.append(auditEntry())
  const outcome = await store.append(auditEntry({ operationId: intent.operationId, status: 'succeeded', graphStatus: 201 }))
  t.equal(outcome.prevHash, intent.hash)
  t.same(await store.verify(), { valid: true, checked: 2, firstInvalid: null })
  t.equal(await prisma.auditEvent.count(), 2, 'the Prisma client works over the socket too')

  const client = new pg.Client({ connectionString: first.connectionString })
  await client.connect()
  t.equal(await databaseRowHash((text, values) => client.query(text, values)), canonicalRowHash(),
    'PGlite (Postgres 18) hashes exactly like the machine\'s Postgres')
  await client.end()
  await prisma.$disconnect()
  await first.stop()
  await first.stop()

  const second = await startEmbeddedPostgres({ dataDir })
  t.teardown(() => second.stop())
  t.same(await applyMigrations(second.connectionString), [], 'already migrated')
  const reopened = createPrismaClient(second.connectionString, { maxConnections: 1 })
  t.teardown(() => reopened.$disconnect())
  const reopenedStore = createAuditStore(reopened)
  t.same(await reopenedStore.byOperation(intent.operationId), [intent, outcome], 'data kept across restarts')
  t.same(await reopenedStore.verify(), { valid: true, checked: 2, firstInvalid: null })
})

t.test('a new database is a copy of the cached blank one, made once; every migration still applies to it', async (t) => {
  const root = t.testdir()
  const templateCacheDir = join(root, 'cache')
  const shipped = (await readdir(migrationsDirectory(), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()

  const first = await startEmbeddedPostgres({ dataDir: join(root, 'a'), templateCacheDir })
  t.equal(first.created, true)
  const templates = await readdir(templateCacheDir)
  t.match(templates, [/^pglite-\d+\.\d+\.\d+-blank$/], 'one blank database, named by the PGlite version, and no staging folder left')
  t.same(await applyMigrations(first.connectionString), shipped)
  await first.stop()

  // A start that died while creating left a folder without PG_VERSION: it is replaced.
  await mkdir(join(root, 'b', 'pgdata'), { recursive: true })
  await writeFile(join(root, 'b', 'pgdata', 'half-written'), '')
  const second = await startEmbeddedPostgres({ dataDir: join(root, 'b'), templateCacheDir })
  t.teardown(() => second.stop())
  t.equal(second.created, true)
  t.same(await readdir(templateCacheDir), templates, 'the cached one was used, not made again')
  t.notOk(existsSync(join(root, 'b', 'pgdata', 'half-written')))
  t.same(await applyMigrations(second.connectionString), shipped, 'the copy is blank: every migration, later ones included, applies')
  const client = new pg.Client({ connectionString: second.connectionString })
  await client.connect()
  t.teardown(() => client.end())
  t.equal((await client.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"')).rows[0]?.n, shipped.length)
})

t.test('with an unwritable template cache (a read-only install) the database is made in place by initdb', async (t) => {
  const root = t.testdir({ 'not-a-folder': '' })
  const embedded = await startEmbeddedPostgres({ dataDir: join(root, 'pg'), templateCacheDir: join(root, 'not-a-folder', 'cache') })
  t.teardown(() => embedded.stop())
  t.equal(embedded.created, true)
  const client = new pg.Client({ connectionString: embedded.connectionString })
  await client.connect()
  t.teardown(() => client.end())
  t.equal((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one, 1)
})

t.test('a lock file left by a dead process is taken over', async (t) => {
  const dataDir = t.testdir({ 'guestgate-embedded.lock': '' })
  await writeFile(join(dataDir, 'guestgate-embedded.lock'), String(await deadPid()))
  const server = await startEmbeddedPostgres({ dataDir })
  t.equal(await readFile(join(dataDir, 'guestgate-embedded.lock'), 'utf8'), String(process.pid))
  await server.stop()
})
