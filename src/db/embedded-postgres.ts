// Embedded Postgres for sandbox mode: PGlite (Postgres 18 compiled to WASM, in this process)
// served over the Postgres wire protocol on a loopback port, so pg, Prisma and the migration
// runner use it exactly like a real server.
//
// PGlite is ONE backend shared by every connection, and the socket server relays protocol
// messages one at a time: two connections that interleave extended-protocol queries (Parse, Bind,
// Execute...) corrupt each other outside a transaction. So every client keeps to one connection
// (createPrismaClient(..., { maxConnections: 1 })) and clients do not overlap in time (migrate,
// then serve). A few connections are accepted only so that a closing client and the next one
// may overlap for a moment.
import { existsSync, readFileSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { packageRoot } from '../package-root.js'
import { EMBEDDED_LOCK_FILE } from './embedded-postgres-thread.js'
import { FolderInUseError, lockFolder } from './folder-lock.js'

export interface EmbeddedPostgres {
  connectionString: string
  /** True when this start created the database (nothing was in the folder). */
  created: boolean
  stop(): Promise<void>
}

export interface EmbeddedPostgresOptions {
  dataDir: string
  /** Told what is happening: at the start, then every progressEveryMs while it lasts. */
  onProgress?: (message: string, details: { dataDir: string; elapsedMs: number; creating: boolean }) => void
  progressEveryMs?: number
  /**
   * Where blank databases made by PGlite's initdb are kept, one per PGlite version: a new database
   * is a copy of one (about a CPU-second) instead of a new initdb (about ten). Made on first need;
   * null: always run initdb. Default: node_modules/.cache/guestgate of this package.
   */
  templateCacheDir?: string | null
}

// Postgres zeroes its shared buffers at every start: at initdb's default (128 MB) that memset is
// about 0.75 CPU-seconds of WASM (more without TurboFan, see src/server.ts). A sandbox's database
// is a few MB and its files stay in the OS page cache, so 16 MB of buffers lose nothing.
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB']
const openPGlite = (pgdata: string) => PGlite.create(pgdata, { startParams: START_PARAMS })

/**
 * Starts PGlite on `dataDir` (created if missing) and serves it on 127.0.0.1 at a free port.
 * `stop()` closes the server and the database and releases the folder; disconnect clients first.
 */
export async function startEmbeddedPostgres (options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir } = options
  await mkdir(dataDir, { recursive: true })
  const unlock = await lockFolder(dataDir, EMBEDDED_LOCK_FILE).catch((error: unknown) => {
    if (error instanceof FolderInUseError) {
      throw new Error(`embedded Postgres: data folder ${dataDir} is in use by process ${error.owner} ` +
        `(lock file ${error.lockPath}); stop that server or choose another folder`, { cause: error })
    }
    throw error
  })
  const pgdata = join(dataDir, 'pgdata')
  const creating = !existsSync(join(pgdata, 'PG_VERSION'))
  const startedAt = Date.now()
  const progress = (message: string) => options.onProgress?.(message, { dataDir, elapsedMs: Date.now() - startedAt, creating })
  progress(creating ? 'creating a new embedded database (the first start takes a while)' : 'opening the embedded database')
  const ticker = setInterval(() => progress(`still ${creating ? 'creating' : 'opening'} the embedded database`), options.progressEveryMs ?? 5_000)
  ticker.unref()
  let db: PGlite | undefined
  let server: PGLiteSocketServer | undefined
  try {
    const templateCacheDir = options.templateCacheDir === undefined ? defaultTemplateCacheDir() : options.templateCacheDir
    db = await (creating ? createDatabase(pgdata, templateCacheDir) : openPGlite(pgdata))
    server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 })
    await server.start()
  } catch (error) {
    await db?.close().catch(() => {})
    await unlock()
    throw error
  } finally {
    clearInterval(ticker)
  }
  // The server reads the port the OS picked back into its address, "127.0.0.1:<port>".
  const address = server.getServerConn()
  const runningServer = server
  const runningDb = db
  let stopped: Promise<void> | undefined
  return {
    connectionString: `postgresql://postgres:postgres@${address}/postgres?sslmode=disable`,
    created: creating,
    stop () {
      stopped ??= (async () => {
        try {
          await runningServer.stop()
          await runningDb.close()
        } finally {
          await unlock()
        }
      })()
      return stopped
    },
  }
}

export const defaultTemplateCacheDir = () => join(packageRoot(), 'node_modules', '.cache', 'guestgate')

let pgliteVersion: string | undefined
/** The template's key: a blank database belongs to the PGlite (Postgres, WASM build) that made it. */
function templateName (): string {
  if (pgliteVersion === undefined) {
    // The package's exports hide its package.json: find it from its entry point.
    let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'))
    while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
    pgliteVersion = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
  }
  return `pglite-${pgliteVersion}-blank`
}

/** A new database in `pgdata`: a copy of the cached blank one (made first if missing), or initdb. */
async function createDatabase (pgdata: string, templateCacheDir: string | null): Promise<PGlite> {
  // What a start that died while creating left behind (no PG_VERSION: no database in it).
  await rm(pgdata, { recursive: true, force: true })
  if (templateCacheDir === null) return openPGlite(pgdata)
  const template = join(templateCacheDir, templateName())
  // Unwritable cache (a read-only install): initdb in place, as without a cache.
  if (!existsSync(join(template, 'PG_VERSION')) && !(await makeTemplate(template).then(() => true, () => false))) return openPGlite(pgdata)
  // Copied beside, then renamed: a copy cut short never looks like a database.
  const copying = `${pgdata}.copying`
  await rm(copying, { recursive: true, force: true })
  await cp(template, copying, { recursive: true })
  await rename(copying, pgdata)
  return openPGlite(pgdata)
}

/** initdb in a folder of its own, closed cleanly, then renamed into place (atomic: starters racing
 *  to make it each make their own; the first rename wins, the others find it there). */
async function makeTemplate (template: string): Promise<void> {
  await mkdir(dirname(template), { recursive: true })
  const staging = await mkdtemp(`${template}.making-`)
  try {
    await (await openPGlite(staging)).close()
    await rename(staging, template).catch((error: unknown) => {
      if (!existsSync(join(template, 'PG_VERSION'))) throw error
    })
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
