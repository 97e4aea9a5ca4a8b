// One Prometheus registry for the whole app. Each concern registers its own instruments on it
// (HTTP here, Graph calls, audit appends, reconciliation elsewhere), so /metrics shows one
// consistent set. This plugin owns the HTTP request histogram, the policy version and the
// rate-limit rejection counter that the rate limiter increments.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export interface GuestgateMetrics {
  /** Requests refused by the rate limiter; `route` is the route template (e.g. /v1/guests/:id). */
  rateLimitRejections: Counter<'route' | 'caller'>
}

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry
    metrics: GuestgateMetrics
  }
}

export interface MetricsPluginOptions {
  /** A registry to use instead of a new one (tests that read it directly). */
  registry?: Registry
  /** Also export the process's own metrics (CPU, memory, event loop, GC): the server turns this on. */
  processMetrics?: boolean
}

/** Seconds; from a cached read to a Graph write that waited out a Retry-After. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** Label of requests that matched no route (404s), so that scanners cannot grow the label set. */
export const UNMATCHED_ROUTE = '__unmatched__'

export default fp(async function metrics(app: FastifyInstance, opts: MetricsPluginOptions) {
  const registry = opts.registry ?? new Registry()
  if (opts.processMetrics) collectDefaultMetrics({ register: registry })

  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code, with their durations',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  // One observation per request, nothing on the way in (reply.elapsedTime is measured by Fastify
  // anyway), and a callback hook: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    requests.observe({ method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status_code: reply.statusCode }, reply.elapsedTime / 1000)
    done()
  })

  const rateLimitRejections = new Counter({
    name: 'guestgate_rate_limit_rejections_total',
    help: 'Requests refused by the rate limiter (429), by route template and kind of caller (principal or anonymous)',
    labelNames: ['route', 'caller'] as const,
    registers: [registry],
  })

  new Gauge({
    name: 'guestgate_policy_info',
    help: 'The policy in force: its version as a label, value 1',
    labelNames: ['version'] as const,
    registers: [registry],
    collect() {
      this.reset()
      if (app.hasDecorator('policies')) this.set({ version: app.policies.current().version }, 1)
    },
  })
  const reloads = new Counter({
    name: 'guestgate_policy_reloads_total',
    help: 'Policy file reloads (SIGHUP) by result: applied (ok) or refused, keeping the running policy (failed)',
    labelNames: ['result'] as const,
    registers: [registry],
  })
  app.addHook('onReady', async () => {
    if (app.hasDecorator('policies')) app.policies.on('reload', (result) => reloads.inc({ result: result.ok ? 'ok' : 'failed' }))
  })

  app.decorate('metricsRegistry', registry)
  app.decorate('metrics', { rateLimitRejections })
}, { name: 'metrics' })
