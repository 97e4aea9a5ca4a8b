// Audit log benchmark: loads BENCH_ROWS (default 1,000,000) chained rows into a fresh database
// on the machine's Postgres, then prints read, export, verify and write-path figures.
// Run: see bench/README.md. Prints numbers; asserts nothing.
import { randomBytes, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { exportChunks, type ExportFormat } from '../src/audit/audit-export.js'
import { insertStatement, insertValues } from '../src/audit/audit-rows.js'
import { createAuditStore } from '../src/audit/audit-store.js'
import type { AuditEntryInput, AuditEvent, AuditFilter, AuditStore } from '../src/audit/types.js'
import { applyMigrations } from '../src/db/migrate.js'
import { createPrismaClient, poolOf } from '../src/db/prisma-client.js'
import { onAdminDatabase } from '../test/setup/run-template.js'

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000)
const SERVER = process.env.BENCH_SERVER_URL ?? 'postgresql://postgres@127.0.0.1:5432'
const LOAD_BATCH = 50_000
// 5,000 rows per actor: page 50 of an actor + half its time range exists at any size.
const ACTORS = Math.max(1, Math.round(ROWS / 5000))
const PAGE = 25
const SAMPLES = 200

const actorOid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

const ms = (value: number): string => `${value.toFixed(2)} ms`
const report: string[] = []
function line (text: string): void {
  report.push(text)
  console.log(text)
}

const admin = (sql: string) => onAdminDatabase(sql, SERVER)

// Through the chaining trigger, a batch per statement: ACTORS actors, 6 actions, 20,000 targets.
const LOAD_SQL = `
INSERT INTO audit_events (operation_id, request_id, correlation_id, actor_oid, actor_name, actor_tenant_id,
  actor_roles, action, target_type, target_id, target_display_name, decision, status, rule_id, policy_version,
  request_summary, graph_status, message)
SELECT gen_random_uuid(), 'req-' || g, 'corr-' || g,
  '00000000-0000-4000-8000-' || lpad((g % ${ACTORS})::text, 12, '0'), 'User ' || (g % ${ACTORS}), 'tenant-1',
  ARRAY['Guests.Invite', 'Groups.ManageMembers'],
  (ARRAY['guest.invite', 'guest.resend', 'group.member.add', 'group.member.remove', 'app.role.assign', 'guest.remove'])[1 + (g::bigint * 7919) % 6],
  'user', 'guest-' || (g % 20000), 'Guest ' || (g % 20000),
  CASE WHEN g % 10 = 0 THEN 'denied' ELSE 'allowed' END,
  CASE WHEN g % 10 = 0 THEN 'denied' WHEN g % 2 = 0 THEN 'intent' ELSE 'succeeded' END,
  'rule-' || (g % 12), 'policy-v1',
  jsonb_build_object('email', 'guest' || g || '@partner.example', 'groups', jsonb_build_array('Developers')),
  CASE WHEN g % 2 = 1 THEN 201 END, 'ok'
FROM generate_series($1::int, $2::int) g`

function entry (writer: number, status: 'intent' | 'succeeded', operationId: string): AuditEntryInput {
  return {
    operationId,
    requestId: `bench-${writer}`,
    correlationId: operationId,
    actor: { oid: actorOid(writer % ACTORS), name: `User ${writer % ACTORS}`, tenantId: 'tenant-1', roles: ['Guests.Invite'] },
    action: 'guest.invite',
    target: { type: 'user', id: `guest-${writer}`, displayName: `Guest ${writer}` },
    decision: 'allowed',
    status,
    ruleId: 'rule-1',
    policyVersion: 'policy-v1',
    requestSummary: { email: `guest${writer}@partner.example`, groups: ['Developers'] },
    ...(status === 'succeeded' ? { graphStatus: 201, message: 'ok' } : {}),
  }
}

async function timed<T> (fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now()
  const value = await fn()
  return [value, performance.now() - start]
}

/** Follows cursors to page `depth` of `filter`; returns the time of that last fetch only. */
async function deepPage (store: AuditStore, filter: AuditFilter, depth: number): Promise<number> {
  let cursor: string | undefined
  for (let page = 1; page < depth; page++) {
    cursor = (await store.query(filter, cursor === undefined ? { limit: PAGE } : { limit: PAGE, cursor })).nextCursor
    if (cursor === undefined) throw new Error(`filter ${JSON.stringify(filter)} has fewer than ${depth} pages`)
  }
  const [page, elapsed] = await timed(() => store.query(filter, { limit: PAGE, cursor }))
  if (page.items.length !== PAGE) throw new Error('short deep page')
  return elapsed
}

async function exportAll (store: AuditStore, format: ExportFormat): Promise<{ rows: number; seconds: number; peakRssMb: number }> {
  const baseline = process.memoryUsage.rss()
  let peak = baseline
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 10)
  let rows = 0
  async function * counted (): AsyncGenerator<AuditEvent> {
    for await (const event of store.stream({})) {
      rows++
      yield event
    }
  }
  const start = performance.now()
  await pipeline(Readable.from(exportChunks(counted(), format)), createWriteStream('/dev/null'))
  const seconds = (performance.now() - start) / 1000
  clearInterval(sampler)
  peak = Math.max(peak, process.memoryUsage.rss())
  return { rows, seconds, peakRssMb: (peak - baseline) / 2 ** 20 }
}

async function writers (count: number, operationsEach: number, append: (entry: AuditEntryInput) => Promise<unknown>): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = []
  const start = performance.now()
  await Promise.all(Array.from({ length: count }, async (_, writer) => {
    for (let op = 0; op < operationsEach; op++) {
      const operationId = randomUUID()
      for (const status of ['intent', 'succeeded'] as const) {
        const [, elapsed] = await timed(() => append(entry(writer, status, operationId)))
        latencies.push(elapsed)
      }
    }
  }))
  return { latencies, seconds: (performance.now() - start) / 1000 }
}

async function main (): Promise<void> {
  const name = `guestgate_bench_${randomBytes(4).toString('hex')}`
  await admin(`CREATE DATABASE "${name}"`)
  const connectionString = `${SERVER}/${name}`
  const prisma = createPrismaClient(connectionString, { maxConnections: 60 })
  try {
    await applyMigrations(connectionString)
    const store = createAuditStore(prisma)
    const pool = poolOf(prisma)
    const version = (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version
    line(`# audit bench: ${ROWS.toLocaleString('en')} rows, ${new Date().toISOString()}`)
    line(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `Postgres ${version}, Node ${process.version}, load average ${loadavg().map((n) => n.toFixed(1)).join(' ')}`)

    // Load through the trigger, in batches.
    const loadStart = performance.now()
    for (let from = 1; from <= ROWS; from += LOAD_BATCH) {
      await pool.query(LOAD_SQL, [from, Math.min(ROWS, from + LOAD_BATCH - 1)])
    }
    const loadSeconds = (performance.now() - loadStart) / 1000
    line(`load (INSERT ... SELECT through the chaining trigger): ${loadSeconds.toFixed(1)} s, ${Math.round(ROWS / loadSeconds).toLocaleString('en')} rows/s`)
    await pool.query('VACUUM ANALYZE audit_events')

    const span = (await pool.query<{ first: Date; last: Date }>('SELECT min(occurred_at) AS first, max(occurred_at) AS last FROM audit_events')).rows[0]!
    const first = span.first.getTime()
    const width = span.last.getTime() - first
    const from = new Date(first + width * 0.25)
    const to = new Date(first + width * 0.75)
    const actorFilter = (i: number): AuditFilter => ({ actor: actorOid((i * 37) % ACTORS), from, to })

    for (let i = 0; i < 20; i++) await store.query(actorFilter(i), { limit: PAGE }) // warm-up
    const firstPages: number[] = []
    for (let i = 0; i < SAMPLES; i++) firstPages.push((await timed(() => store.query(actorFilter(i), { limit: PAGE })))[1])
    line(`first page, actor + time range (limit ${PAGE}, ${SAMPLES} samples): p50 ${ms(percentile(firstPages, 50))}, p95 ${ms(percentile(firstPages, 95))}`)

    const deep: number[] = []
    for (let i = 0; i < 60; i++) deep.push(await deepPage(store, actorFilter(i), 50))
    line(`page 50, actor + time range (60 samples): p50 ${ms(percentile(deep, 50))}, p95 ${ms(percentile(deep, 95))}`)
    const deepAction: number[] = []
    for (let i = 0; i < 20; i++) deepAction.push(await deepPage(store, { action: 'group.member.add', decision: 'allowed' }, 50))
    line(`page 50, action + decision (20 samples): p50 ${ms(percentile(deepAction, 50))}, p95 ${ms(percentile(deepAction, 95))}`)
    const deepActorName: number[] = []
    for (let i = 0; i < 20; i++) deepActorName.push(await deepPage(store, { actor: `User ${i}` }, 50))
    line(`page 50, actor by name (20 samples): p50 ${ms(percentile(deepActorName, 50))}, p95 ${ms(percentile(deepActorName, 95))}`)

    for (const format of ['ndjson', 'csv'] as const) {
      const exported = await exportAll(store, format)
      line(`export ${format} of all rows (stream() -> exportChunks -> /dev/null): ${exported.rows.toLocaleString('en')} rows in ` +
        `${exported.seconds.toFixed(1)} s = ${Math.round(exported.rows / exported.seconds).toLocaleString('en')} rows/s, ` +
        `peak extra RSS ${exported.peakRssMb.toFixed(0)} MB`)
    }

    const [verified, verifyMs] = await timed(() => store.verify())
    line(`verify all rows: ${(verifyMs / 1000).toFixed(1)} s (${Math.round(verified.checked / (verifyMs / 1000)).toLocaleString('en')} rows/s), valid=${verified.valid}, checked=${verified.checked}`)

    // The chain's own cost: store.append (group commit into audit_events) against what an append
    // would be without the chain, one INSERT per append into an unchained copy (same columns,
    // indexes and rows; ids from a plain sequence, no trigger). The same single INSERT into
    // audit_events shows the write path before group commit.
    await pool.query(`CREATE TABLE audit_events_unchained (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`)
    await pool.query(`CREATE SEQUENCE audit_events_unchained_id_seq OWNED BY audit_events_unchained.id`)
    await pool.query(`INSERT INTO audit_events_unchained SELECT * FROM audit_events`)
    await pool.query(`SELECT setval('audit_events_unchained_id_seq', (SELECT max(id) FROM audit_events_unchained))`)
    await pool.query(`ALTER TABLE audit_events_unchained ALTER id SET DEFAULT nextval('audit_events_unchained_id_seq'),
      ALTER occurred_at SET DEFAULT clock_timestamp(), ALTER hash SET DEFAULT ''`)
    await pool.query('VACUUM ANALYZE audit_events_unchained')
    const chainedSql = insertStatement()
    const unchainedSql = insertStatement('audit_events_unchained')
    const GROUP_COMMIT = 'store.append (chained, group commit)'
    const SINGLE_CHAINED = 'single INSERT, chained (before group commit)'
    const SINGLE_UNCHAINED = 'single INSERT, unchained copy'
    const variants = {
      [GROUP_COMMIT]: (e: AuditEntryInput) => store.append(e),
      [SINGLE_CHAINED]: (e: AuditEntryInput) => pool.query(chainedSql, insertValues(e)),
      [SINGLE_UNCHAINED]: (e: AuditEntryInput) => pool.query(unchainedSql, insertValues(e)),
    }
    // Warm-up, which also opens the pool's connections for the 50-writer runs.
    await writers(50, 4, variants[GROUP_COMMIT])
    await writers(50, 4, variants[SINGLE_UNCHAINED])
    line('write path, intent + outcome appends (latency per append):')
    // 3,000 to 12,000 appends per variant, so that p99 is not a handful of samples, run in
    // rounds that alternate the variants (each round starting with the next one), so that a
    // checkpoint or a neighbour's burst on this shared machine does not land on one variant only.
    const ROUNDS = 6
    for (const [count, operationsEach] of [[1, 1500], [10, 600], [50, 120]] as const) {
      const runs = Object.fromEntries(Object.keys(variants).map((label) => [label, { latencies: [] as number[], seconds: 0, commits: 0 }]))
      for (let round = 0; round < ROUNDS; round++) {
        const order = Object.entries(variants)
        for (const [label, append] of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
          const run = runs[label]!
          const headId = (await pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM audit_events')).rows[0]!.id
          const { latencies, seconds } = await writers(count, operationsEach / ROUNDS, append)
          run.latencies.push(...latencies)
          run.seconds += seconds
          // Rows of one transaction share its xmin: the group commits this round made.
          if (label === GROUP_COMMIT) {
            run.commits += (await pool.query<{ n: number }>('SELECT count(DISTINCT xmin::text)::int AS n FROM audit_events WHERE id > $1', [headId])).rows[0]!.n
          }
        }
      }
      for (const [label, { latencies, seconds, commits }] of Object.entries(runs)) {
        line(`  ${count} writer(s), ${label}: p50 ${ms(percentile(latencies, 50))}, p95 ${ms(percentile(latencies, 95))}, ` +
          `p99 ${ms(percentile(latencies, 99))}, ` +
          `${Math.round(latencies.length / seconds).toLocaleString('en')} appends/s` +
          (label === GROUP_COMMIT ? `, ${(latencies.length / commits).toFixed(1)} appends per commit` : ''))
      }
      const unchained = runs[SINGLE_UNCHAINED]!.latencies
      for (const label of [GROUP_COMMIT, SINGLE_CHAINED]) {
        const chained = runs[label]!.latencies
        line(`  ${count} writer(s): chain adds (${label} vs unchained) p50 ${ms(percentile(chained, 50) - percentile(unchained, 50))}, ` +
          `p99 ${ms(percentile(chained, 99) - percentile(unchained, 99))}`)
      }
    }
    const [finalCheck] = await timed(() => store.verify())
    line(`verify after the write runs: valid=${finalCheck.valid}, checked=${finalCheck.checked}`)
    line(`load average at the end: ${loadavg().map((n) => n.toFixed(1)).join(' ')}`)
  } finally {
    await prisma.$disconnect()
    if (process.env.BENCH_KEEP === '1') {
      console.log(`kept database ${name}`)
    } else {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    }
  }
}

await main()
