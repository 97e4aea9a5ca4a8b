// Validates bearer access tokens the same way for Entra and for the sandbox issuer: RS256 only,
// issuer, audience, exp/nbf with a small skew, keys from a JWKS. Only the key source differs.
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { GUID, isCleanText } from '../schemas/text.js'
import type { Principal } from './principal.js'

export interface TokenVerifierOptions {
  issuer: string
  audiences: string[]
  keys: JWTVerifyGetKey
  clockSkewSeconds: number
  /** The tenant the tokens must be issued in (tid). Entra's issuer names it too; a token whose
   *  tid disagrees is refused here. Unset for the sandbox issuer, which mints other tenants'
   *  tokens on purpose (to show the policy's tenant.mismatch). */
  tenantId?: string
  /** Verified tokens kept until they expire: RS256 verification is the hot path. */
  cacheSize?: number
}

/** Why a token was refused: becomes the WWW-Authenticate error_description. Never holds the token. */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError'
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>
  /** The principal of a token verified before and not expired yet, without verifying it again. */
  cached(token: string): Principal | undefined
}

/** Entra ID v2 keys of a tenant; jose refetches the set when it meets an unknown kid. */
export function entraKeys(authority: string, tenantId: string, options: { cooldownMs?: number } = {}): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(`${authority}/${tenantId}/discovery/v2.0/keys`), {
    // Minimum time between two fetches, so forged kids cannot make us hammer the endpoint.
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: 12 * 60 * 60 * 1000,
    timeoutDuration: 5_000,
  })
}

/** 32 base64url characters of an RS256 signature: 192 bits, unique per token in practice. */
const CACHE_KEY_CHARS = 32

export const entraIssuer = (authority: string, tenantId: string) => `${authority}/${tenantId}/v2.0`

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  // Looked up by the token's last characters (the end of its signature) and then compared whole:
  // a Map hashes its key in full, and hashing a whole token (about a kilobyte, a new string on
  // every request) cost several times the rest of the lookup. Two cached tokens that end alike
  // only take each other's place.
  const cache = new Map<string, { token: string; principal: Principal; exp: number }>()
  const cacheSize = options.cacheSize ?? 10_000

  function cached(token: string): Principal | undefined {
    const entry = cache.get(token.slice(-CACHE_KEY_CHARS))
    return entry && entry.token === token && entry.exp + options.clockSkewSeconds > Date.now() / 1000 ? entry.principal : undefined
  }

  return {
    cached,
    async verify(token) {
      const known = cached(token)
      if (known) return known

      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(token, options.keys, {
          issuer: options.issuer,
          audience: options.audiences,
          algorithms: ['RS256'],
          clockTolerance: options.clockSkewSeconds,
          requiredClaims: ['exp', 'iat', 'tid', 'oid'],
        }))
      } catch (error) {
        throw new TokenRejectedError(describeJoseError(error))
      }
      const principal = principalFrom(payload)
      if (options.tenantId !== undefined && principal.tenantId !== options.tenantId.toLowerCase()) {
        throw new TokenRejectedError('The token was issued for another tenant')
      }
      if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!)
      cache.set(token.slice(-CACHE_KEY_CHARS), { token, principal, exp: payload.exp! })
      return principal
    },
  }
}

/** Claims that reach audit rows and policy decisions: checked here, so a token whose claims
 *  could not be recorded faithfully is refused (401) instead of failing later. */
const MAX_NAME_LENGTH = 256
const MAX_ROLES = 200
const MAX_ROLE_LENGTH = 256

function principalFrom(payload: JWTPayload): Principal {
  const objectId = (claim: 'oid' | 'tid') => {
    const value = payload[claim]
    if (typeof value !== 'string' || !GUID.test(value)) throw new TokenRejectedError(`The token claim ${claim} is missing or not an object id (GUID)`)
    return value.toLowerCase()
  }
  const text = (claim: 'name' | 'preferred_username') => {
    const value = payload[claim]
    if (value === undefined) return undefined
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH || !isCleanText(value)) {
      throw new TokenRejectedError(`The token claim ${claim} must be text of 1 to ${MAX_NAME_LENGTH} characters without control characters`)
    }
    return value
  }
  const oid = objectId('oid')
  const tenantId = objectId('tid')
  const roles = payload.roles ?? []
  if (!Array.isArray(roles) || roles.length > MAX_ROLES ||
    !roles.every((r) => typeof r === 'string' && r.length > 0 && r.length <= MAX_ROLE_LENGTH && isCleanText(r))) {
    throw new TokenRejectedError(`The token claim roles must be a list of at most ${MAX_ROLES} role names`)
  }
  return { oid, name: text('name') ?? text('preferred_username') ?? oid, tenantId, roles: [...new Set(roles as string[])] }
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token is expired'
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'The token is not yet valid'
    if (error.claim === 'iss') return 'The token issuer is not accepted'
    if (error.claim === 'aud') return 'The token audience is not accepted'
    return `The token claim ${error.claim} is missing or invalid`
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The token signing algorithm is not accepted (RS256 only)'
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is invalid'
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The token was signed with an unknown key'
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JOSEError && error.code === 'ERR_JWKS_INVALID') {
    return 'The signing keys could not be fetched'
  }
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'The token is malformed'
  if (error instanceof joseErrors.JOSENotSupported) return 'The token uses an unsupported algorithm or key'
  return 'The token could not be validated'
}
