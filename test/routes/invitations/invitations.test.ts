import t from 'tap'
import pg from 'pg'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import type { InvitationReply, Problem } from '../../helpers/replies.js'

const invite = (payload: unknown) => ({ method: 'POST', url: '/v1/invitations', payload })

t.test('inviting jane@partner.example: 201, readable, intent and outcome rows with one operation id', async (t) => {
  const { as, token, databaseUrl, simulator } = await build(t)
  const inviter = await token(['Guests.Invite'], { name: 'Ada Admin' })
  const res = await as(inviter, invite({ email: 'jane@partner.example', displayName: 'Jane Doe', sendEmail: false }))
  t.equal(res.statusCode, 201, res.body)
  const body = res.json<InvitationReply>()
  t.match(body, { email: 'jane@partner.example', displayName: 'Jane Doe', userType: 'Guest', invitationState: 'PendingAcceptance' })
  t.match(body.inviteRedeemUrl, /^https:\/\//)
  t.equal(res.headers.location, `/v1/guests/${body.id}`)

  const read = await as(inviter, { method: 'GET', url: `/v1/guests/${body.id}` })
  t.equal(read.statusCode, 200)
  t.match(read.json(), { id: body.id, email: 'jane@partner.example', userType: 'Guest', invitationState: 'PendingAcceptance' })

  const rows = await auditRows(databaseUrl, `action = 'invitation.invite'`)
  t.same(rows.map((r) => r.status), ['intent', 'succeeded'])
  t.ok(rows.every((r) => r.operation_id === body.operationId), 'both rows carry the operation id returned')
  t.equal(rows[1]!.target_id, body.id)
  t.equal(rows[1]!.graph_status, 201)
  t.ok(rows[1]!.graph_request_id, 'Graph request-id recorded')
  t.equal(rows[0]!.decision, 'allowed')
  t.ok(rows[0]!.policy_version)
  const [call] = simulator.callsTo('POST', /^\/v1\.0\/invitations$/)
  t.equal(call?.clientRequestId, rows[0]!.correlation_id, 'client-request-id sent to Graph is the audited correlation id')
  t.ok(call?.hasAuthorization, 'the SDK sent a bearer token to Graph')
})

t.test('bad input: 4xx problem+json naming the field, nothing sent to Graph', async (t) => {
  const { as, token, simulator, app } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const cases: { name: string; payload: unknown; status: number; field: string; contentType?: string }[] = [
    { name: 'missing email', payload: { displayName: 'Jane' }, status: 400, field: 'body/email' },
    { name: 'malformed email', payload: { email: 'jane-at-partner.example' }, status: 400, field: 'body/email' },
    { name: 'plus-address', payload: { email: 'jane+test@partner.example' }, status: 400, field: 'body/email' },
    { name: 'forbidden characters', payload: { email: 'ja(ne)@partner.example' }, status: 400, field: 'body/email' },
    { name: 'unknown field', payload: { email: 'jane@partner.example', admin: true }, status: 400, field: 'body/admin' },
    { name: 'wrong type: email', payload: { email: 42 }, status: 400, field: 'body/email' },
    { name: 'wrong type: displayName', payload: { email: 'jane@partner.example', displayName: 42 }, status: 400, field: 'body/displayName' },
    { name: 'wrong type: sendEmail', payload: { email: 'jane@partner.example', sendEmail: 'yes' }, status: 400, field: 'body/sendEmail' },
    { name: 'http redirect', payload: { email: 'jane@partner.example', redirectUrl: 'http://myapps.microsoft.com/' }, status: 400, field: 'body/redirectUrl' },
    { name: 'array body', payload: [{ email: 'jane@partner.example' }], status: 400, field: 'body' },
    { name: '2 MB body', payload: { email: 'jane@partner.example', message: 'x'.repeat(2 * 1024 * 1024) }, status: 413, field: 'body' },
  ]
  for (const c of cases) {
    const res = await as(inviter, invite(c.payload))
    t.equal(res.statusCode, c.status, `${c.name}: status`)
    t.match(res.headers['content-type'], /^application\/problem\+json/, `${c.name}: problem+json`)
    const problem = res.json<Problem>()
    t.match(problem, { status: c.status, type: String, title: String, detail: String, requestId: String }, `${c.name}: problem shape`)
    t.ok(problem.errors?.some((e) => e.field === c.field), `${c.name}: names ${c.field} (got ${JSON.stringify(problem.errors)})`)
  }
  const notJson = await app.inject({ method: 'POST', url: '/v1/invitations', payload: 'email=jane@partner.example',
    headers: { authorization: `Bearer ${inviter}`, 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(notJson.statusCode, 415)
  const brokenJson = await app.inject({ method: 'POST', url: '/v1/invitations', payload: '{"email":',
    headers: { authorization: `Bearer ${inviter}`, 'content-type': 'application/json' } })
  t.equal(brokenJson.statusCode, 400)
  t.match(brokenJson.json(), { errors: [{ field: 'body' }] })
  t.same(simulator.callsTo('POST', /invitations/), [], 'no invitation reached Graph')
})

t.test('denied: no Guests.Invite role, or a domain the policy does not allow: 403 with reason and a denied row', async (t) => {
  const { as, token, databaseUrl, simulator } = await build(t)
  const auditor = await token(['Audit.Read'])
  const noRole = await as(auditor, invite({ email: 'jane@partner.example' }))
  t.equal(noRole.statusCode, 403)
  t.match(noRole.json(), { code: 'policy_denied', rule: String, reason: String, policyVersion: String })

  const inviter = await token(['Guests.Invite'])
  const evil = await as(inviter, invite({ email: 'eve@evil.example' }))
  t.equal(evil.statusCode, 403)
  t.match(evil.json(), { rule: /domain/, reason: /evil\.example/ })

  const denied = await auditRows(databaseUrl, `decision = 'denied'`)
  t.equal(denied.length, 2)
  t.ok(denied.every((r) => r.status === 'denied' && r.rule_id && r.reason && r.policy_version))
  t.equal(denied[1]!.rule_id, evil.json<Problem>().rule)
  t.same(simulator.callsTo('POST', /invitations/), [])
})

t.test('Graph throttles with Retry-After: retried, then succeeds', async (t) => {
  const { as, token, simulator } = await build(t)
  simulator.faults.inject({ method: 'POST', path: '/invitations', status: 429, retryAfter: '0.05', times: 1 })
  const res = await as(await token(['Guests.Invite']), invite({ email: 'throttled@partner.example' }))
  t.equal(res.statusCode, 201, res.body)
  t.equal(simulator.callsTo('POST', /^\/v1\.0\/invitations$/).length, 2, 'one throttled call, one retry')
})

t.test('Graph failing for good: failed outcome row and a 503 problem with Retry-After', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  // With Retry-After: Graph did not process the write, so it may be sent again (bounded).
  simulator.faults.inject({ method: 'POST', path: '/invitations', status: 503, retryAfter: '0', times: Infinity })
  const res = await as(await token(['Guests.Invite']), invite({ email: 'down@partner.example' }))
  t.equal(res.statusCode, 503)
  t.ok(res.headers['retry-after'])
  const problem = res.json<Problem>()
  t.match(problem, { code: 'graph_unavailable', graphStatus: 503, operationId: String })
  const rows = await auditRows(databaseUrl, `operation_id = $1`, [problem.operationId])
  t.same(rows.map((r) => r.status), ['intent', 'failed'])
  t.equal(rows[1]!.graph_status, 503)
  t.ok(rows[1]!.graph_error_code)
  t.equal(simulator.callsTo('POST', /^\/v1\.0\/invitations$/).length, 4, 'first call and 3 bounded retries')
})

t.test('Graph refusing our own permission: 502 naming the upstream permission problem', async (t) => {
  const { as, token, simulator } = await build(t)
  simulator.faults.inject({ method: 'POST', path: '/invitations', status: 403, code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' })
  const res = await as(await token(['Guests.Invite']), invite({ email: 'perm@partner.example' }))
  t.equal(res.statusCode, 502)
  t.match(res.json(), { code: 'graph_permission_denied', detail: /permission/ })
})

t.test('database down: 503 and no call reaches Graph', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/?]+(\?|$)/, '/postgres$1') })
  await admin.connect()
  const name = new URL(databaseUrl).pathname.slice(1)
  await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`)
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name])
  t.teardown(async () => {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => undefined)
    await admin.end()
  })
  simulator.calls.length = 0
  const res = await as(inviter, invite({ email: 'nodb@partner.example' }))
  t.equal(res.statusCode, 503)
  t.match(res.json(), { code: 'database_unavailable' })
  t.notMatch(res.body, /prisma|postgres|ECONN/i, 'no internals in the body')
  t.same(simulator.calls, [], 'Graph was not called')
  const ready = await as(inviter, { method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
})

t.test('re-inviting an existing user: 409 naming the user, no second invitation', async (t) => {
  const { as, token, simulator } = await build(t)
  const inviter = await token(['Guests.Invite'])
  const first = await as(inviter, invite({ email: 'twice@partner.example' }))
  t.equal(first.statusCode, 201)
  const second = await as(inviter, invite({ email: 'TWICE@partner.example' }))
  t.equal(second.statusCode, 409)
  t.match(second.json(), { code: 'user_exists', existingUserId: first.json<InvitationReply>().id })
  const seeded = await as(inviter, invite({ email: 'existing@fabrikam.example' }))
  t.equal(seeded.statusCode, 409)
  t.equal(simulator.callsTo('POST', /^\/v1\.0\/invitations$/).length, 1, 'only the first invitation reached Graph')
})
