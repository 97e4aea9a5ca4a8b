// Per-caller request limits (@fastify/rate-limit). A caller with a valid token is counted by
// tenant and object id on every authenticated route, whatever address it comes from; requests
// without a valid token (public routes, refused tokens) are counted by address. Routes may set a
// tighter limit of their own in config.rateLimit (the what-if does). Counters live in memory, per
// process, unless REDIS_URL is set: then every replica shares them.
// Over the limit: 429 problem+json (code rate_limited) with Retry-After and the RateLimit-*
// headers of the IETF draft; every answer under the limit carries the RateLimit-* headers too.
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { Principal } from '../auth/principal.js'
import { ProblemError } from '../errors.js'

// The verified-token cache hands out the same principal object for every request with that token:
// its key is built once, and the store's Map hashes that string once, not a new one per request.
const principalKeys = new WeakMap<Principal, string>()

/** The caller a request is counted against. Exported for tests. */
export function rateLimitKey(request: FastifyRequest): string {
  const principal = request.principal
  if (!principal) return `address:${normalizeIP(request.ip)}`
  let key = principalKeys.get(principal)
  if (key === undefined) principalKeys.set(principal, key = `principal:${principal.tenantId}:${principal.oid}`)
  return key
}

export default fp(async function rateLimiting(app: FastifyInstance) {
  const limits = app.config.rateLimit
  const rejections = app.metrics.rateLimitRejections

  const redis = limits.redisUrl ? await connectRedis(app, limits.redisUrl) : undefined

  await app.register(rateLimit, {
    global: true,
    // A route-level onRequest hook: it runs after authentication's, so the principal is known.
    hook: 'onRequest',
    timeWindow: limits.windowMs,
    max: (request) => (request.principal ? limits.max : limits.anonymousMax),
    keyGenerator: rateLimitKey,
    enableDraftSpec: true,
    ...(redis ? { redis, nameSpace: limits.redisPrefix } : {}),
    // A store that cannot be reached lets requests through (and says so in the log): the limits
    // protect the service, they are not a reason to stop serving it.
    skipOnError: true,
    onExceeded: (request) => {
      rejections.inc({ route: request.routeOptions.url ?? 'unknown', caller: request.principal ? 'principal' : 'anonymous' })
    },
    errorResponseBuilder: (request, context) => new ProblemError(429, 'rate_limited', 'Too many requests',
      `${request.principal ? 'This caller' : 'This address'} made more than ${context.max} requests in ${limits.windowMs / 1000} s${request.routeOptions.config.rateLimit ? ' to this operation' : ''}. Retry in ${context.after}.`,
      { retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)) }),
  })
}, { name: 'rate-limit', dependencies: ['config', 'metrics', 'authentication', 'errors'] })

/** Connects before the first request; an unreachable Redis is logged, not fatal (see skipOnError). */
async function connectRedis(app: FastifyInstance, url: string): Promise<Redis> {
  // Loaded only when configured: most deployments count in memory.
  const { Redis } = await import('ioredis')
  // No offline queue: while Redis is away a request does not wait for it, it is let through.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: true })
  let reachable = true
  redis.on('error', (err) => {
    if (reachable) app.log.error({ err: { message: err.message } }, 'rate limit store (Redis) unreachable: limits are not enforced until it is back')
    reachable = false
  })
  redis.on('ready', () => {
    if (!reachable) app.log.warn('rate limit store (Redis) reachable again')
    reachable = true
  })
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect())
  })
  await redis.connect().catch(() => { /* logged by the error listener; ioredis keeps reconnecting */ })
  return redis
}
