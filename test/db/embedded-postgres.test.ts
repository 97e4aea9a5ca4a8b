import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { createAuditStore } from '../../src/audit/audit-store.js'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js'
import { applyMigrations, migrationsDirectory } from '../../src/db/migrate.js'
import { createPrismaClient } from '../../src/db/prisma-client.js'
import { auditEntry, canonicalRowHash, databaseRowHash } from '../audit/fixtures/audit-fixture.js'

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

t.test('a lock file left by a dead process is taken over', async (t) => {
  const dataDir = t.testdir({ 'guestgate-embedded.lock': '' })
  await writeFile(join(dataDir, 'guestgate-embedded.lock'), String(await deadPid()))
  const server = await startEmbeddedPostgres({ dataDir })
  t.equal(await readFile(join(dataDir, 'guestgate-embedded.lock'), 'utf8'), String(process.pid))
  await server.stop()
})
