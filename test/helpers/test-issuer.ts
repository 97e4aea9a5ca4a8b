// A stand-in for login.microsoftonline.com: serves a tenant's JWKS over real HTTP at Entra's
// path and signs tokens shaped like Entra v2 access tokens. Keys can be rotated.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import type { Teardown } from '../helper.js'

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
export interface SigningKey { kid: string; privateKey: PrivateKey; jwk: JWK }

export async function newSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

export interface TestIssuer {
  authority: string
  tenantId: string
  issuer: string
  keys: SigningKey[]
  jwksFetches: number
  sign(claims: Record<string, unknown>, options?: { key?: SigningKey; issuer?: string; audience?: string; expiresIn?: number; notBefore?: number }): Promise<string>
}

export async function startTestIssuer(t: Teardown, tenantId: string, audience: string): Promise<TestIssuer> {
  const state = { keys: [await newSigningKey('key-1')], fetches: 0 }
  const server: Server = createServer((req, res) => {
    if (req.url === `/${tenantId}/discovery/v2.0/keys`) {
      state.fetches++
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }))
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const authority = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const issuer = `${authority}/${tenantId}/v2.0`
  return {
    authority,
    tenantId,
    issuer,
    get keys() { return state.keys },
    set keys(keys) { state.keys = keys },
    get jwksFetches() { return state.fetches },
    async sign(claims, options = {}) {
      const key = options.key ?? state.keys[0]!
      const now = Math.floor(Date.now() / 1000)
      return new SignJWT({ tid: tenantId, oid: '7d2a5e4c-1f0b-4a51-9a0e-3c1b2d4e5f60', name: 'Test Caller', roles: [], ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? audience)
        .setIssuedAt(now - 10)
        .setNotBefore(options.notBefore ?? now - 10)
        .setExpirationTime(now + (options.expiresIn ?? 3600))
        .sign(key.privateKey)
    },
  }
}

/** The environment of a tenant-mode app whose tokens come from `issuer` (its JWKS over HTTP). */
export function tenantModeEnv(issuer: TestIssuer, audience: string): Record<string, string> {
  const appId = 'b0000000-0000-4000-8000-000000000004'
  return {
    GUESTGATE_TENANT_ID: issuer.tenantId,
    AZURE_TENANT_ID: issuer.tenantId,
    GUESTGATE_API_AUDIENCE: audience,
    GUESTGATE_APP_ID: appId,
    GUESTGATE_POLICY_FILE: 'config/policy.sandbox.yaml',
    GUESTGATE_AUTH_AUTHORITY: issuer.authority,
    GUESTGATE_CLOCK_SKEW_SECONDS: '30',
    AZURE_CLIENT_ID: appId,
    AZURE_CLIENT_SECRET: 'not-used-in-this-test',
  }
}
