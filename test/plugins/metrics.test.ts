// /metrics counts exactly what happened: a known sequence of requests by method, route template
// and status, the policy version in force (and its reloads), rate-limit rejections.
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { build } from '../helper.js'

/** The value of one sample line of the Prometheus text format. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const found: Record<string, string> = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]))
    if (wanted.every(([k, v]) => found[k] === v) && Object.keys(found).length === wanted.length) return Number(match[3])
  }
  return undefined
}

t.test('HTTP requests are counted by method, route template and status', async (t) => {
  const gg = await build(t)
  const { app } = gg
  const as = gg.as.bind(gg)
  const reader = await gg.token(['Apps.AssignRoles'])   // POST /v1/sandbox/tokens 201
  await app.inject({ method: 'GET', url: '/healthz' })
  await app.inject({ method: 'GET', url: '/healthz' })
  await as(reader, { method: 'GET', url: '/v1/me/permissions' })
  await as(reader, { method: 'GET', url: '/v1/me/permissions' })
  await as(reader, { method: 'GET', url: '/v1/me/permissions' })
  await app.inject({ method: 'GET', url: '/v1/me/permissions' })             // no token: 401
  await as(reader, { method: 'GET', url: '/v1/guests/not-a-guid' })           // 400, by template
  await app.inject({ method: 'GET', url: '/no/such/route/12345' })            // 404, not by URL

  const response = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const text = response.body
  const count = (method: string, route: string, status: number) =>
    sample(text, 'http_request_duration_seconds_count', { method, route, status_code: String(status) })
  t.equal(count('POST', '/v1/sandbox/tokens', 201), 1)
  t.equal(count('GET', '/healthz', 200), 2)
  t.equal(count('GET', '/v1/me/permissions', 200), 3)
  t.equal(count('GET', '/v1/me/permissions', 401), 1)
  t.equal(count('GET', '/v1/guests/:id', 400), 1, 'the route template, not the URL')
  t.equal(count('GET', '__unmatched__', 404), 1, 'unmatched URLs share one label')
  t.notMatch(text, /no\/such\/route/, 'raw URLs never become labels')
  t.equal(count('GET', '/metrics', 200), undefined, 'the scrape itself is counted after it answers')
  const bucket = sample(text, 'http_request_duration_seconds_bucket', { method: 'GET', route: '/healthz', status_code: '200', le: '+Inf' })
  t.equal(bucket, 2, 'with durations in buckets')

  const again = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(sample(again.body, 'http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status_code: '200' }), 1)
})

t.test('the policy version in force, and reloads by result', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-metrics-'))
  const policyFile = path.join(dir, 'policy.yaml')
  await copyFile('config/policy.sandbox.yaml', policyFile)
  const original = await readFile(policyFile, 'utf8')
  const version = /^version: "([^"]+)"/m.exec(original)![1]!
  const { app } = await build(t, { GUESTGATE_POLICY_FILE: policyFile })
  const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body

  t.equal(sample(await scrape(), 'guestgate_policy_info', { version }), 1)
  await writeFile(policyFile, original.replace(/^version: .*$/m, 'version: "metrics-test-2"').replace('maxPerHour: 20', 'maxPerHour: 21'))
  t.equal((await app.policies.reload()).ok, true)
  await writeFile(policyFile, 'version: [not valid')
  t.equal((await app.policies.reload()).ok, false)
  const text = await scrape()
  t.equal(sample(text, 'guestgate_policy_info', { version: 'metrics-test-2' }), 1, 'the new version')
  t.equal(sample(text, 'guestgate_policy_info', { version }), undefined, 'the old one is gone')
  t.equal(sample(text, 'guestgate_policy_reloads_total', { result: 'ok' }), 1)
  t.equal(sample(text, 'guestgate_policy_reloads_total', { result: 'failed' }), 1)
})

t.test('rate-limit rejections: the counter the rate limiter increments', async (t) => {
  const { app } = await build(t)
  app.metrics.rateLimitRejections.inc({ route: '/v1/invitations' })
  app.metrics.rateLimitRejections.inc({ route: '/v1/invitations' })
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.equal(sample(text, 'guestgate_rate_limit_rejections_total', { route: '/v1/invitations' }), 2)
})

t.test('GUESTGATE_METRICS_TOKEN protects /metrics', async (t) => {
  const secret = 'scrape-token-0123456789'
  const { app } = await build(t, { GUESTGATE_METRICS_TOKEN: secret })
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401, 'no token')
  t.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode, 401, 'wrong token')
  const ok = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${secret}` } })
  t.equal(ok.statusCode, 200)
  t.match(ok.body, /http_request_duration_seconds_count\{method="GET",route="\/metrics",status_code="401"\} 2/)
})

t.test('Graph calls by operation and status, retries, audit appends, unsettled intents', async (t) => {
  const gg = await build(t)
  const { app, simulator } = gg
  const inviter = await gg.token(['Guests.Invite'])
  const invite = (email: string, url = '/v1/invitations') => gg.as(inviter, {
    method: 'POST', url, payload: { email, redirectUrl: 'https://myapps.microsoft.com/' },
  })
  const before = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const appendsBefore = sample(before, 'guestgate_audit_append_seconds_count', {}) ?? 0

  // Graph throttles the existence check once: the read is sent again after Retry-After.
  simulator.faults.inject({ method: 'GET', path: '/users', status: 429, retryAfter: 0 })
  t.equal((await invite('metrics.one@partner.example')).statusCode, 201)
  // A dry run plans its write: nothing is sent to Graph for it.
  t.equal((await invite('metrics.two@partner.example', '/v1/invitations?dryRun=true')).statusCode, 200)

  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const count = (operation: string, status: string) => sample(text, 'guestgate_graph_request_duration_seconds_count', { operation, status })
  t.equal(count('invite', '201'), 1, 'one invitation sent, the dry run\'s is not')
  t.equal(sample(text, 'guestgate_graph_retries_total', { status: '429' }), 1, 'the throttled read was retried once')
  t.ok((count('findUsersByEmail', '200') ?? 0) >= 1, 'the existence checks, by their final status')
  t.equal(count('findUsersByEmail', '429'), undefined, 'a retried call is counted once, by its last answer')
  // Intent and outcome of the invitation, and the dry run's own row.
  t.equal((sample(text, 'guestgate_audit_append_seconds_count', {}) ?? 0) - appendsBefore, 3, 'audit appends: intent, outcome, dry run')
  t.equal(sample(text, 'guestgate_audit_unsettled_intents', {}), 0, 'no intent is left without an outcome')
})
