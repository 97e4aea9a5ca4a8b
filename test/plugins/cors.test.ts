// CORS (issue 12.1): only the configured origins, preflights answered before authentication,
// the headers portals need exposed; and every answer carries x-request-id.
import t from 'tap'
import { build } from '../helper.js'

const PORTAL = 'https://portal.example.com'

function preflight(origin: string, method = 'POST', headers = 'authorization,content-type,idempotency-key') {
  return { method: 'OPTIONS' as const, url: '/v1/invitations', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } }
}

t.test('a preflight from an allowed origin is answered, without a token', async (t) => {
  const { app } = await build(t, { GUESTGATE_CORS_ORIGINS: `${PORTAL}, https://other.example.com` })
  const response = await app.inject(preflight(PORTAL))
  t.equal(response.statusCode, 204)
  t.equal(response.headers['access-control-allow-origin'], PORTAL)
  t.match(String(response.headers['access-control-allow-methods']), /POST/)
  const allowed = String(response.headers['access-control-allow-headers']).toLowerCase()
  for (const header of ['authorization', 'content-type', 'idempotency-key']) t.ok(allowed.includes(header), `${header} may be sent`)
  t.notOk(response.headers['access-control-allow-credentials'], 'no cookies')
})

t.test('a preflight from a refused origin gets no CORS permission', async (t) => {
  const { app } = await build(t, { GUESTGATE_CORS_ORIGINS: PORTAL })
  const response = await app.inject(preflight('https://evil.example'))
  t.equal(response.headers['access-control-allow-origin'], undefined)
  const lookalike = await app.inject(preflight('https://portal.example.com.evil.example'))
  t.equal(lookalike.headers['access-control-allow-origin'], undefined, 'no prefix matching')
})

t.test('actual requests from an allowed origin expose the headers portals read', async (t) => {
  const gg = await build(t, { GUESTGATE_CORS_ORIGINS: PORTAL })
  const reader = await gg.token(['Guests.Invite'])
  const response = await gg.as(reader, { method: 'GET', url: '/v1/me/permissions', headers: { origin: PORTAL } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['access-control-allow-origin'], PORTAL)
  const exposed = String(response.headers['access-control-expose-headers']).toLowerCase().split(/\s*,\s*/)
  for (const header of ['location', 'retry-after', 'ratelimit-remaining', 'x-request-id', 'idempotent-replayed']) t.ok(exposed.includes(header), `${header} exposed`)
})

t.test('no GUESTGATE_CORS_ORIGINS: no CORS header at all', async (t) => {
  const { app } = await build(t)
  const response = await app.inject(preflight(PORTAL))
  t.equal(response.headers['access-control-allow-origin'], undefined)
  t.equal(response.headers['access-control-allow-methods'], undefined)
})

t.test('x-request-id: returned on every answer, always our own; the caller\'s id comes back in x-client-request-id', async (t) => {
  const { app } = await build(t)
  const given = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'portal-abc-123' } })
  t.match(given.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  t.equal(given.headers['x-client-request-id'], 'portal-abc-123')
  const fresh = await app.inject({ method: 'GET', url: '/v1/guests' })
  t.match(fresh.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a new id on errors too')
  t.equal(fresh.json<{ requestId: string }>().requestId, fresh.headers['x-request-id'], 'the same id as in the problem body')
  const unusable = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id with spaces' } })
  t.equal(unusable.statusCode, 400, 'an unusable id is refused, naming the header')
  t.not(unusable.headers['x-request-id'], 'bad id with spaces')
})
