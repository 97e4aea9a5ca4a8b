// Per-caller rate limits: by tenant + object id with a token, by address without one; 429
// problem+json with Retry-After and RateLimit-* headers; counters shared through Redis when
// REDIS_URL is set (the machine's Redis, under a key prefix of this test's own).
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { build } from '../helper.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

t.test('per principal on authenticated routes: 429 problem+json with Retry-After and RateLimit headers, counted in a metric', async (t) => {
  const { app, as, token } = await build(t, { GUESTGATE_RATE_LIMIT_MAX: '3', GUESTGATE_RATE_LIMIT_WINDOW_SECONDS: '600' })
  const oid = randomUUID()
  const first = await token(['Guests.Invite'], { oid })
  const sameCallerOtherToken = await token(['Audit.Read'], { oid })
  const other = await token(['Guests.Invite'])

  const statuses = []
  for (const caller of [first, sameCallerOtherToken, first]) statuses.push((await as(caller, { method: 'GET', url: '/v1/me/permissions' })).statusCode)
  t.same(statuses, [200, 200, 200])
  const limited = await as(sameCallerOtherToken, { method: 'GET', url: '/v1/guests' })
  t.equal(limited.statusCode, 429, 'the fourth request of one caller, whatever its token and route')
  t.match(limited.headers['content-type'], /application\/problem\+json/)
  t.match(limited.json(), { type: 'urn:guestgate:problem:rate_limited', status: 429, code: 'rate_limited', requestId: String, retryAfterSeconds: Number })
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 600, `Retry-After: ${limited.headers['retry-after']}`)
  t.equal(limited.headers['ratelimit-limit'], '3')
  t.equal(limited.headers['ratelimit-remaining'], '0')
  t.ok(Number(limited.headers['ratelimit-reset']) > 0)
  t.equal((await as(other, { method: 'GET', url: '/v1/me/permissions' })).statusCode, 200, 'another caller is not affected')

  const metrics = await app.metricsRegistry.getSingleMetricAsString('guestgate_rate_limit_rejections_total')
  t.match(metrics, /guestgate_rate_limit_rejections_total\{route="\/v1\/guests\/",caller="principal"\} 1|guestgate_rate_limit_rejections_total\{route="\/v1\/guests",caller="principal"\} 1/)
})

t.test('by address without a valid token (refused tokens, public routes); health probes are never limited', async (t) => {
  const { app } = await build(t, { GUESTGATE_RATE_LIMIT_ANONYMOUS_MAX: '2', GUESTGATE_RATE_LIMIT_WINDOW_SECONDS: '600' })
  const bad = { authorization: 'Bearer abc.def.ghi' }
  t.equal((await app.inject({ method: 'GET', url: '/v1/guests', headers: bad })).statusCode, 401)
  t.equal((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 200)
  const limited = await app.inject({ method: 'GET', url: '/v1/guests', headers: bad })
  t.equal(limited.statusCode, 429, 'the third anonymous request from this address')
  t.match(limited.json(), { code: 'rate_limited' })
  const other = await app.inject({ method: 'GET', url: '/v1/guests', headers: bad, remoteAddress: '10.1.2.3' })
  t.equal(other.statusCode, 401, 'another address is counted apart')
  for (let i = 0; i < 5; i++) t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'liveness probe')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'readiness probe')
})

t.test('with REDIS_URL, replicas share the limit', async (t) => {
  const prefix = `guestgate-test:${randomUUID()}:`
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })
  const env = { REDIS_URL, GUESTGATE_RATE_LIMIT_REDIS_PREFIX: prefix, GUESTGATE_RATE_LIMIT_MAX: '4', GUESTGATE_RATE_LIMIT_WINDOW_SECONDS: '600' }
  const replicaA = await build(t, env)
  const replicaB = await build(t, env)
  const oid = randomUUID()
  // Each replica mints with its own sandbox key: the same caller, two tokens.
  const tokenA = await replicaA.token(['Guests.Invite'], { oid })
  const tokenB = await replicaB.token(['Guests.Invite'], { oid })

  const answers = []
  for (const [replica, token] of [[replicaA, tokenA], [replicaB, tokenB], [replicaA, tokenA], [replicaB, tokenB]] as const) {
    answers.push((await replica.as(token, { method: 'GET', url: '/v1/me/permissions' })).statusCode)
  }
  t.same(answers, [200, 200, 200, 200], 'four requests spread over two replicas')
  const fifth = await replicaA.as(tokenA, { method: 'GET', url: '/v1/me/permissions' })
  t.equal(fifth.statusCode, 429, 'the fifth is refused: the replicas counted together')
  t.equal((await replicaB.as(tokenB, { method: 'GET', url: '/v1/me/permissions' })).statusCode, 429, 'on both replicas')
  t.ok((await redis.keys(`${prefix}*`)).length > 0, 'the counters live in Redis under the configured prefix')
})
