import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../generated/prisma/client.js'

export { PrismaClient }

export interface PrismaClientOptions {
  /** Size of the connection pool. Must be 1 against embedded Postgres (PGlite). Default 10. */
  maxConnections?: number
  /** Called when an idle pooled connection fails (e.g. the server restarted); the pool drops it. */
  onPoolError?: (error: Error) => void
  /** Longest wait for a connection (a new one, or a free one from a full pool). */
  connectTimeoutMs?: number
  /** Longest a statement may run: the server cancels it (statement_timeout), and a server that
   *  does not answer at all (frozen, unreachable) is given up on a second later by the client. */
  queryTimeoutMs?: number
}

// The pg pool behind each client, for the few queries that bypass Prisma (the audit store's
// hand-written SQL and its export path, where Prisma's row decoding halves the throughput).
const pools = new WeakMap<PrismaClient, pg.Pool>()

/** A Prisma client over @prisma/adapter-pg (JS engine, no native binaries). `$disconnect()` closes its pool. */
export function createPrismaClient (connectionString: string, options: PrismaClientOptions = {}): PrismaClient {
  const queryTimeoutMs = options.queryTimeoutMs
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    ...(options.connectTimeoutMs ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
    ...(queryTimeoutMs
      ? {
          statement_timeout: queryTimeoutMs,
          // A transaction left open by a dead request must not hold its locks for long.
          idle_in_transaction_session_timeout: queryTimeoutMs * 3,
          query_timeout: queryTimeoutMs + 1000,
        }
      : {}),
    keepAlive: true,
  })
  // Without a listener, an idle connection's error would crash the process.
  pool.on('error', options.onPoolError ?? (() => {}))
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) })
  pools.set(prisma, pool)
  const disconnect = prisma.$disconnect.bind(prisma)
  // Prisma disposes the adapter only if it ever connected; raw pool queries may have run anyway.
  prisma.$disconnect = async () => {
    await disconnect()
    if (!pool.ended) await pool.end()
  }
  return prisma
}

/** The pg pool that backs a client made by createPrismaClient. */
export function poolOf (prisma: PrismaClient): pg.Pool {
  const pool = pools.get(prisma)
  if (pool === undefined) throw new Error('poolOf: this PrismaClient was not created by createPrismaClient')
  return pool
}
