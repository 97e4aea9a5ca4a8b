// Every route is authenticated unless its config says `public: true`. The same verifier checks
// Entra tokens (tenant mode) and the sandbox issuer's tokens (sandbox mode).
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Principal } from '../auth/principal.js'
import { createSandboxIssuer, type SandboxIssuer } from '../auth/sandbox-issuer.js'
import {
  createTokenVerifier, entraIssuer, entraKeys, entraKeysUrl, SigningKeysUnavailableError, TokenRejectedError, type TokenVerifier,
} from '../auth/token-verifier.js'
import { ProblemError, unauthorized } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Present in sandbox mode only. */
    sandboxIssuer: SandboxIssuer | null
  }
  interface FastifyRequest {
    principal: Principal | null
    /** Why authentication failed; answered (401) once the anonymous rate limit has counted it.
     *  A token that could not be checked (503) is answered at once instead. */
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
    const jwksUrl = entraKeysUrl(config.authAuthority, config.tenantId)
    verifier = createTokenVerifier({
      issuer: entraIssuer(config.authAuthority, config.tenantId),
      audiences: config.audiences,
      // Each failed fetch is logged with its cause: callers only see "the signing keys could not
      // be fetched", the operator must see why. A token naming a key the set does not have is
      // the caller's problem, not a fetch failure, and is not logged here.
      keys: entraKeys(config.authAuthority, config.tenantId, {
        onFetchFailure: (err, lastKeys) => {
          if (lastKeys?.usable) {
            app.log.warn({ err, jwksUrl, keysFetchedAt: lastKeys.fetchedAt.toISOString() },
              'the signing keys could not be fetched: tokens are verified with the keys fetched before until they are back')
          } else {
            app.log.error({ err, jwksUrl, keysFetchedAt: lastKeys?.fetchedAt.toISOString() }, 'the signing keys could not be fetched: tokens cannot be verified')
          }
        },
      }),
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
      // A token that could not be checked (503) is not the caller's failed attempt: answered now,
      // before the route's rate limit would count it against the address.
      if (!(error instanceof ProblemError) || error.status >= 500) return done(error as Error)
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
    if (error instanceof SigningKeysUnavailableError) throw signingKeysUnavailable()
    const description = error instanceof TokenRejectedError ? error.message : 'The token could not be validated'
    throw unauthorized(description, `${REALM}, error="invalid_token", error_description="${quotedStringContent(description)}"`)
  }
}

const bearerToken = (header: string) => /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i.exec(header)?.[1]

/** Text inside an HTTP quoted-string (RFC 9110 5.6.4): quotes and backslashes escaped. */
const quotedStringContent = (text: string) => text.replace(/["\\]/g, (c) => `\\${c}`)

/** The identity provider's keys could not be fetched: the token was neither accepted nor
 *  refused, so it is not a 401 (a client would throw a good token away and sign in again). No
 *  WWW-Authenticate: there is nothing the caller should do but retry.
 *  Without the fetch error as its cause: that is logged with the key set's URL when the fetch
 *  fails (onFetchFailure), and a connection error (ECONNREFUSED...) among the causes of a
 *  request's error is taken for the database's by the database plugin's onError hook. */
function signingKeysUnavailable(): ProblemError {
  return new ProblemError(503, 'token_keys_unavailable', 'Service unavailable',
    "The identity provider's signing keys could not be fetched, so the token could not be checked (it was not refused). Retry later.",
    { retryAfterSeconds: RETRY_AFTER_SECONDS }, { 'retry-after': String(RETRY_AFTER_SECONDS) })
}

const RETRY_AFTER_SECONDS = 5
