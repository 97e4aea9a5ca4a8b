// The authorization plugin: every denial is in the audit log before the 403 leaves; a denial the
// audit log cannot take is answered 503, never an unrecorded 403 (fail closed).
import t from 'tap'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import { sql } from '../helpers/database.js'
import type { Problem } from '../helpers/replies.js'


// Issue 9, finding 2: when the denial's audit row failed, the caller still got 403 with an
// operationId that had no row.
t.test('issue 9 #2: a denial that cannot be audited is a 503, not an unrecorded 403', async (t) => {
  const { as, token, databaseUrl } = await build(t)
  const noRole = await token([])
  const inviter = await token(['Guests.Invite'])

  // The audit table refuses every insert, as a full disk or a revoked grant would.
  await sql(databaseUrl, `CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit table unavailable'; END $$;
    CREATE TRIGGER refuse_insert BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_insert();`)
  const checks = [
    { name: 'coarse check (no role)', token: noRole, request: { method: 'GET', url: '/v1/guests' } },
    { name: 'target check (a domain not allowed)', token: inviter, request: { method: 'POST', url: '/v1/invitations', payload: { email: 'eve@evil.example' } } },
  ]
  for (const c of checks) {
    const res = await as(c.token, c.request)
    t.equal(res.statusCode, 503, `${c.name}: 503 (${res.body})`)
    t.match(res.json(), { code: 'audit_unavailable', status: 503 })
    t.equal(res.headers['retry-after'], '5')
    t.notOk(res.json<Problem>().operationId, 'no operation id that points nowhere')
  }

  await sql(databaseUrl, 'DROP TRIGGER refuse_insert ON audit_events')
  for (const c of checks) {
    const res = await as(c.token, c.request)
    t.equal(res.statusCode, 403, `${c.name}: 403 once the log takes rows again`)
    const rows = await auditRows(databaseUrl, 'operation_id = $1', [res.json<Problem>().operationId])
    t.equal(rows.length, 1, `${c.name}: the 403's operationId names its row`)
    t.match(rows[0], { decision: 'denied', status: 'denied', rule_id: res.json<Problem>().rule })
  }
})
