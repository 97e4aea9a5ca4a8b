// The Graph write budget: token buckets in Postgres shared by every replica, slowed down by a 429.
// A test clock drives it: nothing here waits for real time.
import t from 'tap'
import { createPrismaClient } from '../../src/db/prisma-client.js'
import { BudgetExhaustedError, GraphBudget, type GraphBudgetOptions } from '../../src/operations/graph-budget.js'
import { build, type Teardown } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import { createTestDatabase } from '../helpers/database.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'

async function setUp(t: Teardown, buckets: GraphBudgetOptions['buckets'] = { writes: { ratePerSecond: 2, burst: 4 }, invitations: { ratePerSecond: 0.5, burst: 2 } }) {
  const database = await createTestDatabase(t)
  const prisma = createPrismaClient(database.connectionString)
  t.teardown(() => prisma.$disconnect())
  const clock = { now: new Date('2026-12-01T12:00:00Z') }
  const advance = (ms: number) => { clock.now = new Date(clock.now.getTime() + ms) }
  const budget = (recoverySeconds = 60) => new GraphBudget({ prisma, buckets, recoverySeconds, now: () => clock.now, sleep: async (ms) => advance(ms) })
  return { budget, advance, clock }
}

t.test('a burst, then one token per 1/rate seconds', async (t) => {
  const { budget, advance } = await setUp(t)
  const b = budget()
  for (let i = 0; i < 4; i++) await b.take(TENANT, ['writes'], 0)
  const error = await b.take(TENANT, ['writes'], 0).catch((e: unknown) => e) as BudgetExhaustedError
  t.type(error, BudgetExhaustedError)
  t.equal(error.retryAfterSeconds, 1, 'one token comes in half a second at 2/s')
  advance(500)
  await b.take(TENANT, ['writes'], 0)
  await t.rejects(b.take(TENANT, ['writes'], 0), BudgetExhaustedError)
})

t.test('a caller that may wait gets its token when it comes', async (t) => {
  const { budget, clock } = await setUp(t)
  const b = budget()
  const start = clock.now.getTime()
  for (let i = 0; i < 8; i++) await b.take(TENANT, ['writes'], 60_000)
  t.equal(clock.now.getTime() - start, 2000, '4 at once, 4 more at 2 per second')
})

t.test('invitations draw on their own, slower bucket and on the writes bucket', async (t) => {
  const { budget } = await setUp(t)
  const b = budget()
  await b.take(TENANT, ['invitations', 'writes'], 0)
  await b.take(TENANT, ['invitations', 'writes'], 0)
  await t.rejects(b.take(TENANT, ['invitations', 'writes'], 0), BudgetExhaustedError)
  t.equal((await b.state(TENANT, 'writes')).tokens, 2, 'two writes spent')
  await b.take(TENANT, ['writes'], 0)
})

t.test('replicas share one budget, and concurrent takers never overspend it', async (t) => {
  const { budget } = await setUp(t)
  const replicas = [budget(), budget(), budget()]
  const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => replicas[i % 3]!.take(TENANT, ['writes'], 0)))
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 4, 'the burst of 4, no more')
  t.ok(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof BudgetExhaustedError))
})

t.test('a 429 pauses the budget for Retry-After and halves its rate, which grows back', async (t) => {
  const { budget, advance } = await setUp(t)
  const b = budget(10)
  await b.throttled(TENANT, 3)
  const error = await b.take(TENANT, ['writes'], 0).catch((e: unknown) => e) as BudgetExhaustedError
  t.ok(error.retryAfterSeconds >= 3, `paused for Retry-After (${error.retryAfterSeconds} s)`)
  t.equal((await b.state(TENANT, 'writes')).rate, 1, 'the rate is halved: 2/s -> 1/s')
  advance(4000)
  await b.take(TENANT, ['writes'], 0)
  advance(10_000)
  await b.take(TENANT, ['writes'], 0)
  t.equal((await b.state(TENANT, 'writes')).rate, 2, 'back to full after the recovery time')
})

t.test('a single request the budget cannot take now: 503 with Retry-After, nothing recorded, nothing sent', async (t) => {
  const app = await build(t, { GUESTGATE_INVITATIONS_PER_MINUTE: '1', GUESTGATE_INVITATION_BURST: '2', GRAPH_BUDGET_MAX_WAIT_MS: '0' })
  const token = await app.token(['Guests.Invite'])
  const invite = (i: number) => app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: `paced${i}@partner.example`, sendEmail: false } })
  t.equal((await invite(1)).statusCode, 201)
  t.equal((await invite(2)).statusCode, 201)
  const third = await invite(3)
  t.equal(third.statusCode, 503)
  t.match(third.json(), { code: 'graph_budget_exhausted' })
  t.ok(Number(third.headers['retry-after']) >= 1)
  t.equal((await auditRows(app.databaseUrl, `action = 'invitation.invite' AND status = 'intent'`)).length, 2, 'no intent for the third')
  t.equal(app.simulator.callsTo('POST', /\/invitations$/).length, 2)
})

t.test('Graph\'s 429 slows the whole tenant\'s budget down', async (t) => {
  const app = await build(t)
  const token = await app.token(['Guests.Invite'])
  app.simulator.faults.inject({ method: 'POST', path: '/invitations', status: 429, retryAfter: 0.2 })
  const response = await app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: 'throttled@partner.example', sendEmail: false } })
  t.equal(response.statusCode, 201, 'retried after Retry-After')
  const state = await app.app.graphBudget.state(app.config.tenantId, 'writes')
  t.ok(state.rate < app.config.budget.writesPerSecond, `the write rate went down (${state.rate}/s)`)
})

t.test('a 429 that is not retried (Retry-After past GRAPH_MAX_RETRY_DELAY_MS) pauses the budget too', async (t) => {
  const app = await build(t)
  const token = await app.token(['Guests.Invite'])
  app.simulator.faults.inject({ method: 'POST', path: '/invitations', status: 429, retryAfter: 5 })
  const before = Date.now()
  const response = await app.as(token, { method: 'POST', url: '/v1/invitations', payload: { email: 'throttled-long@partner.example', sendEmail: false } })
  t.equal(response.statusCode, 503, 'answered at once, not waited out')
  // The bucket's row itself: however long the request took, the pause ends 5 s after the 429.
  const bucket = await app.app.prisma.graphWriteBudget.findUniqueOrThrow({ where: { bucket: `${app.config.tenantId.toLowerCase()}:writes` } })
  t.ok(bucket.pausedUntil.getTime() >= before + 4999, `paused for Graph's Retry-After (until ${bucket.pausedUntil.toISOString()})`)
  t.ok(bucket.rate < app.config.budget.writesPerSecond, `the write rate went down (${bucket.rate}/s)`)
})
