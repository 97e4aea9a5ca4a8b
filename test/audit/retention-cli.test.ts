import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { runRetention, USAGE } from '../../src/audit/retention-cli.js'
import { auditEntry, openAuditFixture } from './fixtures/audit-fixture.js'

t.test('the retention command archives and prunes old rows; the chain still verifies', async (t) => {
  const fixture = await openAuditFixture(t)
  for (let i = 0; i < 5; i++) await fixture.store.append(auditEntry())
  // Wait until the database clock has moved past the last row, so 0 days covers them all.
  for (;;) {
    const { rows } = await fixture.sql<{ passed: boolean }>(`SELECT clock_timestamp() > (SELECT max(occurred_at) FROM audit_events) + interval '1 millisecond' AS passed`)
    if (rows[0]!.passed === true) break
  }
  const archive = join(t.testdir(), 'audit.ndjson')
  const result = await runRetention(['--older-than-days', '0', '--archive', archive], { DATABASE_URL: fixture.connectionString })
  t.equal(result.rows, 5)
  t.ok(existsSync(archive) && existsSync(`${archive}.sha256`), 'archive and its checksum written')
  t.match(await fixture.store.verify(), { valid: true, firstInvalid: null })
})

t.test('bad arguments print the usage', async (t) => {
  await t.rejects(runRetention(['--older-than-days', 'soon'], { DATABASE_URL: 'postgresql://x@127.0.0.1/x' }), { message: USAGE })
  await t.rejects(runRetention(['--older-than-days', '3', '--archive', '/tmp/x'], {}), /DATABASE_URL/)
})
