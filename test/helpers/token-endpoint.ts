// A stand-in for the Entra token endpoint (login.microsoftonline.com) over real HTTPS on
// loopback, so @azure/identity's real ClientSecretCredential gets app-only tokens without
// leaving the machine: OpenID metadata at Entra's path, the client-credentials grant with
// Entra's error for a wrong secret. Its certificate is test/fixtures/tls/loopback-cert.pem:
// trust it with `tlsOptions: { ca }` in-process, or NODE_EXTRA_CA_CERTS for a child process.
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '../helper.js'
import { repoFile } from './repo.js'

export const LOOPBACK_CA_FILE = repoFile('test/fixtures/tls/loopback-cert.pem')
export const LOOPBACK_CA = readFileSync(LOOPBACK_CA_FILE, 'utf8')
const LOOPBACK_KEY = readFileSync(repoFile('test/fixtures/tls/loopback-key.pem'), 'utf8')

export interface TokenEndpoint {
  /** https://127.0.0.1:PORT: what AZURE_AUTHORITY_HOST gets. */
  authorityHost: string
  /** Token requests received, with whether their client secret was the right one. */
  readonly grants: Array<{ clientId: string; scope: string; secretMatched: boolean }>
}

export interface TokenEndpointOptions {
  tenantId: string
  clientId: string
  clientSecret: string
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

export async function startTokenEndpoint(t: Teardown, options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const grants: TokenEndpoint['grants'] = []
  let authorityHost = ''
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', authorityHost)
    const tenantPath = `/${options.tenantId}`
    const json = (status: number, body: object) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (req.method === 'GET' && url.pathname === `${tenantPath}/v2.0/.well-known/openid-configuration`) {
      return json(200, {
        issuer: `${authorityHost}${tenantPath}/v2.0`,
        token_endpoint: `${authorityHost}${tenantPath}/oauth2/v2.0/token`,
        authorization_endpoint: `${authorityHost}${tenantPath}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${authorityHost}${tenantPath}/oauth2/v2.0/logout`,
        jwks_uri: `${authorityHost}${tenantPath}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'token'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
      })
    }
    if (req.method === 'POST' && url.pathname === `${tenantPath}/oauth2/v2.0/token`) {
      let body = ''
      for await (const chunk of req) body += chunk
      const form = new URLSearchParams(body)
      const clientId = form.get('client_id') ?? ''
      const secretMatched = clientId === options.clientId && form.get('client_secret') === options.clientSecret
      grants.push({ clientId, scope: form.get('scope') ?? '', secretMatched })
      if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: unsupported grant type.' })
      if (!secretMatched) {
        return json(401, { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`, error_codes: [7000215] })
      }
      const now = Math.floor(Date.now() / 1000)
      // Shaped like an app-only Graph token (v1: appid, roles, no scp); nobody checks its signature here.
      const accessToken = `${b64({ typ: 'JWT', alg: 'none' })}.${b64({ aud: 'https://graph.microsoft.com', iss: `https://sts.windows.net/${options.tenantId}/`, tid: options.tenantId, appid: clientId, idtyp: 'app', iat: now, nbf: now, exp: now + 3600 })}.`
      return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken })
    }
    json(404, { error: 'not_found' })
  }
  // node:https does not wait for a handler's promise: it answers through res.
  const server = createServer({ key: LOOPBACK_KEY, cert: LOOPBACK_CA }, (req, res) => { void handle(req, res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => {
    server.closeAllConnections()
    server.close(resolve)
  }))
  authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { authorityHost, grants }
}
