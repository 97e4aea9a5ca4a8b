// What the operator needs when something outside fails (issue 11.3): a readiness failure and a
// signing-key fetch failure are logged, at warn or error, with their cause.
import pg from 'pg'
import t from 'tap'
import { build } from '../helper.js'
import { startTestIssuer } from '../helpers/test-issuer.js'

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'

function logLines() {
  const lines: Record<string, unknown>[] = []
  return { lines, log: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } }
}

t.test('readiness: an unreachable database answers 503 and logs why at warn', async (t) => {
  const { lines, log } = logLines()
  const { app, databaseUrl } = await build(t, { LOG_LEVEL: 'warn' }, { log })
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/]+$/, '/postgres') })
  await admin.connect()
  await admin.query(`DROP DATABASE "${new URL(databaseUrl).pathname.slice(1)}" WITH (FORCE)`)
  await admin.end()

  const response = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(response.statusCode, 503)
  t.equal(response.headers['retry-after'], '5')
  t.match(response.json(), { code: 'not_ready', retryAfterSeconds: 5 }, 'the body says when to retry too, as every retryable 503 does')
  t.notMatch(response.body, /does not exist|terminat|ECONN/, 'the cause is not shown to the unauthenticated caller')
  const line = lines.find((l) => l.msg === 'not ready: the database cannot be reached')
  t.ok(line, 'logged')
  t.equal(line?.level, 40, 'at warn')
  t.match((line?.err as { message?: string } | undefined)?.message, /\S/, 'with the cause')
})

t.test('a signing-key fetch failure is logged at error with its cause; the caller gets 503 (the token was not refused)', async (t) => {
  const issuer = await startTestIssuer(t, TENANT, 'api://guestgate-test')
  const { lines, log } = logLines()
  const { app } = await build(t, {
    GUESTGATE_TENANT_ID: TENANT, GUESTGATE_API_AUDIENCE: 'api://guestgate-test', GUESTGATE_POLICY_FILE: 'config/policy.sandbox.yaml',
    GUESTGATE_APP_ID: 'b0000000-0000-4000-8000-000000000004',
    // Nothing listens there: the key set cannot be fetched.
    GUESTGATE_AUTH_AUTHORITY: 'http://127.0.0.1:1', LOG_LEVEL: 'warn',
  }, { log })
  const token = await issuer.sign({ roles: ['Guests.Invite'] })
  const response = await app.inject({ method: 'GET', url: '/v1/guests', headers: { authorization: `Bearer ${token}` } })
  t.equal(response.statusCode, 503)
  t.match(response.json(), { code: 'token_keys_unavailable' })
  const line = lines.find((l) => l.msg === 'the signing keys could not be fetched: tokens cannot be verified')
  t.ok(line, 'logged')
  t.equal(line?.level, 50, 'at error')
  t.equal(line?.jwksUrl, `http://127.0.0.1:1/${TENANT}/discovery/v2.0/keys`, 'naming the URL')
  t.ok(line?.err, 'with the cause')

  // A token naming a key the (reachable) set does not have is the caller's problem: not an error line.
  const { lines: quiet, log: quietLog } = logLines()
  const { app: reachable } = await build(t, {
    GUESTGATE_TENANT_ID: TENANT, GUESTGATE_API_AUDIENCE: 'api://guestgate-test', GUESTGATE_POLICY_FILE: 'config/policy.sandbox.yaml',
    GUESTGATE_APP_ID: 'b0000000-0000-4000-8000-000000000004', GUESTGATE_AUTH_AUTHORITY: issuer.authority, LOG_LEVEL: 'warn',
  }, { log: quietLog })
  const { newSigningKey } = await import('../helpers/test-issuer.js')
  const stranger = await issuer.sign({ roles: ['Guests.Invite'] }, { key: await newSigningKey('unknown-kid') })
  t.equal((await reachable.inject({ method: 'GET', url: '/v1/guests', headers: { authorization: `Bearer ${stranger}` } })).statusCode, 401)
  t.notOk(quiet.some((l) => l.msg === 'the signing keys could not be fetched: tokens cannot be verified'), 'an unknown key id is not a fetch failure')
})
