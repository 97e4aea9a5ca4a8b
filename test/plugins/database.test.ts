// The database goes away (refused, frozen, or one statement stuck behind a lock): every route
// answers 503 problem+json with Retry-After, Graph is never called, and the service comes back by
// itself when the database does.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify, { type RouteOptions } from 'fastify'
import pg from 'pg'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { poolOf } from '../../src/db/prisma-client.js'
import { EMBEDDED_CONNECT_WAIT_MS } from '../../src/plugins/database.js'
import { serverOptions } from '../../src/server-options.js'
import { API_ROLES } from '../../src/auth/principal.js'
import { build, type Teardown } from '../helper.js'
import type { Problem } from '../helpers/replies.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

// Timeouts long enough for any statement on a busy machine, short enough for the test to wait them out.
const DB_TIMEOUTS = { DATABASE_HEALTH_INTERVAL_MS: '100', DATABASE_CONNECT_TIMEOUT_MS: '5000', DATABASE_QUERY_TIMEOUT_MS: '5000' }
const SOME_ID = '0b7f2a8e-3c1d-4e5f-9a6b-7c8d9e0f1a2b'

const invitation = (email: string) => ({ method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })

async function setUp(t: Teardown) {
  const proxy = await startTcpProxy(t)
  const routes: Array<{ method: string; url: string }> = []
  const onRoute = (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue
      routes.push({ method, url: route.url.replace(/:[A-Za-z]+/g, SOME_ID).replace(/\*$/, 'index.html') })
    }
  }
  const built = await build(t, DB_TIMEOUTS, { onRoute, databaseUrl: (url) => proxy.url(url) })
  const token = await built.token([...API_ROLES])
  return { ...built, proxy, routes, token }
}

t.test('database refused: every route 503 with Retry-After, no Graph call, back without a restart', async (t) => {
  const { app, simulator, proxy, routes, token, as } = await setUp(t)
  t.equal((await as(token, invitation('before@partner.example'))).statusCode, 201, 'works before the outage')

  proxy.block()
  await app.databaseHealth.until(false)
  const graphCalls = simulator.calls.length
  const answers = await Promise.all(routes.map(async (route) => ({ route, response: await as(token, { ...route, payload: route.method === 'GET' ? undefined : {} }) })))
  for (const { route, response } of answers) {
    if (route.url === '/healthz') {
      t.equal(response.statusCode, 200, 'liveness does not depend on the database')
      continue
    }
    t.equal(response.statusCode, 503, `${route.method} ${route.url}`)
    t.match(response.headers['content-type'], /application\/problem\+json/)
    t.ok(Number(response.headers['retry-after']) > 0, `${route.method} ${route.url} says when to retry`)
  }
  t.ok(answers.length >= 15, `all ${answers.length} routes were tried`)
  t.equal(simulator.calls.length, graphCalls, 'Graph was not called while the database was down')

  proxy.restore()
  await app.databaseHealth.until(true)
  t.equal((await as(token, invitation('after@partner.example'))).statusCode, 201, 'serves again without a restart')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})

t.test('database frozen: a write answers 503 within its timeouts, no Graph call', async (t) => {
  const { app, simulator, proxy, token, as } = await setUp(t)
  proxy.freeze()
  const graphCalls = simulator.calls.length
  const response = await as(token, invitation('frozen@partner.example'))
  t.equal(response.statusCode, 503)
  t.equal(response.json<Problem>().code, 'database_unavailable')
  t.ok(Number(response.headers['retry-after']) > 0)
  t.equal(simulator.calls.length, graphCalls, 'no Graph call without its intent row')
  await app.databaseHealth.until(false)
  proxy.restore()
  await app.databaseHealth.until(true)
  t.equal((await as(token, invitation('thawed@partner.example'))).statusCode, 201)
})

t.test('a statement stuck behind a lock answers 503 at statement_timeout; the service stays up', async (t) => {
  const { app, simulator, token, as, databaseUrl } = await setUp(t)
  const locker = new pg.Client({ connectionString: databaseUrl })
  await locker.connect()
  t.teardown(() => locker.end())
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE')
  const graphCalls = simulator.calls.length
  const response = await as(token, invitation('locked@partner.example'))
  t.equal(response.statusCode, 503)
  t.equal(response.json<Problem>().code, 'database_unavailable')
  t.equal(simulator.calls.length, graphCalls, 'nothing reached Graph')
  t.ok(app.databaseHealth.healthy, 'one stuck statement does not take the service down')
  await locker.query('ROLLBACK')
  t.equal((await as(token, invitation('unlocked@partner.example'))).statusCode, 201)
})

t.test('the embedded database (one connection for everything) is waited for at least 30 s, whatever DATABASE_CONNECT_TIMEOUT_MS says', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'guestgate-embedded-wait-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const config = loadConfig({ GUESTGATE_DATA_DIR: dataDir, DATABASE_CONNECT_TIMEOUT_MS: '100', LOG_LEVEL: 'silent' })
  const app = Fastify(serverOptions(config, false))
  t.teardown(() => app.close())
  await app.register(buildApp, { config })
  await app.ready()
  // On a loaded machine the reconciler, the queue and a request take turns on it for seconds.
  t.equal(poolOf(app.prisma).options.connectionTimeoutMillis, EMBEDDED_CONNECT_WAIT_MS)
  t.equal(EMBEDDED_CONNECT_WAIT_MS, 30_000)
})
