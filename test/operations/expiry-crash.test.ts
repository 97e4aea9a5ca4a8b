// kill -9 of guestgate during an expiry sweep, with Graph (the simulator) in its own process that
// lives on: after a restart the sweep finishes what was left, nothing is removed twice (each
// removal is read first, each item is marked done with its outcome), nothing is missed, and every
// audited intent has exactly one outcome once the reconciler has passed.
import PgBoss from 'pg-boss'
import pg from 'pg'
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { EXPIRY_SWEEP_QUEUE } from '../../src/plugins/expiry.js'
import { auditRows } from '../helpers/audit-rows.js'
import { createTestDatabase } from '../helpers/database.js'
import { startEntryPoint } from '../helpers/processes.js'

const SERVER = 'src/server.ts'
const SIMULATOR = 'src/graph/simulator/server.ts'
const GUESTS = 8
const { developers } = SEED.groups

t.test('kill -9 during an expiry sweep, then restart: nothing removed twice, nothing missed', async (t) => {
  const database = await createTestDatabase(t)
  const simulator = startEntryPoint(t, SIMULATOR, { PORT: '0' })
  const graphUrl = await simulator.waitFor(/listening on (http:\/\/\S+\/v1\.0)/)
  const graphOrigin = new URL(graphUrl).origin
  const env = {
    GUESTGATE_MODE: 'sandbox', PORT: '0', DATABASE_URL: database.connectionString, GRAPH_BASE_URL: graphUrl,
    GRAPH_TIMEOUT_MS: '3000', GUESTGATE_RECONCILE_AFTER_SECONDS: '4', GUESTGATE_RECONCILE_INTERVAL_SECONDS: '1', LOG_LEVEL: 'info',
    GUESTGATE_INVITATIONS_PER_MINUTE: '60000', GUESTGATE_INVITATION_BURST: '1000',
  }
  const first = startEntryPoint(t, SERVER, env)
  const base = await first.waitFor(/Docs: (http:\/\/127\.0\.0\.1:\d+)\/docs/)
  const mint = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Invite', 'Groups.ManageMembers'] }) })
  const { accessToken } = await mint.json() as { accessToken: string }
  const call = (method: string, path: string, body?: unknown) => fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}),
  })

  // Guests whose Developers membership expires tomorrow.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString()
  const guests = await Promise.all(Array.from({ length: GUESTS }, async (_, i) => {
    const invited = await call('POST', '/v1/invitations', { email: `expiry-crash${i}@partner.example`, sendEmail: false })
    const { id } = await invited.json() as { id: string }
    const added = await call('PUT', `/v1/groups/${developers}/members/${id}`, { expiresAt: tomorrow })
    t.equal(added.status, 200)
    return id
  }))
  // A day passes (in the database, where the sweep reads it).
  const db = new pg.Client({ connectionString: database.connectionString })
  await db.connect()
  t.teardown(() => db.end())
  await db.query(`UPDATE access_expiries SET expires_at = now() - interval '1 minute'`)

  // Removals take a while at Graph, so the kill finds some done, one under way, some not started.
  const fault = await fetch(`${graphOrigin}/_simulator/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'DELETE', path: '/members/', latencyMs: 300, times: 'Infinity' }),
  })
  t.equal(fault.status, 204)
  // The sweep is a queue job: sent as the schedule sends it.
  const boss = new PgBoss({ connectionString: database.connectionString, migrate: false, schedule: false, supervise: false })
  await boss.start()
  t.teardown(() => boss.stop({ graceful: false, wait: true }))
  await boss.send(EXPIRY_SWEEP_QUEUE, {})
  await first.waitFor(/((?:"msg":"expiry carried out"[^\n]*\n[^]*?){3})/)
  await first.kill9()

  const atKill = (await db.query<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM access_expiries GROUP BY state`)).rows
  const doneAtKill = atKill.find((r) => r.state === 'done')?.n ?? 0
  t.ok(doneAtKill >= 3 && doneAtKill < GUESTS, `the kill came mid-sweep (${doneAtKill} of ${GUESTS} done)`)

  const second = startEntryPoint(t, SERVER, env)
  await second.waitFor(/("ran":true,[^\n]*"msg":"expiry sweep finished")/)
  await second.waitFor(/("unsettled":0,[^\n]*"msg":"reconciler pass finished")/)
  await second.stop()

  const states = (await db.query<{ state: string; n: number }>(`SELECT state, count(*)::int AS n FROM access_expiries GROUP BY state`)).rows
  t.same(states, [{ state: 'done', n: GUESTS }], 'every expiry carried out: nothing missed')
  const directory = await (await fetch(`${graphOrigin}/_simulator/state`)).json() as { memberships: Record<string, string[]> }
  t.same(guests.filter((g) => directory.memberships[developers]!.includes(g)), [], 'no guest is left in Developers')
  const calls = await (await fetch(`${graphOrigin}/_simulator/calls`)).json() as { method: string; path: string }[]
  const removals = (guest: string) => calls.filter((c) => c.method === 'DELETE' && c.path.includes(`/members/${guest}/`)).length
  t.same(guests.map(removals), guests.map(() => 1), 'each guest was removed exactly once')

  const rows = await auditRows(database.connectionString, `action = 'groupMembership.removeMember' AND rule_id = 'expiry'`)
  const intents = rows.filter((r) => r.status === 'intent')
  t.equal(intents.length, GUESTS, 'one removal intent per guest')
  t.same(intents.filter((i) => rows.filter((r) => r.correlation_id === i.correlation_id && r.status !== 'intent').length !== 1), [], 'every intent has exactly one outcome')
})
