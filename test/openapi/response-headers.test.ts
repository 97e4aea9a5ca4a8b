// Response headers and the contract: every header an operation sends that a client may act on
// (Location, Content-Disposition, RateLimit-*, Retry-After, Idempotent-Replayed, the request ids)
// is documented on that operation and status in the OpenAPI document, and a browser portal may
// read every documented one (CORS exposes them). Generated clients type headers from the
// document, and a browser script sees only exposed headers.
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { EXPOSED_HEADERS } from '../../src/plugins/cors.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import { HELMET_OPTIONS, helmetHeaders } from '../../src/plugins/helmet.js'
import { GRAPH_WRITE_PERMISSIONS } from '../../src/plugins/openapi-contract.js'
import { build } from '../helper.js'

const PORTAL = 'https://portal.example.com'

interface Spec { paths: Record<string, Record<string, { responses: Record<string, { description?: string; headers?: Record<string, unknown> }> }>> }

/** Headers every answer carries whatever the operation (HTTP's own, CORS, the security headers). */
const GENERIC = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding', 'vary',
  'cache-control', ...Object.keys(helmetHeaders(HELMET_OPTIONS))])
// A browser script reads these without their being exposed (the Fetch standard's CORS-safelisted
// response-header names).
const SAFELISTED = new Set(['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma'])

function documentedHeaders(spec: Spec): Set<string> {
  const names = new Set<string>()
  for (const operations of Object.values(spec.paths)) {
    for (const operation of Object.values(operations)) {
      for (const response of Object.values(operation.responses ?? {})) for (const name of Object.keys(response.headers ?? {})) names.add(name.toLowerCase())
    }
  }
  return names
}

t.test('a browser portal may read every response header the contract documents, and only those', async (t) => {
  const { app } = await build(t, { GUESTGATE_CORS_ORIGINS: PORTAL })
  const documented = [...documentedHeaders(app.swagger() as unknown as Spec)].filter((name) => !SAFELISTED.has(name)).sort()
  const exposed = EXPOSED_HEADERS.map((name) => name.toLowerCase()).sort()
  t.same(exposed, documented, 'EXPOSED_HEADERS lists exactly the documented response headers')
})

t.test('each header an operation sends is documented on its operation and status', async (t) => {
  const gg = await build(t, { GUESTGATE_CORS_ORIGINS: PORTAL })
  const spec = gg.app.swagger() as unknown as Spec
  const everyRole = await gg.token(['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read'])
  const send = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    gg.as(everyRole, { method, url, ...(payload === undefined ? {} : { payload }), headers: { origin: PORTAL, ...headers } })

  async function check(template: string, method: string, response: LightMyRequestResponse, expected: string[]) {
    const status = String(response.statusCode)
    const operation = spec.paths[template]?.[method.toLowerCase()]
    t.ok(operation, `${method} ${template} is in the document`)
    const documented = new Set(Object.keys(operation?.responses[status]?.headers ?? {}).map((name) => name.toLowerCase()))
    const sent = Object.keys(response.headers).filter((name) => !GENERIC.has(name) && !name.startsWith('access-control-'))
    for (const name of expected) t.ok(sent.includes(name), `${method} ${template} ${status} sends ${name}`)
    for (const name of sent) t.ok(documented.has(name), `${method} ${template} ${status}: ${name} is documented`)
    const exposed = String(response.headers['access-control-expose-headers']).toLowerCase().split(/\s*,\s*/)
    for (const name of sent) t.ok(exposed.includes(name), `${method} ${template} ${status}: ${name} is exposed to the portal`)
  }

  const invitation = await send('POST', '/v1/invitations', { email: 'jane@partner.example', sendEmail: false }, { 'idempotency-key': 'response-headers-1', 'x-request-id': 'portal-1' })
  t.equal(invitation.statusCode, 201, invitation.body.slice(0, 300))
  await check('/v1/invitations', 'POST', invitation, ['location', 'x-request-id', 'x-client-request-id', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'])
  const replay = await send('POST', '/v1/invitations', { email: 'jane@partner.example', sendEmail: false }, { 'idempotency-key': 'response-headers-1' })
  t.equal(replay.statusCode, 201)
  await check('/v1/invitations', 'POST', replay, ['location', 'idempotent-replayed'])

  const csv = 'version:v1.0\nEmail address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required\nbulk1@partner.example,https://myapps.microsoft.com/\n'
  const job = await send('POST', '/v1/bulk/invitations', csv, { 'content-type': 'text/csv' })
  t.equal(job.statusCode, 202, job.body.slice(0, 300))
  await check('/v1/bulk/invitations', 'POST', job, ['location'])
  const results = await send('GET', `/v1/bulk/jobs/${job.json<{ id: string }>().id}/results`)
  t.equal(results.statusCode, 200, results.body.slice(0, 300))
  await check('/v1/bulk/jobs/{id}/results', 'GET', results, ['content-disposition'])

  const webhook = await send('POST', '/v1/webhooks', { url: 'https://hooks.partner.example/guestgate', events: ['guest.access.granted'], secret: `whsec_${'A'.repeat(32)}` })
  t.equal(webhook.statusCode, 201, webhook.body.slice(0, 300))
  await check('/v1/webhooks', 'POST', webhook, ['location'])

  const report = await send('GET', '/v1/reports/pending-invitations?olderThanDays=0&format=csv')
  t.equal(report.statusCode, 200, report.body.slice(0, 300))
  await check('/v1/reports/pending-invitations', 'GET', report, ['content-disposition'])

  const exported = await send('GET', '/v1/audit/export?format=csv')
  t.equal(exported.statusCode, 200)
  await check('/v1/audit/export', 'GET', exported, ['content-disposition'])
})

t.test('a refusal over the limit documents its Retry-After', async (t) => {
  const gg = await build(t, { GUESTGATE_CORS_ORIGINS: PORTAL, GUESTGATE_RATE_LIMIT_MAX: '1' })
  const spec = gg.app.swagger() as unknown as Spec
  const reader = await gg.token(['Guests.Invite'])
  await gg.as(reader, { method: 'GET', url: '/v1/me/permissions' })
  const refused = await gg.as(reader, { method: 'GET', url: '/v1/me/permissions', headers: { origin: PORTAL } })
  t.equal(refused.statusCode, 429)
  const documented = Object.keys(spec.paths['/v1/me/permissions']!.get!.responses['429']!.headers ?? {}).map((name) => name.toLowerCase())
  for (const name of ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']) {
    t.ok(refused.headers[name] !== undefined, `sends ${name}`)
    t.ok(documented.includes(name), `${name} is documented on the 429`)
  }
  const exposed = String(refused.headers['access-control-expose-headers']).toLowerCase()
  t.match(exposed, /retry-after/)
  t.match(exposed, /ratelimit-remaining/)
})

t.test('answers from shared machinery are documented on every route that can give them', async (t) => {
  // Before: a PUT of a group member could answer 422 (a reused Idempotency-Key) and 504 (a Graph
  // write past its deadline), and the document listed neither on that operation.
  const gg = await build(t, { GRAPH_TIMEOUT_MS: '5000' })
  const spec = gg.app.swagger() as unknown as Spec
  const manager = await gg.token(['Groups.ManageMembers', 'Guests.Invite'])
  const template = '/v1/groups/{groupId}/members/{userId}'
  const documented = (status: number) => spec.paths[template]!.put!.responses[String(status)]
  const guest = await gg.as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'shared@partner.example', sendEmail: false } })
  t.equal(guest.statusCode, 201)
  const url = `/v1/groups/${SEED.groups.developers}/members/${guest.json<{ id: string }>().id}`

  gg.simulator.faults.inject({ method: 'POST', path: '/members/$ref', afterApply: { hang: true } })
  const settled = new Promise((resolve) => gg.app.graphOps.events.once('settled', resolve))
  const timedOut = await gg.as(manager, { method: 'PUT', url, headers: { 'idempotency-key': 'shared-1' } })
  t.equal(timedOut.statusCode, 504, timedOut.body.slice(0, 300))
  t.equal(timedOut.json<{ code: string }>().code, 'graph_timeout')
  t.ok(documented(504), '504 is documented')
  t.match(documented(504)?.description, /graph_timeout/)
  await settled

  const marketing = `/v1/groups/${SEED.groups.marketing}/members/${guest.json<{ id: string }>().id}`
  t.equal((await gg.as(manager, { method: 'PUT', url: marketing, headers: { 'idempotency-key': 'shared-2' } })).statusCode, 200)
  const reused = await gg.as(manager, { method: 'DELETE', url: marketing, headers: { 'idempotency-key': 'shared-2' } })
  t.equal(reused.statusCode, 422, reused.body.slice(0, 300))
  t.equal(reused.json<{ code: string }>().code, 'idempotency_key_reused')
  t.ok(documented(422), '422 is documented')
  t.match(documented(422)?.description, /idempotency_key_reused/)
  t.match(documented(409)?.description, /idempotency_key_in_use/, 'and the 409 of a key still running')

  // Every counted route documents the rate limiter's 429 (POST /v1/sandbox/tokens did not);
  // every route under the Idempotency-Key check documents its two answers; every route that
  // makes a Graph write while the caller waits documents the 504.
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const counted = Object.values(operation.responses).some((response) => response.headers?.['RateLimit-Limit'])
      if (counted) t.ok(operation.responses['429'], `${method.toUpperCase()} ${path}: 429 documented`)
    }
  }
  for (const [path, operations] of Object.entries(spec.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!['post', 'put', 'patch', 'delete'].includes(method) || path.startsWith('/v1/sandbox/')) continue
      const responses = operation.responses
      t.ok(responses['409'] && responses['422'], `${method.toUpperCase()} ${path}: 409 and 422 documented`)
      const graphWrites = ((operation as unknown as { 'x-graph-permissions'?: string[] })['x-graph-permissions'] ?? []).some((p) => GRAPH_WRITE_PERMISSIONS.has(p))
      if (graphWrites && !responses['202']) t.ok(responses['504'], `${method.toUpperCase()} ${path}: 504 documented`)
    }
  }
})
