import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { archiveAndPrune, CHECKPOINT_ACTION } from '../../src/audit/retention.js'
import type { AuditEvent } from '../../src/audit/types.js'
import { auditEntry, openAuditFixture, type AuditFixture } from './fixtures/audit-fixture.js'

async function appendRows (fixture: AuditFixture, count: number): Promise<AuditEvent[]> {
  const events: AuditEvent[] = []
  for (let i = 0; i < count; i++) events.push(await fixture.store.append(auditEntry({ requestId: `req-${i}` })))
  return events
}

/** A cut time after every row so far: the next millisecond, once the database clock has passed it. */
async function cutAfterExistingRows (fixture: AuditFixture, last: AuditEvent): Promise<Date> {
  const cut = new Date(Date.parse(last.occurredAt.slice(0, 23) + 'Z') + 1)
  for (;;) {
    const { rows } = await fixture.sql<{ passed: boolean }>('SELECT clock_timestamp() > $1 AS passed', [cut])
    if (rows[0]!.passed === true) return cut
  }
}

function sha256 (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

t.test('archives the old prefix, records a checkpoint, prunes, and the chain still verifies', async (t) => {
  const fixture = await openAuditFixture(t)
  const { store, prisma } = fixture
  const dir = t.testdir()
  const old = await appendRows(fixture, 25)
  const cut = await cutAfterExistingRows(fixture, old[old.length - 1]!)
  const recent = await appendRows(fixture, 10)

  const archivePath = join(dir, 'audit-1.ndjson')
  const result = await archiveAndPrune(prisma, { olderThanDays: 0, archivePath, now: cut })
  t.match(result, { rows: 25, prunedThroughId: '25', cutHash: old[24]!.hash })

  const archive = await readFile(archivePath)
  t.equal(result.archiveSha256, sha256(archive))
  t.equal(await readFile(`${archivePath}.sha256`, 'utf8'), `${sha256(archive)}  audit-1.ndjson\n`, 'sha256sum format')
  t.same(archive.toString('utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown), old, 'the pruned rows, in chain order')

  const checkpoint = result.checkpoint!
  t.match(checkpoint, {
    id: '36',
    action: CHECKPOINT_ACTION,
    status: 'recorded',
    decision: 'allowed',
    prevHash: recent[9]!.hash,
    requestSummary: { prunedThroughId: '25', cutHash: old[24]!.hash, rows: 25, archiveSha256: result.archiveSha256 },
  })
  t.equal(await store.get('25'), null, 'pruned')
  t.same(await store.get('26'), recent[0], 'kept')
  t.equal(recent[0]!.prevHash, result.cutHash, 'the first remaining row links to the recorded cut')
  t.same(await store.verify(), { valid: true, checked: 11, firstInvalid: null })

  // A later run prunes the first checkpoint too; the new one carries the link.
  const laterCut = await cutAfterExistingRows(fixture, checkpoint)
  await appendRows(fixture, 3)
  const second = await archiveAndPrune(prisma, { olderThanDays: 0, archivePath: join(dir, 'audit-2.ndjson'), now: laterCut })
  t.match(second, { rows: 11, prunedThroughId: '36' })
  t.same(await store.verify(), { valid: true, checked: 4, firstInvalid: null })

  // Deleting the first remaining row behind the triggers' back is still caught.
  await fixture.sql('BEGIN; SET LOCAL session_replication_role = replica; DELETE FROM audit_events WHERE id = 37; COMMIT')
  t.match(await store.verify(), { valid: false, firstInvalid: '38' })
})

t.test('nothing old enough: no archive, no checkpoint', async (t) => {
  const fixture = await openAuditFixture(t)
  await appendRows(fixture, 3)
  const archivePath = join(t.testdir(), 'none.ndjson')
  const result = await archiveAndPrune(fixture.prisma, { olderThanDays: 30, archivePath })
  t.same(result, { rows: 0, prunedThroughId: null, cutHash: null, archiveSha256: null, checkpoint: null })
  t.notOk(existsSync(archivePath))
  t.same(await fixture.store.verify(), { valid: true, checked: 3, firstInvalid: null })
})

t.test('refuses to overwrite an existing archive and then deletes nothing', async (t) => {
  const fixture = await openAuditFixture(t)
  await appendRows(fixture, 3)
  const archivePath = join(t.testdir(), 'exists.ndjson')
  await writeFile(archivePath, 'earlier archive\n')
  await t.rejects(archiveAndPrune(fixture.prisma, { olderThanDays: 0, archivePath, now: new Date(Date.now() + 60_000) }), { code: 'EEXIST' })
  t.equal(await readFile(archivePath, 'utf8'), 'earlier archive\n')
  t.same(await fixture.store.verify(), { valid: true, checked: 3, firstInvalid: null })
})
