// One Prometheus registry for the whole app. Each concern registers its own instruments on it
// (HTTP, Graph calls, audit appends, reconciliation), so /metrics shows one consistent set.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Registry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry
  }
}

export interface MetricsPluginOptions {
  /** A registry to use instead of a new one (tests that read it directly). */
  registry?: Registry
}

export default fp(async function metrics(app: FastifyInstance, opts: MetricsPluginOptions) {
  app.decorate('metricsRegistry', opts.registry ?? new Registry())
}, { name: 'metrics' })
