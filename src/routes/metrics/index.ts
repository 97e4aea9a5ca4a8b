// GET /metrics in Prometheus's text format, for the operators' scraper, not for API clients:
// left out of the OpenAPI document. Open, or with GUESTGATE_METRICS_TOKEN a bearer token
// compared in constant time (Prometheus: `authorization: { credentials: ... }`).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { unauthorized } from '../../errors.js'

const digest = (value: string) => createHash('sha256').update(value).digest()

export default async function metricsRoutes(app: FastifyInstance) {
  const expected = app.config.metricsToken === undefined ? undefined : digest(app.config.metricsToken)
  if (!expected && app.config.mode === 'tenant') {
    app.log.warn('GET /metrics is open to whoever reaches the port: set GUESTGATE_METRICS_TOKEN, or keep the port private')
  }

  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    if (expected) {
      const given = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1]
      if (!given || !timingSafeEqual(digest(given), expected)) {
        throw unauthorized('GET /metrics needs the bearer token set in GUESTGATE_METRICS_TOKEN', 'Bearer realm="guestgate-metrics"')
      }
    }
    return reply.type(app.metricsRegistry.contentType).send(await app.metricsRegistry.metrics())
  })
}
