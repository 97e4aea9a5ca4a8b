// Subscriptions through the API: an IPv6 URL that leads to an internal IPv4 one (NAT64, 6to4,
// Teredo, IPv4-compatible or -translated) answers 422; and a URL whose query or path is the
// receiver's credential reaches no audit row and no log line, only its origin and hash do.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'

const secret = `whsec_${randomBytes(32).toString('base64')}`
const logLines: string[] = []
const { as, token, databaseUrl } = await build(t, { LOG_LEVEL: 'debug' }, { log: { write: (line) => { logLines.push(line) } } })
const manager = await token(['Guests.Manage'])

t.test('IPv6 addresses that lead to an internal IPv4 one are refused', async (t) => {
  for (const host of [
    '64:ff9b::a00:1', // NAT64 well-known prefix (RFC 6052): 10.0.0.1
    '64:ff9b::a9fe:a9fe', // NAT64: 169.254.169.254, cloud metadata
    '64:ff9b:1::a00:1', // local-use NAT64 (RFC 8215)
    '::a00:1', // IPv4-compatible: 10.0.0.1
    '::ffff:0:a00:1', // IPv4-translated (RFC 2765): 10.0.0.1
    '2002:a00:1::1', // 6to4: 10.0.0.1
    '2001:0:4136:e378:8000:63bf:f5ff:fffe', // Teredo: client 10.0.0.1
    '::ffff:a00:1', // IPv4-mapped (refused before too)
  ]) {
    const res = await as(manager, { method: 'POST', url: '/v1/webhooks', payload: { url: `https://[${host}]/hook`, events: ['guest.access.granted'], secret } })
    t.equal(res.statusCode, 422, host)
    t.equal(res.json<{ code: string }>().code, 'webhook_url_not_allowed', host)
  }
  // A DNS64-synthesized address of a public IPv4 receiver is fine (dry run: nothing stored).
  for (const host of ['[64:ff9b::808:808]', '8.8.8.8']) {
    const ok = await as(manager, { method: 'POST', url: '/v1/webhooks?dryRun=true', payload: { url: `https://${host}/hook`, events: ['guest.access.granted'], secret } })
    t.equal(ok.json<{ wouldAnswer: { status: number } }>().wouldAnswer.status, 201, `${host}: ${ok.body}`)
  }
})

t.test('a URL carrying its receiver\'s credential: the audit rows hold its origin and hash only', async (t) => {
  const pathToken = 'T0000/B0000/XXXXpathtoken'
  const queryToken = 's3cr3tquerytoken'
  const url = `https://hooks.example.com/services/${pathToken}?token=${queryToken}`
  const dryRun = await as(manager, { method: 'POST', url: '/v1/webhooks?dryRun=true', payload: { url, events: ['guest.access.granted'], secret } })
  t.equal(dryRun.statusCode, 200, dryRun.body)
  const created = await as(manager, { method: 'POST', url: '/v1/webhooks', payload: { url, events: ['guest.access.granted'], secret, description: 'chat' } })
  t.equal(created.statusCode, 201, created.body)
  const id = created.json<{ id: string; url: string }>().id
  t.equal(created.json<{ url: string }>().url, url, 'the manager who configured it sees it whole')
  t.equal((await as(manager, { method: 'DELETE', url: `/v1/webhooks/${id}` })).statusCode, 204)

  // As the security team's SQL sees them.
  const rows = (await auditRows(databaseUrl)).filter((r) => r.target_id === id)
  t.same(rows.map((r) => r.action), ['webhook.create', 'webhook.delete'])
  const [create, remove] = rows
  t.match(create?.request_summary, { urlOrigin: 'https://hooks.example.com', urlSha256: /^[0-9a-f]{64}$/, events: ['guest.access.granted'], description: 'chat' })
  t.equal(remove?.request_summary.urlSha256, create?.request_summary.urlSha256, 'the create and delete rows name the same URL')
  t.notOk('url' in (create?.request_summary ?? {}), 'no url field')
  const everyRow = JSON.stringify(await auditRows(databaseUrl))
  for (const secretPart of [queryToken, pathToken, 'XXXXpathtoken', '/services/']) t.notOk(everyRow.includes(secretPart), `no audit row holds ${secretPart}`)

  // As an auditor reads them through the API.
  const auditor = await token(['Audit.Read'])
  for (const action of ['webhook.create', 'webhook.delete']) {
    const res = await as(auditor, { method: 'GET', url: `/v1/audit/events?action=${action}` })
    t.equal(res.statusCode, 200, res.body)
    t.ok(res.body.includes('https://hooks.example.com'), `${action}: the origin is there`)
    t.notOk(res.body.includes(queryToken) || res.body.includes('XXXXpathtoken'), `${action}: the credential is not`)
  }
  t.ok(logLines.length > 5, 'the app did log')
  t.notOk(logLines.some((line) => line.includes(queryToken) || line.includes('XXXXpathtoken')), 'no log line holds the credential')
})
