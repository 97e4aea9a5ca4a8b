// Response hardening: API answers carry helmet's headers with a policy that forbids all active
// content; the docs page keeps working over plain http on a host other than localhost.
import fastifyHelmet from '@fastify/helmet'
import Fastify from 'fastify'
import t from 'tap'
import { helmetHeaders, HELMET_OPTIONS } from '../../src/plugins/helmet.js'
import { build } from '../helper.js'

const HOST = { host: 'guestgate.internal:3000' }

t.test('API answers, successes and problems alike, carry the hardening headers', async (t) => {
  const { app, as, token } = await build(t)
  const answers = {
    ok: await as(await token([]), { method: 'GET', url: '/v1/me/permissions' }),
    unauthorized: await app.inject({ method: 'GET', url: '/v1/guests' }),
    notFound: await app.inject({ method: 'GET', url: '/v1/nothing' }),
  }
  for (const [name, res] of Object.entries(answers)) {
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /default-src 'none'/, `${name}: nothing may be loaded`)
    t.match(csp, /frame-ancestors 'none'/, `${name}: nor framed`)
    t.notMatch(csp, /upgrade-insecure-requests/)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${name}: nosniff`)
    t.equal(res.headers['x-frame-options'], 'DENY')
    t.equal(res.headers['referrer-policy'], 'no-referrer')
    t.match(res.headers['strict-transport-security'], /max-age=31536000/)
    t.equal(res.headers['x-powered-by'], undefined)
    t.equal(res.headers['cache-control'], 'no-store', `${name}: kept by no browser or proxy`)
  }
})

t.test('/docs over plain http on another host: no upgrade-insecure-requests, every asset loads', async (t) => {
  const { app } = await build(t)
  const page = await app.inject({ method: 'GET', url: '/docs/', headers: HOST })
  t.equal(page.statusCode, 200)
  const csp = String(page.headers['content-security-policy'])
  t.notMatch(csp, /upgrade-insecure-requests/, 'the browser is not told to fetch the assets over https')
  t.match(csp, /script-src 'self'/, 'the page\'s own scripts may run')
  t.equal(page.headers['x-content-type-options'], 'nosniff')

  const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, `http://${HOST.host}/docs/`))
  t.ok(assets.length >= 5, `${assets.length} assets`)
  for (const asset of assets) {
    t.equal(asset.protocol, 'http:', `${asset.pathname}: same scheme as the page`)
    t.equal(asset.host, HOST.host, `${asset.pathname}: same host`)
    const res = await app.inject({ method: 'GET', url: asset.pathname, headers: HOST })
    t.equal(res.statusCode, 200, `${asset.pathname}: 200`)
    t.notMatch(String(res.headers['content-security-policy']), /upgrade-insecure-requests/)
  }
  const initializer = (await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js', headers: HOST })).body
  // The initializer resolves the spec's URL against the page's own address.
  const specUrl = /url: resolveUrl\('([^']+)'\)/.exec(initializer)?.[1]
  t.ok(specUrl, `the page loads the spec from ${specUrl}`)
  const spec = await app.inject({ method: 'GET', url: new URL(specUrl!, `http://${HOST.host}/docs/`).pathname, headers: HOST })
  t.equal(spec.statusCode, 200)
  t.equal(spec.json<{ info: { title: string } }>().info.title, 'guestgate')
})

t.test('the headers computed once at start are the ones @fastify/helmet sets on every answer', async (t) => {
  const reference = Fastify()
  t.teardown(() => reference.close())
  await reference.register(fastifyHelmet, { global: true, ...HELMET_OPTIONS })
  reference.get('/', async () => ({}))
  const { headers } = await reference.inject({ method: 'GET', url: '/' })
  const own = helmetHeaders(HELMET_OPTIONS)
  t.ok(Object.keys(own).length >= 10, `${Object.keys(own).length} headers`)
  for (const [name, value] of Object.entries(own)) t.equal(headers[name], value, name)
  const fromPlugin = Object.keys(headers).filter((name) => !['content-type', 'content-length', 'date', 'connection'].includes(name))
  t.same(fromPlugin.sort(), Object.keys(own).sort(), 'no header missing')
})
