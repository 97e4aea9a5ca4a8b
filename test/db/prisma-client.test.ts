import { PrismaPg } from '@prisma/adapter-pg'
import t from 'tap'
import { createPrismaClient, poolOf, PrismaClient } from '../../src/db/prisma-client.js'
import { createTestDatabase } from '../helpers/database.js'

t.test('a Prisma client over the pg adapter, sharing its pool with raw queries', async (t) => {
  const db = await createTestDatabase(t)
  const prisma = createPrismaClient(db.connectionString, { maxConnections: 3 })
  const pool = poolOf(prisma)
  t.equal(pool.options.max, 3)
  t.equal(await prisma.auditEvent.count(), 0)
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events')
  t.equal(rows[0]!.n, 0)
  await prisma.$disconnect()
  t.equal(pool.ended, true)
})

t.test('$disconnect closes the pool even when only raw queries used it', async (t) => {
  const db = await createTestDatabase(t)
  const prisma = createPrismaClient(db.connectionString)
  const pool = poolOf(prisma)
  t.equal(pool.options.max, 10, 'default pool size')
  await pool.query('SELECT 1')
  await prisma.$disconnect()
  t.equal(pool.ended, true)
})

t.test('poolOf refuses a client it did not create', async (t) => {
  const foreign = new PrismaClient({ adapter: new PrismaPg({ connectionString: 'postgresql://postgres@127.0.0.1:5432/test' }) })
  t.throws(() => poolOf(foreign), /not created by createPrismaClient/)
})
