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
import { mkdir, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedPostgres {
  connectionString: string
  stop(): Promise<void>
}

const LOCK_FILE = 'guestgate-embedded.lock'

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * PGlite keeps no lock on its folder and a second instance would corrupt it: take an exclusive
 * lock file holding our pid. A lock left by a dead process is taken over.
 */
async function lockDataDir (dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx')
      await handle.writeFile(String(process.pid))
      await handle.close()
      return () => rm(lockPath, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
      throw new Error(`embedded Postgres: data folder ${dataDir} is in use by process ${owner} ` +
        `(lock file ${lockPath}); stop that server or choose another folder`)
    }
    // Stale (owner dead, or the file was left half-written): remove it and try once more.
    await rm(lockPath, { force: true })
  }
  throw new Error(`embedded Postgres: could not lock data folder ${dataDir} (lock file ${lockPath})`)
}

/**
 * Starts PGlite on `dataDir` (created if missing) and serves it on 127.0.0.1 at a free port.
 * `stop()` closes the server and the database and releases the folder; disconnect clients first.
 */
export async function startEmbeddedPostgres (options: { dataDir: string }): Promise<EmbeddedPostgres> {
  const { dataDir } = options
  await mkdir(dataDir, { recursive: true })
  const unlock = await lockDataDir(dataDir)
  let db: PGlite | undefined
  let server: PGLiteSocketServer | undefined
  try {
    db = await PGlite.create(join(dataDir, 'pgdata'))
    server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 })
    await server.start()
  } catch (error) {
    await db?.close()
    await unlock()
    throw error
  }
  // The server reads the port the OS picked back into its address, "127.0.0.1:<port>".
  const address = server.getServerConn()
  const runningServer = server
  const runningDb = db
  let stopped: Promise<void> | undefined
  return {
    connectionString: `postgresql://postgres:postgres@${address}/postgres?sslmode=disable`,
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
