// The whole service as one Fastify plugin: the server and the tests register it the same way.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AppConfig } from './config.js'
import type { EmbeddedPostgres } from './db/embedded-postgres.js'
import type { GraphGateway } from './graph/graph-gateway.js'
import auditPlugin from './plugins/audit.js'
import bulkPlugin from './plugins/bulk.js'
import authenticationPlugin from './plugins/authentication.js'
import authorizationPlugin from './plugins/authorization.js'
import configPlugin from './plugins/config.js'
import corsPlugin from './plugins/cors.js'
import databasePlugin from './plugins/database.js'
import directoryCachePlugin from './plugins/directory-cache.js'
import dryRunPlugin from './plugins/dry-run.js'
import errorsPlugin from './plugins/errors.js'
import expiryPlugin, { type ExpiryPluginOptions } from './plugins/expiry.js'
import eventsPlugin from './plugins/events.js'
import graphPlugin from './plugins/graph.js'
import helmetPlugin from './plugins/helmet.js'
import idempotencyPlugin from './plugins/idempotency.js'
import metricsPlugin from './plugins/metrics.js'
import queuePlugin from './plugins/queue.js'
import rateLimitPlugin from './plugins/rate-limit.js'
import reconcilerPlugin from './plugins/reconciler.js'
import requestIdPlugin from './plugins/request-id.js'
import swaggerPlugin from './plugins/swagger.js'
import webhooksPlugin from './plugins/webhooks.js'
import { createValidatorCompiler } from './validation.js'
import appRoutes from './routes/apps/index.js'
import auditRoutes from './routes/audit/index.js'
import authorizationRoutes from './routes/authorization/index.js'
import bulkRoutes from './routes/bulk/index.js'
import groupRoutes from './routes/groups/index.js'
import guestRoutes from './routes/guests/index.js'
import healthRoutes from './routes/health/index.js'
import invitationRoutes from './routes/invitations/index.js'
import lifecycleRoutes from './routes/lifecycle/index.js'
import metricsRoutes from './routes/metrics/index.js'
import reportRoutes from './routes/reports/index.js'
import sandboxRoutes from './routes/sandbox/index.js'
import webhookRoutes from './routes/webhooks/index.js'

export interface AppOptions {
  config: AppConfig
  /** Replace the SDK gateway (unit tests of one piece only). */
  graph?: GraphGateway
  reloadPolicyOnSighup?: boolean
  /** Sandbox: embedded Postgres the server already started and migrated (under its own timeout). */
  embeddedDatabase?: EmbeddedPostgres
  /** Export the process's CPU, memory, event loop and GC metrics too (the server does). */
  processMetrics?: boolean
  /** The expiry scheduler's options (tests give it a clock they move). */
  expiry?: ExpiryPluginOptions
}

async function guestgate(app: FastifyInstance, opts: AppOptions) {
  app.setValidatorCompiler(createValidatorCompiler())
  await app.register(configPlugin, { config: opts.config })
  await app.register(metricsPlugin, { processMetrics: opts.processMetrics })
  await app.register(requestIdPlugin)
  // Before authentication: preflights carry no token.
  await app.register(corsPlugin)
  await app.register(errorsPlugin)
  await app.register(eventsPlugin)
  await app.register(helmetPlugin)
  await app.register(databasePlugin, { embedded: opts.embeddedDatabase })
  await app.register(auditPlugin)
  await app.register(queuePlugin)
  await app.register(graphPlugin, { graph: opts.graph })
  await app.register(authenticationPlugin)
  // Before any route (docs included): it adds its hook to each route as the route is added.
  await app.register(rateLimitPlugin)
  await app.register(swaggerPlugin)
  await app.register(dryRunPlugin)
  await app.register(authorizationPlugin, { reloadOnSighup: opts.reloadPolicyOnSighup })
  await app.register(directoryCachePlugin)
  await app.register(idempotencyPlugin)
  await app.register(reconcilerPlugin)
  await app.register(bulkPlugin)
  await app.register(expiryPlugin, opts.expiry ?? {})
  await app.register(webhooksPlugin)

  await app.register(healthRoutes)
  await app.register(metricsRoutes)
  await app.register(invitationRoutes, { prefix: '/v1/invitations' })
  await app.register(bulkRoutes, { prefix: '/v1/bulk' })
  await app.register(guestRoutes, { prefix: '/v1/guests' })
  await app.register(lifecycleRoutes, { prefix: '/v1/guests' })
  await app.register(groupRoutes, { prefix: '/v1/groups' })
  await app.register(appRoutes, { prefix: '/v1/apps' })
  await app.register(authorizationRoutes, { prefix: '/v1' })
  await app.register(auditRoutes, { prefix: '/v1/audit' })
  await app.register(reportRoutes, { prefix: '/v1/reports' })
  await app.register(webhookRoutes, { prefix: '/v1/webhooks' })
  if (opts.config.mode === 'sandbox') await app.register(sandboxRoutes, { prefix: '/v1/sandbox' })
}

/** Not encapsulated: the app's decorators (config, audit, policies) are visible to whoever
 *  registers it, which the tests use. */
export const buildApp = fp(guestgate, { name: 'guestgate' })
export default buildApp
