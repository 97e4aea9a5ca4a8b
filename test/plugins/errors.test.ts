// Unit test of the error handler alone: whatever a handler throws, the caller gets a problem
// document, and an internal error shows none of its internals.
import Fastify from 'fastify'
import t from 'tap'
import errors from '../../src/plugins/errors.js'
import { build } from '../helper.js'

t.test('an unexpected error is a 500 problem with no internals; it is logged, not shown', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => lines.push(line) } } })
  t.teardown(() => app.close())
  await app.register(errors)
  app.get('/boom', async () => {
    throw new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2 at /srv/guestgate/src/db.ts:42')
  })
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 500)
  t.match(res.headers['content-type'], /application\/problem\+json/)
  t.match(res.json(), { status: 500, code: 'internal_error', type: 'urn:guestgate:problem:internal_error', requestId: String, instance: '/boom' })
  t.notMatch(res.body, /hunter2|ECONNREFUSED|\/srv\/|db\.ts|stack/i)
  t.ok(lines.some((l) => l.includes('ECONNREFUSED')), 'the cause reaches the log for operators')
})

t.test('unknown routes and bad JSON are problems too', async (t) => {
  const app = Fastify({ logger: false })
  t.teardown(() => app.close())
  await app.register(errors)
  app.post('/echo', async (req) => req.body)
  const missing = await app.inject({ method: 'GET', url: '/nope?x=1' })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { code: 'route_not_found', instance: '/nope' })
  const bad = await app.inject({ method: 'POST', url: '/echo', payload: '{"a":', headers: { 'content-type': 'application/json' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'malformed_body', errors: [{ field: 'body' }] })
})

// Found by the operation fuzz: the router's own refusals (a malformed percent-encoding, a path
// parameter over maxParamLength) left as Fastify's plain JSON, not as problem documents.
t.test('the router\'s refusals are problems too, naming the path', async (t) => {
  const { as, token } = await build(t)
  const caller = await token([])
  const cases = [
    { url: '/v1/guests/%E0%A4%A', status: 400, code: 'validation_failed' },
    { url: `/v1/guests/${'a'.repeat(150)}`, status: 414, code: 'uri_too_long' },
  ]
  for (const c of cases) {
    const res = await as(caller, { method: 'GET', url: c.url })
    t.equal(res.statusCode, c.status, c.url.slice(0, 40))
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.match(res.json(), { status: c.status, code: c.code, requestId: String, errors: [{ field: 'params' }] })
  }
})
