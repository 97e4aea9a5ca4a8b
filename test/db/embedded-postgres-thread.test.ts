// The embedded database on its own thread: it serves migrated, stops when told, and a start that
// outlasts its timeout is really stopped (the folder is free again at once).
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import pg from 'pg'
import t, { type Test } from 'tap'
import { EMBEDDED_LOCK_FILE, EmbeddedPostgresThreadError, EmbeddedPostgresTimeoutError, startEmbeddedPostgresThread } from '../../src/db/embedded-postgres-thread.js'
import { migrationsDirectory } from '../../src/db/migrate.js'
import { compileWasmWithLiftoffOnly } from '../../src/db/wasm-tiering.js'

// PGlite compiled as the server compiles it with the embedded database (about half the CPU).
compileWasmWithLiftoffOnly()

/** What the promise rejected with (it must reject). */
async function rejection(t: Test, promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  t.fail('should have rejected')
  return undefined
}

async function query<T>(connectionString: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    return (await client.query(sql)).rows as T[]
  } finally {
    await client.end()
  }
}

t.test('serves the migrated database from another thread; a restart finds it migrated', async (t) => {
  const dataDir = join(t.testdir(), 'pg')
  const logged: string[] = []
  const first = await startEmbeddedPostgresThread({ dataDir, migrate: true, onLog: (_level, message) => logged.push(message) })
  t.teardown(() => first.stop())
  t.ok(first.created)
  const shipped = (await readdir(migrationsDirectory(), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  t.same(logged, shipped.map((name) => `applied migration ${name}`), 'every migration applied, and said so')
  const rows = await query<{ backend: number }>(first.connectionString, 'SELECT count(*)::int AS backend FROM _prisma_migrations')
  t.equal(rows[0]!.backend, shipped.length, 'reachable over its loopback port')
  t.ok(isMainThread, 'the test itself stays on the main thread')
  const refused = await rejection(t, startEmbeddedPostgresThread({ dataDir, migrate: true }))
  t.ok(refused instanceof EmbeddedPostgresThreadError && refused.stage === 'start', 'a second start on the folder is refused')
  t.match((refused as Error).message, /is in use by process \d+/)
  await first.stop()
  await first.stop()
  t.notOk(existsSync(join(dataDir, EMBEDDED_LOCK_FILE)), 'stop releases the folder')

  logged.length = 0
  const second = await startEmbeddedPostgresThread({ dataDir, migrate: true, onLog: (_level, message) => logged.push(message) })
  t.teardown(() => second.stop())
  t.notOk(second.created)
  t.same(logged, [], 'nothing left to migrate')
})

t.test('a start that outlasts its timeout is stopped: the error names the timeout and the folder is free at once', async (t) => {
  const dataDir = join(t.testdir(), 'pg')
  // 1 ms: the thread cannot even have loaded PGlite by then.
  const timedOut = await rejection(t, startEmbeddedPostgresThread({ dataDir, migrate: true, timeoutMs: 1 }))
  t.ok(timedOut instanceof EmbeddedPostgresTimeoutError && timedOut.creating, 'the timeout, while creating')
  t.match((timedOut as Error).message, /did not create its database in .* within 0 s/)
  t.notOk(existsSync(join(dataDir, EMBEDDED_LOCK_FILE)), 'no lock left behind')
  const next = await startEmbeddedPostgresThread({ dataDir, migrate: true })
  t.teardown(() => next.stop())
  t.same(await query(next.connectionString, 'SELECT 1 AS one'), [{ one: 1 }], 'the next start in this process gets the folder')
})
