// What the database itself enforces on audit_events (migration 20261127152354_audit_events):
// chaining on insert, append-only, and the guestgate_app role's privileges.
import pg from 'pg'
import t from 'tap'
import { auditEntry, bulkInsert, canonicalRowHash, databaseRowHash, openAuditFixture, type AuditFixture } from './fixtures/audit-fixture.js'

async function session (t: { teardown(fn: () => unknown): void }, fixture: AuditFixture): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: fixture.connectionString })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

const INSERT_FORGED = `INSERT INTO audit_events (id, occurred_at, prev_hash, hash, operation_id, request_id,
    correlation_id, actor_oid, actor_name, actor_tenant_id, actor_roles, action, target_type, decision, status, policy_version)
  VALUES (1000, '2000-01-01', 'forged-prev', 'forged-hash', gen_random_uuid(), 'r', 'c', 'o', 'n', 't', '{}',
    'guest.invite', 'user', 'allowed', 'intent', 'v1')
  RETURNING id::text, occurred_at > now() - interval '1 hour' AS recent, prev_hash, hash = audit_event_hash(audit_events) AS hashed`

t.test('the insert trigger assigns id, time, link and hash, whatever the client sent', async (t) => {
  const fixture = await openAuditFixture(t)
  const first = await fixture.store.append(auditEntry())
  const forged = (await fixture.sql<Record<string, unknown>>(INSERT_FORGED)).rows[0]
  t.same(forged, { id: '2', recent: true, prev_hash: first.hash, hashed: true })
})

t.test('occurred_at never goes below the previous row\'s, even when the clock is behind it', async (t) => {
  const fixture = await openAuditFixture(t)
  const first = await fixture.store.append(auditEntry())
  // Pretend the clock stepped back: the newest row lies an hour ahead of the database clock.
  await fixture.sql(`BEGIN; SET LOCAL session_replication_role = replica;
    UPDATE audit_events SET occurred_at = occurred_at + interval '1 hour' WHERE id = ${first.id}; COMMIT`)
  const ahead = (await fixture.sql<{ at: string }>(`SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
    FROM audit_events WHERE id = ${first.id}`)).rows[0]!.at
  const next = await fixture.store.append(auditEntry())
  t.equal(next.occurredAt, ahead, 'takes the previous row\'s time rather than going back')
})

t.test('a multi-row INSERT ... SELECT is chained row by row', async (t) => {
  const fixture = await openAuditFixture(t)
  await fixture.store.append(auditEntry())
  await bulkInsert(fixture, 500)
  const links = await fixture.sql(`SELECT count(*)::int AS rows,
      count(*) FILTER (WHERE prev_hash IS NOT DISTINCT FROM previous)::int AS linked
    FROM (SELECT prev_hash, lag(hash) OVER (ORDER BY id) AS previous FROM audit_events) chain`)
  t.same(links.rows[0], { rows: 501, linked: 501 })
  t.same(await fixture.store.verify(), { valid: true, checked: 501, firstInvalid: null })
})

t.test('the owner cannot update, delete or truncate: the triggers refuse', async (t) => {
  const fixture = await openAuditFixture(t)
  await fixture.store.append(auditEntry())
  await t.rejects(fixture.sql(`UPDATE audit_events SET message = 'edited'`), /append-only: UPDATE rejected/)
  await t.rejects(fixture.sql('DELETE FROM audit_events'), /append-only: DELETE rejected/)
  await t.rejects(fixture.sql('TRUNCATE audit_events'), /append-only: TRUNCATE rejected/)
  await t.rejects(fixture.sql('SELECT audit_prune_through(1)'), /no checkpoint row records the cut/)
  t.same(await fixture.store.verify(), { valid: true, checked: 1, firstInvalid: null })
})

t.test('guestgate_app may read and append, and nothing else', async (t) => {
  const fixture = await openAuditFixture(t)
  await fixture.store.append(auditEntry())
  const app = await session(t, fixture)
  await app.query('SET ROLE guestgate_app')
  t.equal((await app.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events')).rows[0]!.n, 1)
  const inserted = await app.query<{ id: string }>(`INSERT INTO audit_events (operation_id, request_id, correlation_id, actor_oid,
      actor_name, actor_tenant_id, actor_roles, action, target_type, decision, status, policy_version)
    VALUES (gen_random_uuid(), 'r', 'c', 'o', 'n', 't', '{}', 'guest.invite', 'user', 'allowed', 'intent', 'v1')
    RETURNING id::text`)
  t.equal(inserted.rows[0]!.id, '2', 'appends through the chaining trigger')
  await t.rejects(app.query(`UPDATE audit_events SET message = 'x'`), /permission denied/)
  await t.rejects(app.query('DELETE FROM audit_events'), /permission denied/)
  await t.rejects(app.query('TRUNCATE audit_events'), /permission denied/)
  await t.rejects(app.query('SELECT audit_prune_through(1)'), /permission denied/)
  await t.rejects(app.query(`BEGIN; SELECT set_config('guestgate.audit_prune_through', '99', true);
    DELETE FROM audit_events; COMMIT`), /permission denied/, 'the prune flag does not grant DELETE')
  await app.query('ROLLBACK')
  const privileges = await fixture.sql<{ privilege: string }>(`SELECT privilege FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE',
      'TRUNCATE', 'REFERENCES', 'TRIGGER']) privilege
    WHERE has_table_privilege('guestgate_app', 'audit_events', privilege) ORDER BY privilege`)
  t.same(privileges.rows.map((row) => row.privilege), ['INSERT', 'SELECT'])
  t.same(await fixture.store.verify(), { valid: true, checked: 2, firstInvalid: null })
})

t.test('inserts outside READ COMMITTED are refused rather than risking a fork', async (t) => {
  const fixture = await openAuditFixture(t)
  await t.rejects(fixture.sql(`BEGIN ISOLATION LEVEL REPEATABLE READ;
    INSERT INTO audit_events (operation_id, request_id, correlation_id, actor_oid, actor_name, actor_tenant_id,
      actor_roles, action, target_type, decision, status, policy_version)
    VALUES (gen_random_uuid(), 'r', 'c', 'o', 'n', 't', '{}', 'guest.invite', 'user', 'allowed', 'intent', 'v1');
    COMMIT`), /only under READ COMMITTED/)
})

t.test('the row hash follows the documented canonical form, whatever the session TimeZone and DateStyle', async (t) => {
  const fixture = await openAuditFixture(t)
  const client = await session(t, fixture)
  t.equal(await databaseRowHash((text, values) => client.query(text, values)), canonicalRowHash())
})
