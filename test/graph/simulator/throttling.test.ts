import t from 'tap'
import { createStaticCredential } from '../../../src/graph/graph-credential.js'
import { isAmbiguousFailure, GraphRequestError } from '../../../src/graph/graph-gateway.js'
import { createMsGraphGateway } from '../../../src/graph/ms-graph-gateway.js'
import { Throttle } from '../../../src/graph/simulator/throttling.js'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { directoryObjectRef, inviteGuest, startSimulator, type GraphErrorJson } from './simulator-client.js'

const TENANT = SEED.tenantId

t.test('the write limit per app and tenant: scaled counts, the window slides, Retry-After says when', async (t) => {
  const throttle = new Throttle({ scale: 0.001 }, TENANT) // 3 writes per 150 s
  t.equal(throttle.admitWrite('app-a', 0), undefined)
  t.equal(throttle.admitWrite('app-a', 1_000), undefined)
  t.equal(throttle.admitWrite('app-a', 2_500), undefined)
  t.same(throttle.admitWrite('app-a', 3_000), { retryAfterSeconds: 147, scope: `Tenant_Application/Write/app-a/${TENANT}`, information: 'WriteLimitExceeded' })
  t.same(throttle.admitWrite('app-a', 149_999.5), { retryAfterSeconds: 0.001, scope: `Tenant_Application/Write/app-a/${TENANT}`, information: 'WriteLimitExceeded' }, 'refused writes do not count; a fraction of a second')
  t.equal(throttle.admitWrite('app-a', 150_000.5), undefined, 'the first write left the window')
  t.match(throttle.admitWrite('app-a', 150_001), { retryAfterSeconds: 0.999 }, 'now the second one (at 1,000 ms) must leave the window')
  t.equal(throttle.admitWrite('app-b', 150_001), undefined, 'another app has its own window')
})

t.test('the tenant limit holds across apps; periods scale too', async (t) => {
  const throttle = new Throttle({ scale: 0.01 }, TENANT) // 30 per app+tenant / 150 s, 350 per app / 300 s, 180 per tenant / 300 s
  let refused
  for (let i = 0; i < 181 && !refused; i++) refused = throttle.admitWrite(`app-${Math.floor(i / 30)}`, i)
  t.match(refused, { scope: /^Tenant\/Write\//, retryAfterSeconds: 299.82 }, 'the 181st write of six apps: the first leaves at 300 s')
  const scaledWindows = new Throttle({ scale: 0.001, windowScale: 0.01 }, TENANT) // 3 per 1.5 s
  for (const now of [0, 1, 2]) scaledWindows.admitWrite('a', now)
  t.match(scaledWindows.admitWrite('a', 3), { retryAfterSeconds: 1.497 })
  t.throws(() => new Throttle({ scale: 0 }, TENANT), RangeError)
  t.throws(() => new Throttle({ scale: 0.5, windowScale: 2 }, TENANT), RangeError)
})

t.test('signInActivity reads have their own limit: 10 per minute, scaled', async (t) => {
  const throttle = new Throttle({ scale: 0.2 }, TENANT) // 2 per minute
  t.equal(throttle.admitSignInActivityRead('a', 0), undefined)
  t.equal(throttle.admitSignInActivityRead('a', 10), undefined)
  t.same(throttle.admitSignInActivityRead('a', 20), { retryAfterSeconds: 59.98, scope: `Tenant_Application/Read/a/${TENANT}`, information: 'ResourceUnitLimitExceeded' })
  t.equal(throttle.admitWrite('a', 20), undefined, 'writes are counted apart')
})

t.test('over HTTP: off by default, on through the control API, Graph\'s 429 with its headers; reads are not writes', async (t) => {
  const graph = await startSimulator(t)
  for (let i = 0; i < 5; i++) await inviteGuest(graph, `free${i}@partner.example`)
  t.equal((await graph.request('POST', '/_simulator/throttling', { anonymous: true, body: { scale: 0.001 } })).status, 204)
  const guest = await inviteGuest(graph, 'one@partner.example')
  t.equal((await graph.request('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { body: directoryObjectRef(guest) })).status, 204)
  t.equal((await graph.request('DELETE', `/v1.0/groups/${SEED.groups.developers}/members/${guest}/$ref`)).status, 204)
  for (let i = 0; i < 3; i++) t.equal((await graph.request('GET', '/v1.0/users')).status, 200, 'reads pass')
  const throttled = await graph.request<GraphErrorJson>('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'four@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com' } })
  t.equal(throttled.status, 429)
  t.match(throttled.body.error, { code: 'TooManyRequests', message: 'Please retry again later.' })
  t.match(throttled.headers.get('retry-after'), /^\d+(\.\d+)?$/)
  t.ok(Number(throttled.headers.get('retry-after')) > 140 && Number(throttled.headers.get('retry-after')) <= 150)
  t.match(throttled.headers.get('x-ms-throttle-scope'), new RegExp(`^Tenant_Application/Write/unknown/${TENANT}$`))
  t.equal(throttled.headers.get('x-ms-throttle-information'), 'WriteLimitExceeded')
  t.equal(graph.sim.state.invitations.length, 6, 'the throttled invitation was not processed')

  for (const body of [{ scale: 0 }, { scale: 2 }, { scale: 0.1, windowScale: 0 }, { scale: 0.1, colour: 'red' }]) {
    t.equal((await graph.request('POST', '/_simulator/throttling', { anonymous: true, body })).status, 400, JSON.stringify(body))
  }
  t.equal((await graph.request('DELETE', '/_simulator/throttling', { anonymous: true })).status, 204)
  t.equal((await graph.request('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: 'four@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com' } })).status, 201)
})

t.test('through the gateway: a throttled write is not ambiguous and is not waited out beyond maxDelayMs', async (t) => {
  const graph = await startSimulator(t)
  graph.sim.setThrottling({ scale: 0.001 })
  const gateway = createMsGraphGateway({ baseUrl: `${graph.origin}/v1.0`, credential: createStaticCredential('t'), retry: { maxDelayMs: 1_000, baseDelayMs: 1 } })
  const ctx = { correlationId: 'c0a1b2c3-0000-4000-8000-00000000abcd' }
  const invite = (email: string) => gateway.invite({ invitedUserEmailAddress: email, inviteRedirectUrl: 'https://myapps.microsoft.com', sendInvitationMessage: false }, ctx)
  for (const name of ['a', 'b', 'c']) await invite(`${name}@partner.example`)
  const error = await invite('d@partner.example').then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof GraphRequestError)
  t.match(error, { status: 429, code: 'TooManyRequests' })
  t.ok((error as GraphRequestError).retryAfterSeconds! > 140, 'Retry-After carried to the caller')
  t.equal(isAmbiguousFailure(error), false, 'Graph did not process it')
  t.same(graph.sim.callsTo('POST', /\/invitations$/).map((c) => c.status), [201, 201, 201, 429], 'sent once: the wait is longer than maxDelayMs')
})
