// Webhooks end to end: a real receiver on a port checks every Standard Webhooks signature,
// answers 500 to the first delivery and 200 to its retry (backoff shortened by config); access
// granted comes from the events bus, invitation accepted from the poller after the simulator's
// redeem control call. The secret never appears in responses, audit rows or log lines.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'

interface Received { id: string; type: string; data: Record<string, unknown>; answered: number }

// The receiver: verifies each request as a subscriber would, then answers.
const secret = `whsec_${randomBytes(32).toString('base64')}`
const received: Received[] = []
const waiters: { test: () => boolean; resolve: () => void }[] = []
const waitFor = (test: () => boolean) => new Promise<void>((resolve) => {
  if (test()) resolve()
  else waiters.push({ test, resolve })
})
let badSignatures = 0
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = []
  request.on('data', (c: Buffer) => chunks.push(c))
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    let message: { type: string; data: Record<string, unknown> }
    try {
      message = new Webhook(secret).verify(body, headersOf(request.headers)) as typeof message
    } catch {
      badSignatures++
      response.writeHead(401).end()
      return
    }
    const answered = received.length === 0 ? 500 : 200
    received.push({ id: String(request.headers['webhook-id']), type: message.type, data: message.data, answered })
    response.writeHead(answered).end()
    for (const waiter of waiters.splice(0)) {
      if (waiter.test()) waiter.resolve()
      else waiters.push(waiter)
    }
  })
})
const headersOf = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]))
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>((resolve) => { receiver.close(() => resolve()) }))
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`

const logLines: string[] = []
const { app, as, token, config, databaseUrl } = await build(t, {
  GUESTGATE_WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
  GUESTGATE_WEBHOOK_RETRY_DELAY_SECONDS: '1',
  GUESTGATE_WEBHOOK_RETRY_LIMIT: '3',
  GUESTGATE_WEBHOOK_TIMEOUT_MS: '5000',
  LOG_LEVEL: 'debug',
}, { log: { write: (line) => { logLines.push(line) } } })
const simulatorUrl = config.graphBaseUrl!.replace(/\/v1\.0$/, '')
const manager = await token(['Guests.Manage'])

let subscriptionId = ''

t.test('a subscription: URL rules, and the secret is write-only', async (t) => {
  for (const url of ['http://example.com/hook', 'https://10.0.0.7/hook', 'https://169.254.169.254/latest', 'https://user:pw@example.com/']) {
    const res = await as(manager, { method: 'POST', url: '/v1/webhooks', payload: { url, events: ['guest.access.granted'], secret } })
    t.equal(res.statusCode, 422, url)
    t.equal(res.json<{ code: string }>().code, 'webhook_url_not_allowed')
  }
  const bad = await as(manager, { method: 'POST', url: '/v1/webhooks', payload: { url: receiverUrl, events: ['guest.access.granted'], secret: 'whsec_c2hvcnQ=' } })
  t.equal(bad.statusCode, 400, 'a secret too short to be a Standard Webhooks key')
  t.equal((await as(await token(['Audit.Read']), { method: 'GET', url: '/v1/webhooks' })).statusCode, 403)

  const res = await as(manager, {
    method: 'POST', url: '/v1/webhooks',
    payload: { url: receiverUrl, events: ['guest.access.granted', 'guest.invitation.accepted', 'expiry.reminder'], secret, description: 'test receiver' },
  })
  t.equal(res.statusCode, 201, res.body)
  subscriptionId = res.json<{ id: string }>().id
  t.notMatch(res.body, /whsec_|secret/i)
  const list = await as(manager, { method: 'GET', url: '/v1/webhooks' })
  t.equal(list.json<{ items: unknown[] }>().items.length, 1)
  t.notMatch(list.body, /whsec_/)
})

t.test('access granted: signed delivery, a 500, then the retry gets through; the delivery log shows both', async (t) => {
  const groups = await token(['Groups.ManageMembers'])
  const add = await as(groups, { method: 'PUT', url: `/v1/groups/${SEED.groups.developers}/members/${SEED.users.existingGuest.id}` })
  t.ok(add.statusCode < 300, add.body)
  await waitFor(() => received.some((r) => r.type === 'guest.access.granted' && r.answered === 200))
  const attempts = received.filter((r) => r.type === 'guest.access.granted')
  t.same(attempts.map((r) => r.answered), [500, 200], 'the first attempt failed, the retry succeeded')
  t.equal(attempts[0]!.id, attempts[1]!.id, 'a retry is the same message (same webhook-id)')
  t.equal(attempts[1]!.data.groupId, SEED.groups.developers)
  t.equal(attempts[1]!.data.guestId, SEED.users.existingGuest.id)
  t.equal(badSignatures, 0, 'every signature verified')

  // The worker records the attempt after the receiver answered.
  let delivery: { id: string; status: string; attempts: number; attemptLog: { statusCode: number | null }[] } | undefined
  while (delivery?.status !== 'succeeded') {
    const log = await as(manager, { method: 'GET', url: `/v1/webhooks/${subscriptionId}/deliveries` })
    delivery = log.json<{ items: NonNullable<typeof delivery>[] }>().items.find((d) => d.id === attempts[0]!.id)
    if (delivery?.status !== 'succeeded') await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(delivery.attempts, 2)
  t.same(delivery.attemptLog.map((a) => a.statusCode), [500, 200])
})

t.test('invitation accepted: the poller sees the pending guest, the simulator redeems it, the next pass delivers', async (t) => {
  const invited = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'redeemer@partner.example', sendEmail: false } })
  t.equal(invited.statusCode, 201, invited.body)
  const guestId = invited.json<{ id: string }>().id
  t.same((await app.webhooks.pollInvitations()).accepted, [], 'still pending')
  const redeemed = await fetch(`${simulatorUrl}/_simulator/users/${guestId}/redeem`, { method: 'POST' })
  t.equal(redeemed.status, 200)
  t.same((await app.webhooks.pollInvitations()).accepted, [guestId])
  await waitFor(() => received.some((r) => r.type === 'guest.invitation.accepted'))
  const message = received.find((r) => r.type === 'guest.invitation.accepted')!
  t.equal(message.data.guestId, guestId)
  t.equal(message.data.email, 'redeemer@partner.example')
  t.same((await app.webhooks.pollInvitations()).accepted, [], 'reported once')
})

t.test('the secret is in no audit row and no log line; deleting stops deliveries', async (t) => {
  const rows = await auditRows(databaseUrl)
  const created = rows.find((r) => r.action === 'webhook.create')
  t.equal(created?.target_id, subscriptionId)
  const key = secret.slice('whsec_'.length)
  t.notOk(JSON.stringify(rows).includes(key), 'no audit row holds the secret')
  t.ok(logLines.length > 10, 'the app did log')
  t.notOk(logLines.some((line) => line.includes(key)), 'no log line holds the secret')

  const res = await as(manager, { method: 'DELETE', url: `/v1/webhooks/${subscriptionId}` })
  t.equal(res.statusCode, 204)
  t.equal((await as(manager, { method: 'GET', url: `/v1/webhooks/${subscriptionId}` })).statusCode, 404)
  t.ok((await auditRows(databaseUrl)).some((r) => r.action === 'webhook.delete'))
})

t.test('deliveries queued by this replica start at once: with the queue polled once an hour, three in a row all arrive', async (t) => {
  // Without the wake on dispatch and after each delivery, the worker would wait out its poll
  // (an hour here) and this test would run into the file's timeout.
  const quiet = await build(t, {
    GUESTGATE_WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true',
    GUESTGATE_QUEUE_POLL_SECONDS: '3600',
  })
  const caller = await quiet.token(['Guests.Manage', 'Groups.ManageMembers'])
  const subscribed = await quiet.as(caller, {
    method: 'POST', url: '/v1/webhooks',
    payload: { url: receiverUrl, events: ['guest.access.granted', 'guest.access.removed'], secret },
  })
  t.equal(subscribed.statusCode, 201, subscribed.body)
  // The seeded guest is in marketing, not in developers.
  const guest = SEED.users.existingGuest.id
  const before = received.length
  for (const request of [
    { method: 'PUT', url: `/v1/groups/${SEED.groups.developers}/members/${guest}` },
    { method: 'DELETE', url: `/v1/groups/${SEED.groups.marketing}/members/${guest}` },
    { method: 'DELETE', url: `/v1/groups/${SEED.groups.developers}/members/${guest}` },
  ]) {
    const res = await quiet.as(caller, request)
    t.ok(res.statusCode < 300, `${request.method} ${request.url}: ${res.body}`)
  }
  await waitFor(() => received.length - before >= 3)
  t.same(received.slice(before).map((r) => [r.type, r.data.groupId]), [
    ['guest.access.granted', SEED.groups.developers],
    ['guest.access.removed', SEED.groups.marketing],
    ['guest.access.removed', SEED.groups.developers],
  ], 'each event delivered, in order')
})
