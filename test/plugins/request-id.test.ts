// Request ids: the server's own id names the request everywhere (x-request-id, problem bodies,
// logs, audit rows); a caller's x-request-id is validated, kept apart and echoed in
// x-client-request-id.
import t from 'tap'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import type { Problem } from '../helpers/replies.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

// Issue 9, finding 10: the client's x-request-id became the audit row's requestId.
t.test('issue 9 #10: a caller\'s x-request-id never becomes the audit row\'s request id', async (t) => {
  const lines: string[] = []
  const { as, token, databaseUrl } = await build(t, { LOG_LEVEL: 'info' }, { log: { write: (line) => lines.push(line) } })
  const caller = await token([])
  const clientId = 'portal-7f3c:retry=2'
  const res = await as(caller, { method: 'GET', url: '/v1/guests', headers: { 'x-request-id': clientId } })
  t.equal(res.statusCode, 403)
  const serverId = res.headers['x-request-id'] as string
  t.match(serverId, UUID, 'x-request-id is the server\'s own id')
  t.equal(res.headers['x-client-request-id'], clientId, 'the caller\'s id is echoed apart')
  t.equal(res.json<Problem>().requestId, serverId, 'the problem body names the server\'s id')

  const rows = await auditRows(databaseUrl, 'operation_id = $1', [res.json<Problem>().operationId])
  t.equal(rows.length, 1)
  t.equal((rows[0] as unknown as { request_id: string }).request_id, serverId, 'the audit row carries the server\'s id')
  t.notOk(JSON.stringify(rows[0]).includes(clientId) && (rows[0] as unknown as { request_id: string }).request_id === clientId)

  const logged = lines.map((line) => JSON.parse(line) as { reqId?: string; clientRequestId?: string; msg: string }).filter((l) => l.reqId === serverId)
  const completed = logged.find((l) => l.msg === 'request completed')
  t.equal(completed?.clientRequestId, clientId, 'the completion log line carries both ids')

  const second = await as(caller, { method: 'GET', url: '/v1/guests', headers: { 'x-request-id': clientId } })
  t.not(second.headers['x-request-id'], serverId, 'a replayed client id gets a new server id')

  const without = await as(caller, { method: 'GET', url: '/v1/me/permissions' })
  t.match(without.headers['x-request-id'], UUID)
  t.equal(without.headers['x-client-request-id'], undefined, 'nothing echoed when nothing was sent')
})

t.test('a malformed x-request-id is a 400 naming the header', async (t) => {
  const { app, as, token } = await build(t)
  const caller = await token([])
  for (const [name, value] of [['a space', 'a b'], ['too long', 'x'.repeat(129)], ['non-ASCII', 'caf\u00e9'], ['empty', '']] as const) {
    const res = await as(caller, { method: 'GET', url: '/v1/me/permissions', headers: { 'x-request-id': value } })
    t.equal(res.statusCode, 400, `${name}: 400`)
    t.match(res.json(), { code: 'validation_failed', errors: [{ field: 'header/x-request-id' }] })
    t.match(res.headers['x-request-id'], UUID, `${name}: the refusal has the server's id`)
  }
  const health = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'probe-1' } })
  t.equal(health.statusCode, 200)
  t.equal(health.headers['x-client-request-id'], 'probe-1', 'public routes echo it too')
  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: { '/v1/guests': { get: { parameters: Array<{ name: string }> } } } }>()
  const parameter = spec.paths['/v1/guests'].get.parameters.find((p) => p.name === 'x-request-id')
  t.match(parameter, { in: 'header', required: false, description: /x-client-request-id/ }, 'documented on every operation')
})
