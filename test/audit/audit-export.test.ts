import t from 'tap'
import { CSV_HEADER, exportChunks, toCsvLine, toNdjsonLine } from '../../src/audit/audit-export.js'
import type { AuditEvent, AuditFilter } from '../../src/audit/types.js'
import { bulkInsert, openAuditFixture } from './fixtures/audit-fixture.js'

const event: AuditEvent = {
  id: '7',
  occurredAt: '2026-11-27T10:00:00.123456Z',
  operationId: '11111111-2222-4333-8444-555555555555',
  requestId: 'req-1',
  correlationId: 'corr-1',
  actor: { oid: 'oid-1', name: 'Smith, "Jo"', tenantId: 'tenant-1', roles: ['Guests.Invite', 'Audit.Read'] },
  action: 'guest.invite',
  target: { type: 'user', id: null, displayName: 'line one\nline two\r\nthree' },
  decision: 'allowed',
  status: 'failed',
  ruleId: null,
  reason: null,
  policyVersion: 'v1',
  requestSummary: { email: 'a@b.example', note: 'x, "y"' },
  graphStatus: 400,
  graphRequestId: 'graph-1',
  graphErrorCode: 'Request_BadRequest',
  message: '=HYPERLINK("http://evil.example")',
  prevHash: null,
  hash: 'ab'.repeat(32),
}

/** A minimal RFC 4180 reader, to check that the lines read back as the original cells. */
function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (char === '"') {
        quoted = false
      } else {
        cell += char
      }
    } else if (char === '"') {
      quoted = true
    } else if (char === ',') {
      row.push(cell)
      cell = ''
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else {
      cell += char
    }
  }
  return rows
}

t.test('CSV: RFC 4180 quoting of commas, quotes and newlines, CRLF line ends', async (t) => {
  const line = toCsvLine(event)
  t.ok(line.endsWith('\r\n'))
  t.ok(CSV_HEADER.endsWith('\r\n'))
  const [header, cells] = parseCsv(CSV_HEADER + line)
  t.equal(header!.length, cells!.length)
  const cell = (name: string): string | undefined => cells![header!.indexOf(name)]
  t.equal(cell('actorName'), 'Smith, "Jo"')
  t.equal(cell('targetDisplayName'), 'line one\nline two\r\nthree')
  t.equal(cell('targetId'), '', 'null is an empty cell')
  t.equal(cell('actorRoles'), 'Guests.Invite Audit.Read')
  t.same(JSON.parse(cell('requestSummary')!), event.requestSummary)
  t.equal(cell('graphStatus'), '400')
  t.equal(cell('occurredAt'), event.occurredAt)
  t.match(line, /,"Smith, ""Jo""",/)
})

t.test('CSV: cells a spreadsheet would run as a formula are kept as text', async (t) => {
  for (const dangerous of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) {
    const [header, cells] = parseCsv(CSV_HEADER + toCsvLine({ ...event, message: dangerous }))
    t.equal(cells![header!.indexOf('message')], `'${dangerous}`, JSON.stringify(dangerous))
  }
  const [header, cells] = parseCsv(CSV_HEADER + toCsvLine({ ...event, message: 'plain = fine' }))
  t.equal(cells![header!.indexOf('message')], 'plain = fine')
})

t.test('NDJSON: one JSON object per line, the event exactly', async (t) => {
  const line = toNdjsonLine(event)
  t.ok(line.endsWith('\n'))
  t.equal(line.indexOf('\n'), line.length - 1, 'newlines inside values are escaped')
  t.same(JSON.parse(line), event)
})

t.test('a streamed export of a few thousand rows equals the paged query results', async (t) => {
  const fixture = await openAuditFixture(t)
  await bulkInsert(fixture, 3500)
  const { store } = fixture
  for (const filter of [{}, { actor: 'oid-3' }, { decision: 'denied' as const, action: 'guest.invite' }] satisfies AuditFilter[]) {
    const paged: AuditEvent[] = []
    let cursor: string | undefined
    do {
      const page = await store.query(filter, cursor === undefined ? { limit: 100 } : { limit: 100, cursor })
      paged.push(...page.items)
      cursor = page.nextCursor
    } while (cursor !== undefined)
    const streamed: AuditEvent[] = []
    for await (const item of store.stream(filter, 250)) streamed.push(item)
    t.same(streamed, paged, `stream ${JSON.stringify(filter)}: ${paged.length} rows`)
    t.ok(paged.length > 0)

    let ndjson = ''
    for await (const chunk of exportChunks(store.stream(filter), 'ndjson')) ndjson += chunk
    let csv = ''
    for await (const chunk of exportChunks(store.stream(filter), 'csv', 7)) csv += chunk
    t.same(ndjson.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown), paged, 'NDJSON export')
    t.equal(csv, CSV_HEADER + paged.map(toCsvLine).join(''), 'CSV export')
    const [header, ...rows] = parseCsv(csv)
    t.same(rows.map((row) => row[header!.indexOf('id')]), paged.map((item) => item.id), 'CSV export rows')
    t.same(rows.map((row) => row[header!.indexOf('targetDisplayName')]), paged.map((item) => item.target.displayName),
      'multi-line cells survive')
  }
  t.equal((await store.query({}, { limit: 1 })).items[0]!.id, '3500')
})

t.test('exportChunks groups lines and yields nothing extra', async (t) => {
  async function * events (count: number): AsyncGenerator<AuditEvent> {
    for (let i = 1; i <= count; i++) yield { ...event, id: String(i) }
  }
  const chunks: string[] = []
  for await (const chunk of exportChunks(events(5), 'ndjson', 2)) chunks.push(chunk)
  t.same(chunks.map((chunk) => chunk.split('\n').length - 1), [2, 2, 1])
  const empty: string[] = []
  for await (const chunk of exportChunks(events(0), 'ndjson')) empty.push(chunk)
  t.same(empty, [])
  const headerOnly: string[] = []
  for await (const chunk of exportChunks(events(0), 'csv')) headerOnly.push(chunk)
  t.same(headerOnly, [CSV_HEADER], 'an empty CSV export still has its header')
})

t.test('a consumer that stops early leaves nothing pending', async (t) => {
  const fixture = await openAuditFixture(t)
  await bulkInsert(fixture, 30)
  const taken: string[] = []
  for await (const item of fixture.store.stream({}, 10)) {
    taken.push(item.id)
    if (taken.length === 12) break
  }
  t.same(taken, Array.from({ length: 12 }, (_, i) => String(30 - i)))
})
