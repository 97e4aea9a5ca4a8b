// Validates bearer access tokens the same way for Entra and for the sandbox issuer: RS256 only,
// issuer, audience, exp/nbf with a small skew, keys from a JWKS. Only the key source differs.
import {
  createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwksCache, jwtVerify,
  type ExportedJWKSCache, type JWKSCacheInput, type JWTPayload, type JWTVerifyGetKey,
} from 'jose'
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

/** The signing keys could not be had: the key endpoint answered an error or no usable key set,
 *  timed out or could not be reached. The identity provider's failure or ours, never the
 *  caller's: the token is neither accepted nor refused (a 503, not a 401). `cause` says why, for
 *  the log only. Never holds the token. */
export class SigningKeysUnavailableError extends Error {
  override readonly name = 'SigningKeysUnavailableError'
  constructor(options: { cause: unknown }) {
    super('The signing keys could not be fetched', options)
  }
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>
  /** The principal of a token verified before and not expired yet, without verifying it again. */
  cached(token: string): Principal | undefined
}

export interface EntraKeysOptions {
  /** Minimum time between two fetches for kids the set does not have, so forged kids cannot
   *  make us hammer the endpoint (jose's cooldownDuration). */
  cooldownMs?: number
  /** Keys fetched less than this long ago are used without asking the endpoint (cacheMaxAge). */
  cacheMaxAgeMs?: number
  /** While the endpoint fails, the keys last fetched keep verifying tokens of the kids they
   *  have until they are this old (counted from their fetch). */
  staleIfErrorMs?: number
  /** After a failed fetch, the endpoint is not asked again for this long when there are keys to
   *  answer from: tokens are verified with them (or are unavailable) without waiting for it. */
  retryAfterFailureMs?: number
  timeoutMs?: number
  /** Each failed fetch once, with its cause, when the keys fetched last were fetched (if ever)
   *  and whether they still verify tokens. Never given the token. */
  onFetchFailure?: (error: unknown, lastKeys: { fetchedAt: Date; usable: boolean } | undefined) => void
}

/**
 * Entra ID v2 keys of a tenant; jose refetches the set when it meets an unknown kid, or when the
 * set is older than cacheMaxAgeMs. A fetch that fails (non-200 answer, network error, timeout,
 * not a key set) is a SigningKeysUnavailableError; a kid the fetched set does not have is
 * jose's JWKSNoMatchingKey (the caller's problem).
 *
 * Stale keys during an outage: jose keeps the last good set, but only until cacheMaxAge; after
 * that every token waits for a fetch that fails. Here the last good set keeps verifying tokens
 * of the kids it has for staleIfErrorMs after its fetch (24 h: 12 h past cacheMaxAge), so an
 * outage of the endpoint, or of our way to it, does not take down callers whose tokens are
 * signed with a known key. It is bounded because a key Entra withdraws (an emergency rollover)
 * must stop being trusted even if whoever holds it can keep us from the endpoint. A kid the last
 * set does not have may be a new key: unavailable (503), not refused, while the endpoint fails.
 */
export function entraKeys(authority: string, tenantId: string, options: EntraKeysOptions = {}): JWTVerifyGetKey {
  const staleIfErrorMs = options.staleIfErrorMs ?? 24 * 60 * 60 * 1000
  const retryAfterFailureMs = options.retryAfterFailureMs ?? 30_000
  // jose writes the set it fetched last, and when (uat), here.
  const fetched: Partial<ExportedJWKSCache> = {}
  const remote = createRemoteJWKSet(new URL(entraKeysUrl(authority, tenantId)), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 12 * 60 * 60 * 1000,
    timeoutDuration: options.timeoutMs ?? 5_000,
    [jwksCache]: fetched as JWKSCacheInput,
  })
  /** The last failed fetch, and the keys' uat then (a fetch that succeeds since changes it). */
  let failure: { at: number; error: unknown; uat: number | undefined } | undefined
  let lastGood: { uat: number; keys: JWTVerifyGetKey } | undefined

  const usableLastKeys = (): JWTVerifyGetKey | undefined => {
    const { uat, jwks } = fetched
    if (uat === undefined || jwks === undefined || Date.now() >= uat + staleIfErrorMs) return undefined
    if (lastGood?.uat !== uat) lastGood = { uat, keys: createLocalJWKSet(jwks) }
    return lastGood.keys
  }

  const fromLastKeys: JWTVerifyGetKey = async (header, token) => {
    const cause = failure?.error
    const keys = usableLastKeys()
    if (!keys) throw new SigningKeysUnavailableError({ cause })
    try {
      return await keys(header, token)
    } catch (error) {
      // A kid the last keys do not have may be one the endpoint would have served.
      if (error instanceof joseErrors.JWKSNoMatchingKey) throw new SigningKeysUnavailableError({ cause })
      if (isCallersKeyError(error)) throw error
      throw new SigningKeysUnavailableError({ cause: error })
    }
  }

  return async (header, token) => {
    if (failure && failure.uat === fetched.uat && Date.now() < failure.at + retryAfterFailureMs && usableLastKeys()) {
      return fromLastKeys(header, token)
    }
    try {
      return await remote(header, token)
    } catch (error) {
      if (isCallersKeyError(error)) throw error
      // Requests that waited for the same fetch share its error: reported once.
      if (failure?.error !== error) {
        failure = { at: Date.now(), error, uat: fetched.uat }
        options.onFetchFailure?.(error, fetched.uat === undefined ? undefined : { fetchedAt: new Date(fetched.uat), usable: usableLastKeys() !== undefined })
      }
      return fromLastKeys(header, token)
    }
  }
}

export const entraKeysUrl = (authority: string, tenantId: string) => `${authority}/${tenantId}/discovery/v2.0/keys`

/** What a token names that no key of a (fetched) set answers: the caller's problem, a 401. */
const isCallersKeyError = (error: unknown) =>
  error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys || error instanceof joseErrors.JOSENotSupported

/** jose's own errors of a key set fetch (for a remote set given without entraKeys). */
const isKeyFetchError = (error: unknown) =>
  error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid ||
  // A plain JOSEError is thrown only by the fetch (a non-200 answer, a body that is not JSON).
  error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC'

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
        // The keys could not be had: the token was not checked, so it is not refused.
        if (error instanceof SigningKeysUnavailableError) throw error
        if (isKeyFetchError(error)) throw new SigningKeysUnavailableError({ cause: error })
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
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'The token is malformed'
  if (error instanceof joseErrors.JOSENotSupported) return 'The token uses an unsupported algorithm or key'
  return 'The token could not be validated'
}
