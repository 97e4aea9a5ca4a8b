// No secret reaches a log line: run the real app in tenant mode with a client secret, a database
// password and bearer tokens at the most verbose level, and search everything it logged.
import t from 'tap'
import { build } from './helper.js'
import { startTestIssuer } from './helpers/test-issuer.js'
import { startTokenEndpoint } from './helpers/token-endpoint.js'

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const SECRET = 'Zk9~client-secret-value-that-must-never-appear'

t.test('secrets and tokens never reach the logs', async (t) => {
  const lines: string[] = []
  const issuer = await startTestIssuer(t, TENANT, 'api://guestgate-test')
  // The client secret goes to a local token endpoint, never to the public Microsoft login host.
  const tokens = await startTokenEndpoint(t, { tenantId: TENANT, clientId: 'b0000000-0000-4000-8000-000000000004', clientSecret: SECRET })
  const { app, simulator } = await build(t, {
    GUESTGATE_TENANT_ID: TENANT, AZURE_TENANT_ID: TENANT, GUESTGATE_API_AUDIENCE: 'api://guestgate-test',
    GUESTGATE_POLICY_FILE: 'config/policy.sandbox.yaml', GUESTGATE_AUTH_AUTHORITY: issuer.authority,
    AZURE_CLIENT_ID: 'b0000000-0000-4000-8000-000000000004', AZURE_CLIENT_SECRET: SECRET, AZURE_AUTHORITY_HOST: tokens.authorityHost,
    LOG_LEVEL: 'trace',
  }, { log: { write: (line: string) => { lines.push(line) } } })
  const token = await issuer.sign({ roles: ['Guests.Invite'] })
  await app.inject({ method: 'GET', url: '/v1/guests', headers: { authorization: `Bearer ${token}` } })
  await app.inject({ method: 'GET', url: '/v1/guests', headers: { authorization: `Bearer ${token}x` } })
  await app.inject({ method: 'POST', url: '/v1/invitations', headers: { authorization: `Bearer ${token}` }, payload: { email: 'a@partner.example' } })
  t.ok(tokens.grants.length > 0 && tokens.grants.every((grant) => grant.secretMatched), 'the secret was used, at the local token endpoint')
  t.ok(simulator.calls.length > 0 && simulator.calls.every((call) => call.hasAuthorization), 'Graph was called with the token')
  const log = lines.join('')
  t.ok(lines.length > 5, `the app logged (${lines.length} lines)`)
  t.match(log, /clientSecret|client_secret|credential/i, 'the credential kind is logged')
  t.notOk(log.includes(SECRET), 'the client secret is not logged')
  t.notOk(log.includes(token.split('.')[2]!), 'no token signature is logged')
  t.notOk(log.includes(token.split('.')[1]!), 'no token payload is logged')
})
