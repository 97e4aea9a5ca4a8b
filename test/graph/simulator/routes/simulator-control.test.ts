import t from 'tap'
import type { RecordedCall } from '../../../../src/graph/simulator/graph-simulator.js'
import { SEED } from '../../../../src/graph/simulator/seed.js'
import { inviteGuest, startSimulator } from '../simulator-client.js'

t.test('faults can be injected and cleared over HTTP', async (t) => {
  const graph = await startSimulator(t)
  const injected = await graph.request('POST', '/_simulator/faults', {
    anonymous: true,
    body: { method: 'GET', pathPattern: '^/v1\\.0/groups$', status: 429, retryAfter: '1.5', times: 'Infinity' },
  })
  t.equal(injected.status, 204)
  for (let i = 0; i < 2; i++) {
    const answer = await graph.request('GET', '/v1.0/groups')
    t.equal(answer.status, 429)
    t.equal(answer.headers.get('retry-after'), '1.5')
  }
  t.equal((await graph.request('GET', `/v1.0/groups/${SEED.groups.developers}`)).status, 200, 'the pattern is anchored')

  t.equal((await graph.request('DELETE', '/_simulator/faults', { anonymous: true })).status, 204)
  t.equal((await graph.request('GET', '/v1.0/groups')).status, 200)

  const substring = await graph.request('POST', '/_simulator/faults', { anonymous: true, body: { path: '/users', status: 503 } })
  t.equal(substring.status, 204)
  t.equal((await graph.request('GET', '/v1.0/users')).status, 503)
  t.equal((await graph.request('GET', '/v1.0/users')).status, 200, 'once by default')
})

t.test('fault bodies are validated', async (t) => {
  const graph = await startSimulator(t)
  const bodies = [
    { status: 500 }, { path: '/users', status: 42 }, { pathPattern: '(', status: 500 }, { path: '/users', colour: 'red' },
    { path: '/users', afterApply: { status: 503 } }, { path: '/users', afterApply: { hang: false } },
    { path: '/users', status: 500, afterApply: { status: 502 } },
  ]
  for (const body of bodies) {
    const answer = await graph.request('POST', '/_simulator/faults', { anonymous: true, body })
    t.equal(answer.status, 400, JSON.stringify(body))
  }
})

t.test('calls, replication lag and reset over HTTP', async (t) => {
  const graph = await startSimulator(t)
  t.equal((await graph.request('POST', '/_simulator/replication-lag', { anonymous: true, body: { requests: 1 } })).status, 204)
  const guest = await inviteGuest(graph, 'http@partner.example')
  t.equal((await graph.request('GET', `/v1.0/users/${guest}`)).status, 404)
  t.equal((await graph.request('GET', `/v1.0/users/${guest}`)).status, 200)

  const calls = await graph.request<RecordedCall[]>('GET', '/_simulator/calls', { anonymous: true })
  t.same(calls.body.map((call) => [call.method, call.status]), [['POST', 201], ['GET', 404], ['GET', 200]])

  t.equal((await graph.request('POST', '/_simulator/reset', { anonymous: true })).status, 204)
  t.same((await graph.request('GET', '/_simulator/calls', { anonymous: true })).body, [])
  t.equal((await graph.request('GET', `/v1.0/users/${guest}`)).status, 404, 'the invited guest is gone')
})
