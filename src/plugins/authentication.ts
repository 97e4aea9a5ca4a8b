// Every route is authenticated unless its config says `public: true`. The same verifier checks
// Entra tokens (tenant mode) and the sandbox issuer's tokens (sandbox mode).
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Principal } from '../auth/principal.js'
import { createSandboxIssuer, type SandboxIssuer } from '../auth/sandbox-issuer.js'
import { errors as joseErrors, type JWTVerifyGetKey } from 'jose'
import { createTokenVerifier, entraIssuer, entraKeys, TokenRejectedError, type TokenVerifier } from '../auth/token-verifier.js'
import { ProblemError, unauthorized } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Present in sandbox mode only. */
    sandboxIssuer: SandboxIssuer | null
  }
  interface FastifyRequest {
    principal: Principal | null
    /** Why authentication failed; answered (401) once the anonymous rate limit has counted it. */
    authenticationFailure: ProblemError | null
  }
  interface FastifyContextConfig {
    /** No token needed (health, docs, sandbox token minting). */
    public?: boolean
  }
}

const REALM = 'Bearer realm="guestgate"'

export default fp(async function authentication(app: FastifyInstance) {
  const { config } = app
  let verifier: TokenVerifier
  let sandboxIssuer: SandboxIssuer | null = null
  if (config.mode === 'sandbox') {
    sandboxIssuer = await createSandboxIssuer({ tenantId: config.tenantId, audience: config.audiences[0]! })
    verifier = createTokenVerifier({
      issuer: sandboxIssuer.issuer, audiences: config.audiences, keys: sandboxIssuer.keys, clockSkewSeconds: config.clockSkewSeconds,
    })
  } else {
    verifier = createTokenVerifier({
      issuer: entraIssuer(config.authAuthority, config.tenantId),
      audiences: config.audiences,
      keys: loggingKeyFailures(entraKeys(config.authAuthority, config.tenantId), app.log, entraKeysUrl(config.authAuthority, config.tenantId)),
      clockSkewSeconds: config.clockSkewSeconds,
      tenantId: config.tenantId,
    })
  }
  app.decorate('sandboxIssuer', sandboxIssuer)
  app.decorateRequest('principal', null)
  app.decorateRequest('authenticationFailure', null)

  // The refusal waits one step: the route's rate limit (an onRequest hook of the route, so after
  // this one) counts failed attempts per address before the 401 is sent, and no body is parsed.
  // Callback hooks: a token verified before is found without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.is404 || request.routeOptions.config.public) return done()
    const header = request.headers.authorization
    // The usual header, "Bearer <token>" with a token verified before: found without parsing the
    // header (a cached token matched the token pattern when it was verified).
    const known = header !== undefined && header.startsWith('Bearer ') ? verifier.cached(header.slice(7)) : undefined
    if (known) {
      request.principal = known
      return done()
    }
    authenticate(verifier, header).then((principal) => {
      request.principal = principal
      done()
    }, (error: unknown) => {
      if (!(error instanceof ProblemError)) return done(error as Error)
      request.authenticationFailure = error
      done()
    })
  })
  app.addHook('preParsing', (request, _reply, _payload, done) => {
    done(request.authenticationFailure ?? undefined)
  })
}, { name: 'authentication', dependencies: ['config'] })

async function authenticate(verifier: TokenVerifier, header: string | undefined): Promise<Principal> {
  if (!header) throw unauthorized('A bearer access token is required', REALM)
  const token = bearerToken(header)
  if (token === undefined) {
    throw unauthorized('The Authorization header must be "Bearer <token>"', `${REALM}, error="invalid_request", error_description="Malformed Authorization header"`)
  }
  try {
    return await verifier.verify(token)
  } catch (error) {
    const description = error instanceof TokenRejectedError ? error.message : 'The token could not be validated'
    throw unauthorized(description, `${REALM}, error="invalid_token", error_description="${quotedStringContent(description)}"`)
  }
}

const bearerToken = (header: string) => /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i.exec(header)?.[1]

/** Text inside an HTTP quoted-string (RFC 9110 5.6.4): quotes and backslashes escaped. */
const quotedStringContent = (text: string) => text.replace(/["\\]/g, (c) => `\\${c}`)

const entraKeysUrl = (authority: string, tenantId: string) => `${authority}/${tenantId}/discovery/v2.0/keys`

/**
 * The tenant's signing keys, with fetch failures logged at error with their cause: callers only
 * see "the signing keys could not be fetched", the operator must see why. A token naming a key
 * the set does not have is the caller's problem, not a fetch failure.
 */
function loggingKeyFailures(keys: JWTVerifyGetKey, log: FastifyBaseLogger, url: string): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await keys(header, token)
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys || err instanceof joseErrors.JOSENotSupported)) {
        log.error({ err, jwksUrl: url }, 'the signing keys could not be fetched: tokens cannot be verified')
      }
      throw err
    }
  }
}
