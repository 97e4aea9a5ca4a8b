// OpenTelemetry (issue 11.4): with OTEL_EXPORTER_OTLP_ENDPOINT set, the real server sends its
// spans over OTLP/HTTP; a local HTTP server stands in for the collector. Route spans carry
// http.route, database queries are spans of the request's trace.
import { once } from 'node:events'
import { createServer } from 'node:http'
import t from 'tap'
import pg from 'pg'
import { createTestDatabase } from './helpers/database.js'
import { startServer } from './helpers/server-process.js'
import { startSimulatorProcess } from './helpers/simulator-process.js'

// Real server processes on a busy machine: a safety net, not a speed requirement.
t.setTimeout(15 * 60_000)

interface OtlpValue { stringValue?: string; intValue?: string | number; boolValue?: boolean }
interface OtlpSpan { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: { key: string; value: OtlpValue }[] }
interface OtlpRequest { resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[] }

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value?.stringValue ?? value?.intValue ?? value?.boolValue
}

t.test('spans reach the OTLP/HTTP collector: routes with http.route, queries inside the request trace, Graph writes with their operationId', async (t) => {
  const received: { contentType: string; body: OtlpRequest }[] = []
  const collector = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => { body += chunk })
    request.on('end', () => {
      if (request.url === '/v1/traces') received.push({ contentType: String(request.headers['content-type']), body: JSON.parse(body) as OtlpRequest })
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  collector.listen(0, '127.0.0.1')
  await once(collector, 'listening')
  t.teardown(() => new Promise((resolve) => collector.close(resolve)))
  const endpoint = `http://127.0.0.1:${(collector.address() as { port: number }).port}`

  const database = await createTestDatabase(t)
  const graph = await startSimulatorProcess(t)
  const server = startServer(t, {
    PORT: '0', DATABASE_URL: database.connectionString, GRAPH_BASE_URL: graph.baseUrl,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'guestgate-test',
  })
  const base = await server.listening()
  const mint = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Apps.AssignRoles'] }) })
  const headers = { authorization: `Bearer ${((await mint.json()) as { accessToken: string }).accessToken}`, 'content-type': 'application/json' }
  t.equal((await fetch(`${base}/v1/me/permissions`, { headers })).status, 200)
  const check = await fetch(`${base}/v1/authorization/check`, { method: 'POST', headers, body: JSON.stringify({ action: 'read', subject: 'AuditLog', target: {} }) })
  t.equal(check.status, 200, 'a request that writes an audit row')
  t.equal((await fetch(`${base}/healthz`)).status, 200)
  const mintInviter = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Invite'] }) })
  const inviter = { authorization: `Bearer ${((await mintInviter.json()) as { accessToken: string }).accessToken}`, 'content-type': 'application/json' }
  const invited = await fetch(`${base}/v1/invitations`, { method: 'POST', headers: inviter, body: JSON.stringify({ email: 'traced@partner.example', redirectUrl: 'https://myapps.microsoft.com/' }) })
  t.equal(invited.status, 201, 'a request that writes to Graph')

  // Stopping flushes what is still buffered.
  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0)

  t.ok(received.length > 0, 'the collector received exports')
  t.ok(received.every((r) => r.contentType.startsWith('application/json')), 'OTLP/HTTP JSON')
  const resources = received.flatMap((r) => r.body.resourceSpans.map((rs) => rs.resource))
  t.ok(resources.every((resource) => resource.attributes.some((a) => a.key === 'service.name' && a.value.stringValue === 'guestgate-test')), 'service.name')
  const spans = received.flatMap((r) => r.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)))

  const routeSpan = (route: string) => spans.find((s) => attribute(s, 'http.route') === route)
  const permissions = routeSpan('/v1/me/permissions')
  t.ok(permissions, 'a span with http.route /v1/me/permissions')
  const checkSpan = routeSpan('/v1/authorization/check')
  t.ok(checkSpan, 'a span with http.route /v1/authorization/check')
  const serverSpans = spans.filter((s) => s.kind === 2)
  t.ok(serverSpans.length >= 3, 'server spans from the http instrumentation')
  const queries = spans.filter((s) => attribute(s, 'db.system') === 'postgresql' || attribute(s, 'db.system.name') === 'postgresql')
  t.ok(queries.some((q) => q.traceId === checkSpan?.traceId), 'the audit insert is a span of the request\'s trace')
  t.notOk(spans.some((s) => String(attribute(s, 'url.path') ?? attribute(s, 'http.target') ?? '').startsWith('/healthz')), 'probes are not traced')
  t.notOk(JSON.stringify(received).includes(headers.authorization.slice(7)), 'no token in any span')

  // The Graph write's span names the audit rows it wrote: operationId and correlationId.
  const db = new pg.Client({ connectionString: database.connectionString })
  await db.connect()
  const { rows } = await db.query<{ operation_id: string; correlation_id: string }>("SELECT operation_id, correlation_id FROM audit_events WHERE action = 'invitation.invite' AND status = 'intent'")
  await db.end()
  t.equal(rows.length, 1, 'one invitation intent')
  const invitationSpan = routeSpan('/v1/invitations')
  const written = spans.filter((s) => attribute(s, 'guestgate.operation_id') === rows[0]?.operation_id)
  t.equal(written.length, 1, 'a span carries the intent\'s operationId')
  t.equal(written[0] && attribute(written[0], 'guestgate.correlation_id'), rows[0]?.correlation_id, 'and its correlationId')
  t.equal(written[0]?.traceId, invitationSpan?.traceId, 'in the invitation request\'s trace')
})
