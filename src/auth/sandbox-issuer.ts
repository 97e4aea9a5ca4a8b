// The sandbox's own token issuer: an RSA key made at start, its JWKS, and tokens shaped like
// Entra v2 access tokens. The service validates them with the same verifier as Entra tokens.
import { randomUUID } from 'node:crypto'
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'

export interface MintRequest {
  roles: string[]
  name?: string
  oid?: string
  /** tid claim; defaults to the sandbox tenant (tests use another to check tenant pinning). */
  tenantId?: string
  expiresInSeconds?: number
}

export interface SandboxIssuer {
  readonly issuer: string
  readonly audience: string
  readonly jwks: JSONWebKeySet
  readonly keys: JWTVerifyGetKey
  mint(request: MintRequest): Promise<{ accessToken: string; expiresIn: number; oid: string }>
}

const makeKeyPair = () => generateKeyPair('RS256', { extractable: true })
let preparedKeyPair: ReturnType<typeof makeKeyPair> | undefined

/**
 * Starts making the next issuer's key now: RSA key generation (0.1 to 0.5 CPU-s, by chance) runs
 * on libuv's thread pool, so the server starts it while the modules load and the database opens.
 */
export function prepareSandboxKey(): void {
  if (preparedKeyPair) return
  preparedKeyPair = makeKeyPair()
  // Its failure is createSandboxIssuer's to report, not an unhandled rejection meanwhile.
  preparedKeyPair.catch(() => {})
}

export async function createSandboxIssuer(options: { tenantId: string; audience: string }): Promise<SandboxIssuer> {
  // A prepared key serves one issuer only.
  const keyPair = preparedKeyPair ?? makeKeyPair()
  preparedKeyPair = undefined
  const { privateKey, publicKey } = await keyPair
  const kid = randomUUID()
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] }
  const issuer = `https://sandbox.guestgate.local/${options.tenantId}/v2.0`
  return {
    issuer,
    audience: options.audience,
    jwks,
    keys: createLocalJWKSet(jwks),
    async mint(request) {
      const expiresIn = request.expiresInSeconds ?? 3600
      const oid = request.oid ?? randomUUID()
      const name = request.name ?? 'Sandbox User'
      const accessToken = await new SignJWT({
        oid,
        tid: request.tenantId ?? options.tenantId,
        name,
        preferred_username: `${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@sandbox.onmicrosoft.com`,
        roles: request.roles,
        ver: '2.0',
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(options.audience)
        .setSubject(oid)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime(`${expiresIn}s`)
        .sign(privateKey)
      return { accessToken, expiresIn, oid }
    },
  }
}
