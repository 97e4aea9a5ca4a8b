// Tenant mode set up exactly as the README says (issue 11.3): GUESTGATE_TENANT_ID (no
// AZURE_TENANT_ID), a client secret, the real server process. Local stand-ins take the place of
// the Entra authority (tokens for Graph, over HTTPS as MSAL requires), of the tenant's signing
// keys (caller tokens) and of Graph.
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { buildGraphSimulator } from '../src/graph/simulator/graph-simulator.js'
import { createTestDatabase } from './helpers/database.js'
import { startServer } from './helpers/server-process.js'
import { startTestIssuer } from './helpers/test-issuer.js'

// Real server processes on a busy machine: a safety net, not a speed requirement.
t.setTimeout(15 * 60_000)

const TENANT = '3f6a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const CLIENT = '0f0a2b1c-5d4e-4f80-9a1b-2c3d4e5f6a7b'
const SECRET = 'Zk9~the-client-secret-of-the-readme-setup'
const AUDIENCE = 'api://guestgate'

/** A stand-in for login.microsoftonline.com: OpenID configuration and the client-credentials token endpoint. */
async function startAuthority(t: Tap) {
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-authority-'))
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')])
  const tokenRequests: { path: string; form: URLSearchParams }[] = []
  const server = createServer({ key: await readFile(path.join(dir, 'key.pem')), cert: await readFile(path.join(dir, 'cert.pem')) }, (request, response) => {
    let body = ''
    request.on('data', (chunk) => { body += chunk })
    request.on('end', () => {
      const url = new URL(request.url ?? '/', base)
      const tenantBase = `${base}/${TENANT}`
      response.setHeader('content-type', 'application/json')
      if (url.pathname === `/${TENANT}/v2.0/.well-known/openid-configuration`) {
        response.end(JSON.stringify({
          issuer: `${tenantBase}/v2.0`, token_endpoint: `${tenantBase}/oauth2/v2.0/token`, authorization_endpoint: `${tenantBase}/oauth2/v2.0/authorize`,
          jwks_uri: `${tenantBase}/discovery/v2.0/keys`, end_session_endpoint: `${tenantBase}/oauth2/v2.0/logout`,
        }))
      } else if (request.method === 'POST' && url.pathname === `/${TENANT}/oauth2/v2.0/token`) {
        tokenRequests.push({ path: url.pathname, form: new URLSearchParams(body) })
        response.end(JSON.stringify({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: 'graph-token-from-the-authority' }))
      } else {
        response.writeHead(404).end('{"error":"not_found"}')
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const base = `https://127.0.0.1:${(server.address() as { port: number }).port}`
  return { base, caFile: path.join(dir, 'cert.pem'), tokenRequests }
}
type Tap = Parameters<typeof startTestIssuer>[0]

t.test('tenant mode as documented: GUESTGATE_TENANT_ID and a client secret reach Graph through the credential', async (t) => {
  const authority = await startAuthority(t)
  const callers = await startTestIssuer(t, TENANT, AUDIENCE)
  const graph = await buildGraphSimulator({ logger: false })
  const graphAuthorization: string[] = []
  graph.addHook('onRequest', async (request) => { graphAuthorization.push(String(request.headers.authorization)) })
  await graph.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => graph.close())
  const database = await createTestDatabase(t)

  const server = startServer(t, {
    // The README's variables, nothing more:
    GUESTGATE_TENANT_ID: TENANT, GUESTGATE_API_AUDIENCE: AUDIENCE, DATABASE_URL: database.connectionString,
    GUESTGATE_POLICY_FILE: 'config/policy.sandbox.yaml', AZURE_CLIENT_ID: CLIENT, AZURE_CLIENT_SECRET: SECRET,
    // ...and where the stand-ins are.
    GUESTGATE_AUTH_AUTHORITY: callers.authority, AZURE_AUTHORITY_HOST: authority.base, NODE_EXTRA_CA_CERTS: authority.caFile,
    GRAPH_BASE_URL: `http://127.0.0.1:${(graph.server.address() as { port: number }).port}/v1.0`, PORT: '0',
  })
  const base = await server.listening()
  t.notMatch(server.output(), /SANDBOX MODE/)

  const token = await callers.sign({ roles: ['Groups.ManageMembers'] })
  const groups = await fetch(`${base}/v1/groups`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(groups.status, 200, 'a caller token from the tenant\'s keys is accepted and Graph answers')
  if (groups.status !== 200) t.comment(`answer: ${await groups.clone().text()}\nserver output:\n${server.output()}`)
  t.ok(((await groups.json()) as { items: unknown[] }).items.length > 0)

  t.equal(authority.tokenRequests.length, 1, 'the credential asked the authority for a Graph token once')
  const form = authority.tokenRequests[0]!.form
  t.equal(authority.tokenRequests[0]!.path, `/${TENANT}/oauth2/v2.0/token`, 'of the tenant named by GUESTGATE_TENANT_ID')
  t.equal(form.get('client_id'), CLIENT)
  t.equal(form.get('client_secret'), SECRET)
  t.equal(form.get('grant_type'), 'client_credentials')
  t.equal(form.get('scope'), 'https://graph.microsoft.com/.default')
  t.ok(graphAuthorization.length > 0 && graphAuthorization.every((h) => h === 'Bearer graph-token-from-the-authority'), 'Graph got that token')

  const sandboxRoute = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Invite'] }) })
  t.equal(sandboxRoute.status, 404, 'tenant mode never serves sandbox routes')

  server.child.kill('SIGTERM')
  t.equal((await server.exited).code, 0)
  t.notOk(server.output().includes(SECRET), 'the secret never reached the output')
})
