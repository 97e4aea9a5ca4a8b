import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../generated/prisma/client.js'

export { PrismaClient }

export interface PrismaClientOptions {
  /** Size of the connection pool. Must be 1 against embedded Postgres (PGlite). Default 10. */
  maxConnections?: number
  /** Called when an idle pooled connection fails (e.g. the server restarted); the pool drops it. */
  onPoolError?: (error: Error) => void
}

// The pg pool behind each client, for the few queries that bypass Prisma (the audit store's
// hand-written SQL and its export path, where Prisma's row decoding halves the throughput).
const pools = new WeakMap<PrismaClient, pg.Pool>()

/** A Prisma client over @prisma/adapter-pg (JS engine, no native binaries). `$disconnect()` closes its pool. */
export function createPrismaClient (connectionString: string, options: PrismaClientOptions = {}): PrismaClient {
  const pool = new pg.Pool({ connectionString, max: options.maxConnections ?? 10 })
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
