// Cross-origin access for browser portals, from the origins in GUESTGATE_CORS_ORIGINS only
// (none by default: then no CORS header is ever sent). Preflights are answered before
// authentication, as browsers send them without credentials.
import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** Response headers a browser script may read: every one the OpenAPI document names on some answer
 *  (test/openapi/response-headers.test.ts keeps the two the same), the CORS-safelisted ones aside. */
export const EXPOSED_HEADERS = ['Location', 'Content-Disposition', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset',
  'x-request-id', 'x-client-request-id', 'Idempotent-Replayed']
/** Request headers a browser script may send. */
export const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'x-request-id']

export default fp(async function corsPlugin(app: FastifyInstance) {
  const origins = app.config.corsOrigins
  if (origins.length === 0) return
  await app.register(cors, {
    origin: origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    // Tokens travel in the Authorization header, never in cookies.
    credentials: false,
    maxAge: 600,
  })
}, { name: 'cors', dependencies: ['config'] })
