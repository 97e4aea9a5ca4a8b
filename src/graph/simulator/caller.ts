// Who calls the simulator, read from the bearer token without verifying it (the sandbox accepts
// any token): the application id for per-app limits, and whether the token is app-only.
// Access token claims: https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
// (appid in v1 tokens, azp in v2; delegated tokens carry the user's scopes in scp).

export interface Caller {
  /** The calling application's id; 'unknown' for a token that is not a JWT. */
  appId: string
  /** No signed-in user: Graph treats the call as the application's own. */
  appOnly: boolean
}

export function callerOf(authorization: string | undefined): Caller {
  const payload = authorization?.replace(/^Bearer\s+/i, '').split('.')[1]
  let claims: Record<string, unknown> = {}
  try {
    const parsed: unknown = payload ? JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) : {}
    if (typeof parsed === 'object' && parsed !== null) claims = parsed as Record<string, unknown>
  } catch {
    // not a JWT: an opaque sandbox token
  }
  const appId = typeof claims.appid === 'string' ? claims.appid : typeof claims.azp === 'string' ? claims.azp : 'unknown'
  return { appId, appOnly: typeof claims.scp !== 'string' }
}
