// GUESTGATE_TRUST_PROXY through the real app: X-Forwarded-For is believed only on connections from
// the listed proxies, so that clients behind a load balancer get rate limit buckets of their own;
// without it (the default) the header is ignored and a client cannot choose its bucket.
import t from 'tap'
import { build } from './helper.js'

const LIMITS = { GUESTGATE_RATE_LIMIT_ANONYMOUS_MAX: '2', GUESTGATE_RATE_LIMIT_WINDOW_SECONDS: '600' }

/** An unauthenticated request (401), as a client behind the proxy at `remoteAddress`: its RateLimit-Remaining. */
async function remaining(app: Awaited<ReturnType<typeof build>>['app'], forwardedFor: string | undefined, remoteAddress = '127.0.0.1'): Promise<string> {
  const response = await app.inject({
    method: 'GET', url: '/v1/guests', remoteAddress,
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  })
  if (response.statusCode !== 401 && response.statusCode !== 429) throw new Error(`unexpected ${response.statusCode}: ${response.body}`)
  return response.statusCode === 429 ? 'limited' : String(response.headers['ratelimit-remaining'])
}

t.test('GUESTGATE_TRUST_PROXY=127.0.0.1: clients behind that proxy are counted apart', async (t) => {
  const { app } = await build(t, { ...LIMITS, GUESTGATE_TRUST_PROXY: '127.0.0.1' })
  t.equal(await remaining(app, '203.0.113.5'), '1', 'first request of 203.0.113.5')
  t.equal(await remaining(app, '203.0.113.5'), '0', 'second request of 203.0.113.5')
  t.equal(await remaining(app, '203.0.113.5'), 'limited', '203.0.113.5 is over its limit')
  t.equal(await remaining(app, '203.0.113.6'), '1', '203.0.113.6 has a bucket of its own')
  t.equal(await remaining(app, undefined), '1', 'the proxy itself (no header) has its own bucket too')
  t.equal(await remaining(app, '198.51.100.9, 203.0.113.5'), 'limited',
    'what the client put in front of the address the proxy appended is not believed: still 203.0.113.5')
  t.equal(await remaining(app, '203.0.113.7', '10.9.9.9'), '1', 'a connection from an address not listed...')
  t.equal(await remaining(app, '203.0.113.8', '10.9.9.9'), '0', '...is counted by its own address, whatever header it sends')
})

t.test('unset (the default): X-Forwarded-For is ignored, every request of the proxy shares one bucket', async (t) => {
  const { app, config } = await build(t, LIMITS)
  t.same(config.trustedProxies, [])
  t.equal(await remaining(app, '203.0.113.5'), '1')
  t.equal(await remaining(app, '203.0.113.6'), '0', 'another forwarded address counts against the same bucket')
  t.equal(await remaining(app, '203.0.113.7'), 'limited', 'a client cannot escape its limit by sending the header')
})
