import { randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { AuditEntryError, AuditQueryError, createAuditStore, encodeCursor, MAX_APPEND_BATCH } from '../../src/audit/audit-store.js'
import type { AuditEntryInput, AuditEvent, AuditFilter, AuditStore } from '../../src/audit/types.js'
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js'
import { compileWasmWithLiftoffOnly } from '../../src/db/wasm-tiering.js'
import { applyMigrations } from '../../src/db/migrate.js'
import { createPrismaClient, poolOf } from '../../src/db/prisma-client.js'
import { createTestDatabase } from '../helpers/database.js'
import { auditEntry, openAuditFixture, type AuditFixture } from './fixtures/audit-fixture.js'

// PGlite compiled as the server compiles it with the embedded database (about half the CPU).
compileWasmWithLiftoffOnly()

const ALICE = { oid: '00000000-0000-4000-8000-0000000000a1', name: 'Alice Admin', tenantId: 'tenant-1', roles: ['Guests.Invite'] }
const BOB = { oid: '00000000-0000-4000-8000-0000000000b2', name: 'Bob Builder', tenantId: 'tenant-1', roles: ['Groups.ManageMembers', 'Apps.AssignRoles'] }
// An actor whose oid and name are the same string must still be listed once.
const ROBOT = { oid: 'robot', name: 'robot', tenantId: 'tenant-1', roles: [] }

/** occurredAt ("...T12:00:00.123456Z") in microseconds since the epoch. */
function micros (iso: string): bigint {
  return BigInt(Date.parse(iso.slice(0, 23) + 'Z')) * 1000n + BigInt(iso.slice(23, 26))
}

function matches (event: AuditEvent, filter: AuditFilter): boolean {
  return (filter.actor === undefined || event.actor.oid === filter.actor || event.actor.name === filter.actor) &&
    (filter.action === undefined || event.action === filter.action) &&
    (filter.targetId === undefined || event.target.id === filter.targetId) &&
    (filter.decision === undefined || event.decision === filter.decision) &&
    (filter.status === undefined || event.status === filter.status) &&
    (filter.operationId === undefined || event.operationId === filter.operationId) &&
    (filter.from === undefined || micros(event.occurredAt) >= BigInt(filter.from.getTime()) * 1000n) &&
    (filter.to === undefined || micros(event.occurredAt) <= BigInt(filter.to.getTime()) * 1000n)
}

async function allPages (store: AuditStore, filter: AuditFilter, limit: number): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | undefined
  do {
    const page = await store.query(filter, cursor === undefined ? { limit } : { limit, cursor })
    t.ok(page.items.length <= limit)
    ids.push(...page.items.map((event) => event.id))
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return ids
}

t.test('append stores the entry, chains it, and get/byOperation read it back', async (t) => {
  const { store } = await openAuditFixture(t)
  const intent = auditEntry({ graphRequestId: null })
  const first = await store.append(intent)
  const outcome = await store.append({
    ...intent,
    status: 'failed',
    graphStatus: 403,
    graphRequestId: 'graph-req-1',
    graphErrorCode: 'Authorization_RequestDenied',
    message: 'Insufficient privileges to complete the operation.',
    requestSummary: { nested: { list: [1, 'two', null], unicode: 'Zoë ✓' } },
  })
  t.equal(first.id, '1')
  t.equal(outcome.id, '2')
  t.equal(first.prevHash, null, 'the first row starts the chain')
  t.equal(outcome.prevHash, first.hash, 'each row links to the one before it')
  t.match(first.hash, /^[0-9a-f]{64}$/)
  t.match(first.occurredAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
  t.ok(micros(outcome.occurredAt) >= micros(first.occurredAt))
  t.match(first, {
    operationId: intent.operationId,
    requestId: intent.requestId,
    correlationId: intent.correlationId,
    actor: intent.actor,
    action: 'guest.invite',
    target: intent.target,
    decision: 'allowed',
    status: 'intent',
    ruleId: 'invite-partners',
    reason: null,
    policyVersion: 'policy-v1',
    requestSummary: intent.requestSummary,
    graphStatus: null,
    graphRequestId: null,
    graphErrorCode: null,
    message: null,
  })
  t.same(outcome.requestSummary, { nested: { list: [1, 'two', null], unicode: 'Zoë ✓' } })
  t.equal(outcome.graphStatus, 403)

  t.same(await store.get('2'), outcome)
  t.equal(await store.get('3'), null)
  t.equal(await store.get('not-an-id'), null)
  t.equal(await store.get('99999999999999999999'), null, 'beyond bigint is simply not found')
  t.same(await store.byOperation(intent.operationId), [first, outcome], 'intent then outcome')
  t.same(await store.byOperation(randomUUID()), [])
  t.same(await store.byOperation('not-a-uuid'), [])

  const minimal = await store.append({ ...auditEntry(), requestSummary: undefined, target: { type: 'tenant' } })
  t.same(minimal.requestSummary, {})
  t.same(minimal.target, { type: 'tenant', id: null, displayName: null })
})

t.test('intentWindow counts intents of some actions in a time window, per actor or all, and says when a limit frees up', async (t) => {
  const fixture = await openAuditFixture(t)
  const { store } = fixture
  const old = await store.append(auditEntry({ status: 'intent' }))
  // Backdate one row (as the superuser, past the append-only trigger) instead of waiting for time to pass.
  await fixture.sql(`BEGIN; SET LOCAL session_replication_role = replica;
    UPDATE audit_events SET occurred_at = now() - interval '2 hours' WHERE id = ${old.id}; COMMIT`)
  const recent = []
  for (let i = 0; i < 3; i++) recent.push(await store.append(auditEntry({ status: 'intent' })))
  await store.append(auditEntry({ status: 'succeeded' }))
  await store.append(auditEntry({ status: 'intent', action: 'guest.resend' }))
  await store.append(auditEntry({ status: 'intent', action: 'group.member.add' }))
  await store.append(auditEntry({ status: 'intent', actor: BOB }))
  const hour = 3600_000
  t.same(await store.intentWindow({ actions: ['guest.invite'], actorOid: ALICE.oid, windowMs: hour }), { count: 3, retryAt: null })
  t.equal((await store.intentWindow({ actions: ['guest.invite', 'guest.resend'], actorOid: ALICE.oid, windowMs: hour })).count, 4)
  t.equal((await store.intentWindow({ actions: ['guest.invite'], windowMs: hour })).count, 4, 'every actor')
  t.equal((await store.intentWindow({ actions: ['guest.invite'], actorOid: BOB.oid, windowMs: hour })).count, 1)
  t.equal((await store.intentWindow({ actions: ['guest.invite'], actorOid: ALICE.oid, windowMs: 3 * hour })).count, 4)
  t.same(await store.intentWindow({ actions: ['guest.invite'], actorOid: ALICE.oid, windowMs: hour, limit: 4 }), { count: 3, retryAt: null }, 'under the limit')
  const full = await store.intentWindow({ actions: ['guest.invite'], actorOid: ALICE.oid, windowMs: hour, limit: 2 })
  t.equal(full.count, 3)
  // With 3 in the window and a limit of 2, the second oldest must leave before one more fits.
  t.equal(full.retryAt?.getTime(), new Date(recent[1]!.occurredAt).getTime() + hour)
})

t.test('query: every filter and page size returns exactly the matching rows, newest first', async (t) => {
  const { store } = await openAuditFixture(t)
  const actors = [ALICE, BOB, ROBOT]
  const actions = ['guest.invite', 'group.member.add', 'app.role.assign', 'guest.remove']
  const events: AuditEvent[] = []
  for (let i = 0; i < 90; i++) {
    const operationId = randomUUID()
    const base = auditEntry({
      operationId,
      actor: actors[i % 3]!,
      action: actions[i % 4]!,
      target: { type: 'user', id: `guest-${i % 5}`, displayName: `Guest ${i % 5}` },
      decision: i % 6 === 0 ? 'denied' : 'allowed',
      status: i % 6 === 0 ? 'denied' : 'intent',
    })
    events.push(await store.append(base))
    if (i % 6 !== 0) events.push(await store.append({ ...base, status: i % 4 === 0 ? 'failed' : 'succeeded' }))
  }
  const newestFirst = [...events].reverse()
  const middle = newestFirst[Math.floor(newestFirst.length / 2)]!
  const asDate = (event: AuditEvent): Date => new Date(Date.parse(event.occurredAt.slice(0, 23) + 'Z'))
  const from = asDate(events[20]!)
  const to = asDate(events[100]!)
  const filters: AuditFilter[] = [
    {},
    { actor: ALICE.oid },
    { actor: BOB.name },
    { actor: 'robot' },
    { actor: 'nobody' },
    { action: 'group.member.add' },
    { targetId: 'guest-3' },
    { decision: 'denied' },
    { status: 'failed' },
    { operationId: middle.operationId },
    { from, to },
    { from },
    { to },
    { actor: BOB.oid, from, to },
    { actor: ALICE.name, action: 'guest.invite', decision: 'allowed', status: 'succeeded' },
    { actor: ALICE.oid, targetId: 'guest-0', to },
  ]
  for (const filter of filters) {
    const expected = newestFirst.filter((event) => matches(event, filter)).map((event) => event.id)
    for (const limit of [1, 7, 100]) {
      t.same(await allPages(store, filter, limit), expected, `${JSON.stringify(filter)} in pages of ${limit}`)
    }
  }
  const firstPage = await store.query({ actor: ALICE.oid }, { limit: 3 })
  t.same(firstPage.items, newestFirst.filter((event) => event.actor.oid === ALICE.oid).slice(0, 3), 'whole events')
  const robotRows = events.filter((event) => event.actor.oid === 'robot').length
  const exact = await store.query({ actor: 'robot' }, { limit: robotRows })
  t.equal(exact.items.length, robotRows)
  t.equal(exact.nextCursor, undefined, 'no cursor when the last page is exactly full')
})

t.test('pages stay exact while rows are appended between page fetches', async (t) => {
  const { store } = await openAuditFixture(t)
  const existing: AuditEvent[] = []
  for (let i = 0; i < 40; i++) existing.push(await store.append(auditEntry({ actor: i % 2 === 0 ? ALICE : BOB })))
  const expected = existing.filter((event) => event.actor.oid === ALICE.oid).map((event) => event.id).reverse()
  const seen: string[] = []
  let page = await store.query({ actor: ALICE.oid }, { limit: 3 })
  for (;;) {
    seen.push(...page.items.map((event) => event.id))
    if (page.nextCursor === undefined) break
    // Newer rows, some matching the filter, arrive between the fetches.
    await Promise.all([store.append(auditEntry({ actor: ALICE })), store.append(auditEntry({ actor: BOB }))])
    page = await store.query({ actor: ALICE.oid }, { limit: 3, cursor: page.nextCursor })
  }
  t.same(seen, expected, 'no duplicate, no gap')
})

t.test('query rejects a bad limit, cursor or operationId with AuditQueryError', async (t) => {
  const { store } = await openAuditFixture(t)
  for (const limit of [0, 101, 2.5, Number.NaN]) {
    await t.rejects(store.query({}, { limit }), AuditQueryError, `limit ${limit}`)
  }
  for (const cursor of ['', 'not a cursor!', encodeCursor('abc'), encodeCursor('0'), encodeCursor('99999999999999999999')]) {
    await t.rejects(store.query({}, { limit: 10, cursor }), AuditQueryError, `cursor ${JSON.stringify(cursor)}`)
  }
  await t.rejects(store.query({ operationId: 'x' }, { limit: 10 }), AuditQueryError)
  await t.rejects(store.query({ from: new Date('nonsense') }, { limit: 10 }), AuditQueryError)
  const error = await store.query({}, { limit: 0 }).catch((caught: unknown) => caught)
  t.match(error, { statusCode: 400, code: 'AUDIT_INVALID_QUERY' })
})

t.test('50 concurrent appends over a pool of 10 form one valid chain', async (t) => {
  const { store } = await openAuditFixture(t, { maxConnections: 10 })
  const appended = await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(auditEntry({ requestId: `req-${i}` }))))
  const byId = new Map(appended.map((event) => [event.id, event]))
  t.equal(byId.size, 50, 'distinct ids')
  t.same([...byId.keys()].map(Number).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 1), 'no gaps')
  for (const event of appended) {
    t.equal(event.prevHash, event.id === '1' ? null : byId.get(String(Number(event.id) - 1))!.hash, `row ${event.id} links`)
  }
  t.same(await store.verify(), { valid: true, checked: 50, firstInvalid: null })
})

t.test('verify names the first changed row and the row after a deleted one', async (t) => {
  const fixture = await openAuditFixture(t)
  const { store } = fixture
  for (let i = 0; i < 30; i++) await store.append(auditEntry({ requestId: `req-${i}` }))
  t.same(await store.verify(), { valid: true, checked: 30, firstInvalid: null })
  t.same(await store.verify({ fromId: '10', toId: '20' }), { valid: true, checked: 11, firstInvalid: null })

  // The superuser bypasses the triggers, as an attacker with database access would.
  const tamper = (statement: string): Promise<unknown> => fixture.sql(
    `BEGIN; SET LOCAL session_replication_role = replica; ${statement}; COMMIT`)

  await tamper(`UPDATE audit_events SET decision = 'denied' WHERE id = 25`)
  t.match(await store.verify(), { valid: false, checked: 25, firstInvalid: '25', reason: /row 25 does not match its hash/ })
  t.same(await store.verify({ toId: '24' }), { valid: true, checked: 24, firstInvalid: null })

  await tamper('DELETE FROM audit_events WHERE id = 12')
  t.match(await store.verify(), { valid: false, checked: 12, firstInvalid: '13', reason: /row 13 does not link/ })
  t.match(await store.verify({ fromId: '13' }), { valid: false, firstInvalid: '13' })

  // Rewriting a row together with its hash moves the break to the next link.
  await tamper(`UPDATE audit_events SET message = 'forged', hash = 'x' WHERE id = 5;
    UPDATE audit_events e SET hash = audit_event_hash(e) WHERE id = 5`)
  t.match(await store.verify(), { valid: false, checked: 6, firstInvalid: '6', reason: /row 6 does not link/ })

  await tamper('DELETE FROM audit_events WHERE id <= 2')
  t.match(await store.verify(), { valid: false, checked: 1, firstInvalid: '3' }, 'a cut without a checkpoint is a break')
})

t.test('verify walks a chain longer than one verification chunk', async (t) => {
  const fixture = await openAuditFixture(t)
  await fixture.sql(`
    INSERT INTO audit_events (operation_id, request_id, correlation_id, actor_oid, actor_name, actor_tenant_id,
      actor_roles, action, target_type, decision, status, policy_version)
    SELECT gen_random_uuid(), 'r' || g, 'c', 'o', 'n', 't', '{}', 'a', 'user', 'allowed', 'intent', 'v'
    FROM generate_series(1, 45000) g`)
  t.same(await fixture.store.verify(), { valid: true, checked: 45000, firstInvalid: null })
  await fixture.sql(`BEGIN; SET LOCAL session_replication_role = replica;
    DELETE FROM audit_events WHERE id = 40001; COMMIT`)
  t.match(await fixture.store.verify(), { valid: false, checked: 40001, firstInvalid: '40002' }, 'a break at a chunk boundary')
})

t.test('ready() is true only when the database answers and every migration is applied', async (t) => {
  const { store } = await openAuditFixture(t)
  t.equal(await store.ready(), true)

  const bare = await createTestDatabase(t, { migrate: false })
  const bareClient = createPrismaClient(bare.connectionString, { maxConnections: 1 })
  t.teardown(() => bareClient.$disconnect())
  t.equal(await createAuditStore(bareClient).ready(), false, 'migrations pending')

  const unreachable = createPrismaClient('postgresql://postgres@127.0.0.1:1/none', { maxConnections: 1 })
  t.teardown(() => unreachable.$disconnect())
  t.equal(await createAuditStore(unreachable).ready(), false, 'server unreachable')
})

// Group commit (see append in audit-store.ts). Rows written by one transaction share its xmin:
// the size of each transaction, in chain order, shows how appends were batched.
type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>

async function transactionSizes (query: Query): Promise<number[]> {
  const result = await query(`SELECT count(*)::int AS rows FROM audit_events GROUP BY xmin::text ORDER BY min(id)`)
  return result.rows.map((row: { rows: number }) => row.rows)
}

/** The key of the trigger's pg_advisory_xact_lock (see the migration). */
const CHAIN_LOCK = '4702116372618003'

/** A session holding the chain lock in an open transaction: appends wait in the trigger until it ends. */
async function holdChainLock (t: { teardown(fn: () => unknown): void }, fixture: AuditFixture): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: fixture.connectionString })
  await client.connect()
  t.teardown(() => client.end())
  await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`)
  return client
}

/** The backends of this database waiting for the chain lock, once there are `count` of them. */
async function chainLockWaiters (fixture: AuditFixture, count: number): Promise<number[]> {
  for (;;) {
    const result = await fixture.sql<{ pid: number }>(`SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
      WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`)
    if (result.rows.length >= count) return result.rows.map((row) => row.pid)
  }
}

/** A target id no btree index row can hold (random, so incompressible): passes the entry checks,
 *  fails in the database. */
const unindexableTarget = (): AuditEntryInput['target'] => ({ type: 'user', id: randomBytes(6000).toString('base64') })

t.test('group commit: concurrent appends share transactions of at most MAX_APPEND_BATCH rows, in arrival order', async (t) => {
  const fixture = await openAuditFixture(t, { maxConnections: 10 })
  const { store } = fixture
  const entries = Array.from({ length: 2 * MAX_APPEND_BATCH + 50 }, (_, i) =>
    auditEntry({ requestId: `req-${i}`, actor: i % 3 === 0 ? ALICE : BOB }))
  // uuid comes back in lower case: the caller still gets its own row.
  entries[3] = { ...entries[3]!, operationId: entries[3]!.operationId.toUpperCase() }
  const events = await Promise.all(entries.map((entry) => store.append(entry)))

  t.same(events.map((event) => [event.operationId, event.requestId]),
    entries.map((entry) => [entry.operationId.toLowerCase(), entry.requestId]), 'each caller gets its own row')
  t.same(events.map((event) => event.id), entries.map((_, i) => String(i + 1)), 'ids follow arrival order')
  t.same(await transactionSizes(fixture.sql), [MAX_APPEND_BATCH, MAX_APPEND_BATCH, 50], 'bounded batches')
  t.ok(events.every((event, i) => event.prevHash === (i === 0 ? null : events[i - 1]!.hash)),
    'each row links to the one before it, within and across batches')
  t.ok(events.every((event, i) => i === 0 || micros(event.occurredAt) >= micros(events[i - 1]!.occurredAt)), 'time never goes back')
  t.same(await store.verify(), { valid: true, checked: entries.length, firstInvalid: null })
  t.same(await store.get(events[MAX_APPEND_BATCH + 7]!.id), events[MAX_APPEND_BATCH + 7], 'the returned event is the stored row')
  const newestFirst = [...events].reverse()
  t.same(await allPages(store, {}, 7), newestFirst.map((event) => event.id))
  t.same(await allPages(store, { actor: ALICE.oid }, 9),
    newestFirst.filter((event) => event.actor.oid === ALICE.oid).map((event) => event.id))
})

t.test('group commit: appends that arrive during a flush wait for it, then share the next transaction', async (t) => {
  const fixture = await openAuditFixture(t)
  const { store } = fixture
  const lock = await holdChainLock(t, fixture)
  const first = store.append(auditEntry({ requestId: 'first' }))
  await chainLockWaiters(fixture, 1)
  // Resolved means committed: another session sees the row at once.
  const visibleWhenResolved = async (event: AuditEvent): Promise<[string, number]> =>
    [event.requestId, (await fixture.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_events WHERE id = $1', [event.id])).rows[0]!.n]
  const queued = Array.from({ length: 5 }, (_, i) => store.append(auditEntry({ requestId: `queued-${i}` })).then(visibleWhenResolved))
  await lock.query('COMMIT')
  t.equal((await first).requestId, 'first')
  t.same(await Promise.all(queued), Array.from({ length: 5 }, (_, i) => [`queued-${i}`, 1]))
  t.same(await transactionSizes(fixture.sql), [1, 5])
  t.same((await store.query({}, { limit: 10 })).items.map((event) => event.requestId).reverse(),
    ['first', 'queued-0', 'queued-1', 'queued-2', 'queued-3', 'queued-4'])
  t.same(await store.verify(), { valid: true, checked: 6, firstInvalid: null })
})

t.test('group commit: an entry the database refuses fails alone, the rest of its batch is committed in order', async (t) => {
  const fixture = await openAuditFixture(t)
  const { store } = fixture
  const entries = [
    auditEntry({ requestId: 'good-0' }),
    auditEntry({ requestId: 'good-1' }),
    auditEntry({ requestId: 'refused', target: unindexableTarget() }),
    auditEntry({ requestId: 'good-3' }),
  ]
  const results = await Promise.allSettled(entries.map((entry) => store.append(entry)))
  t.same(results.map((result) => result.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
  t.match((results[2] as PromiseRejectedResult).reason, { code: '54000', message: /index row size/ })
  t.same(await transactionSizes(fixture.sql), [1, 1, 1], 'the failed batch was retried one entry at a time')
  t.same((await store.query({}, { limit: 10 })).items.map((event) => event.requestId).reverse(), ['good-0', 'good-1', 'good-3'])
  t.same(await store.verify(), { valid: true, checked: 3, firstInvalid: null })
})

t.test('group commit: an entry the table would refuse is rejected before it joins a batch', async (t) => {
  const fixture = await openAuditFixture(t)
  const { store } = fixture
  const circular: Record<string, unknown> = {}
  circular.self = circular
  const refused: Array<[string, Partial<AuditEntryInput>]> = [
    ['operationId', { operationId: 'not-a-uuid' }],
    ['status', { status: 'done' as AuditEntryInput['status'] }],
    ['decision', { decision: undefined }],
    ['requestId', { requestId: 42 as unknown as string }],
    ['message', { message: 'nul \u0000 inside' }],
    ['actor.roles', { actor: { ...ALICE, roles: ['ok', 7 as unknown as string] } }],
    ['graphStatus', { graphStatus: 2.5 }],
    ['requestSummary', { requestSummary: { count: 1n } }],
    ['requestSummary', { requestSummary: circular }],
    ['requestSummary', { requestSummary: { ['key\u0000']: 1 } }],
    ['requestSummary', { requestSummary: { half: 'a\ud800' } }],
  ]
  // Text columns store a lone surrogate as U+FFFD, as they always did: not refused.
  const accepted = [auditEntry({ requestId: 'good-\ud800', requestSummary: { emoji: '\u{1F600}' } }), auditEntry({ requestId: 'good-2' })]
  const results = await Promise.allSettled([accepted[0]!, ...refused.map(([, overrides]) => auditEntry(overrides)), accepted[1]!]
    .map((entry) => store.append(entry)))
  for (const [index, [field]] of refused.entries()) {
    const result = results[index + 1]!
    t.equal(result.status, 'rejected', field)
    if (result.status === 'rejected') {
      t.type(result.reason, AuditEntryError)
      t.match(result.reason, { code: 'AUDIT_INVALID_ENTRY' })
      t.ok((result.reason as Error).message.startsWith(field), (result.reason as Error).message)
    }
  }
  const first = results[0]!
  t.equal(first.status === 'fulfilled' && first.value.requestId, 'good-\ufffd')
  t.equal(results[results.length - 1]!.status, 'fulfilled')
  t.same(await transactionSizes(fixture.sql), [2], 'the two good entries shared one transaction')
})

t.test('group commit: after an unclear outcome (connection lost) the batch is not retried', async (t) => {
  const fixture = await openAuditFixture(t)
  const { store } = fixture
  const lock = await holdChainLock(t, fixture)
  const lost = Promise.allSettled([store.append(auditEntry({ requestId: 'lost-0' })), store.append(auditEntry({ requestId: 'lost-1' }))])
  const [pid] = await chainLockWaiters(fixture, 1)
  const later = store.append(auditEntry({ requestId: 'later' }))
  // With a timeout, pg_terminate_backend returns once the backend has exited.
  await fixture.sql('SELECT pg_terminate_backend($1, 10000)', [pid])
  // Released before the outcome is awaited, so that a wrong retry would succeed rather than hang.
  await lock.query('COMMIT')
  t.match(await lost, [{ status: 'rejected', reason: { severity: 'FATAL', code: '57P01' } }, { status: 'rejected', reason: { code: '57P01' } }])
  t.equal((await later).requestId, 'later', 'the queue goes on over a new connection')
  t.same((await store.query({}, { limit: 10 })).items.map((event) => event.requestId), ['later'])
})

t.test('group commit on embedded Postgres (PGlite): batches chain, a refused entry fails alone', async (t) => {
  const server = await startEmbeddedPostgres({ dataDir: join(t.testdir(), 'pg') })
  await applyMigrations(server.connectionString)
  const prisma = createPrismaClient(server.connectionString, { maxConnections: 1 })
  t.teardown(async () => {
    await prisma.$disconnect()
    await server.stop()
  })
  const store = createAuditStore(prisma)
  const entries = Array.from({ length: MAX_APPEND_BATCH + 30 }, (_, i) => auditEntry({ requestId: `req-${i}` }))
  const refusedAt = MAX_APPEND_BATCH + 10
  entries[refusedAt] = auditEntry({ requestId: 'refused', target: unindexableTarget() })
  const results = await Promise.allSettled(entries.map((entry) => store.append(entry)))

  t.same(results.map((result) => result.status), entries.map((_, i) => i === refusedAt ? 'rejected' : 'fulfilled'))
  const events = results.flatMap((result) => result.status === 'fulfilled' ? [result.value] : [])
  const written = entries.filter((_, i) => i !== refusedAt)
  t.same(events.map((event) => [event.operationId, event.requestId]), written.map((entry) => [entry.operationId, entry.requestId]),
    'each caller gets its own row')
  t.ok(events.every((event, i) => i === 0 || BigInt(event.id) > BigInt(events[i - 1]!.id)), 'ids follow arrival order')
  t.ok(events.every((event, i) => event.prevHash === (i === 0 ? null : events[i - 1]!.hash)), 'one chain')
  const pool = poolOf(prisma)
  t.same(await transactionSizes((text, values) => pool.query(text, values)),
    [MAX_APPEND_BATCH, ...Array.from({ length: 29 }, () => 1)], 'a full batch, then the failed one retried entry by entry')
  t.same(await store.verify(), { valid: true, checked: written.length, firstInvalid: null })
  t.same(await allPages(store, {}, 50), [...events].reverse().map((event) => event.id))
})
