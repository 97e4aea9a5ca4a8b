// Builds the Graph gateway (the SDK over a credential; in sandbox mode the embedded Graph
// simulator) and hands it to the audited runner only. The gateway itself is not decorated.
import type { FastifyInstance } from 'fastify'
import path from 'node:path'
import fp from 'fastify-plugin'
import { createGraphCredential, describeCredential, graphCredentialSettingsFromEnv, type GraphCredentialSettings } from '../graph/graph-credential.js'
import type { GraphGateway } from '../graph/graph-gateway.js'
import { createMsGraphGateway } from '../graph/ms-graph-gateway.js'
import { createGraphMetrics } from '../graph/graph-metrics.js'
import { buildGraphSimulator } from '../graph/simulator/graph-simulator.js'
import { poolOf } from '../db/prisma-client.js'
import { createAuditedGraph, type AuditedGraph } from '../operations/audited-graph.js'
import { GraphBudget } from '../operations/graph-budget.js'
import type { EventType } from './events.js'

/** Writes that give or take access, as events. */
const ACCESS_EVENTS: Record<string, EventType> = {
  'groupMembership.addMember': 'guest.access.granted',
  'appRoleAssignment.assign': 'guest.access.granted',
  'groupMembership.removeMember': 'guest.access.removed',
  'appRoleAssignment.unassign': 'guest.access.removed',
  'guest.delete': 'guest.access.removed',
  // A guest that cannot sign in has no access left to use.
  'guest.blockSignIn': 'guest.access.removed',
}

declare module 'fastify' {
  interface FastifyInstance {
    graphBudget: GraphBudget
    graphOps: AuditedGraph
  }
}

export interface GraphPluginOptions {
  /** A gateway to use instead of the SDK one (unit tests of one piece only). */
  graph?: GraphGateway
}

export default fp(async function graph(app: FastifyInstance, opts: GraphPluginOptions) {
  const { config } = app
  // Every Graph write of this tenant, single or bulk, in any replica, draws on one budget.
  const budget = new GraphBudget({
    prisma: app.prisma,
    buckets: {
      writes: { ratePerSecond: config.budget.writesPerSecond, burst: config.budget.writeBurst },
      invitations: { ratePerSecond: config.budget.invitationsPerMinute / 60, burst: config.budget.invitationBurst },
    },
  })
  app.decorate('graphBudget', budget)
  const onThrottled = (retryAfterMs: number): Promise<void> => {
    return budget.throttled(config.tenantId, retryAfterMs / 1000).catch((err: unknown) => app.log.warn({ err }, 'the Graph write budget could not be slowed down'))
  }

  const graphMetrics = createGraphMetrics(app.metricsRegistry)
  let gateway = opts.graph
  if (!gateway) {
    let baseUrl = config.graphBaseUrl
    if (!baseUrl) {
      // The sandbox directory survives restarts, as the audit log in the same folder does.
      const simulator = await buildGraphSimulator({ logger: false, stateFile: path.join(config.dataDir, 'graph-simulator.json') })
      await simulator.listen({ host: '127.0.0.1', port: config.graphSimulatorPort })
      app.addHook('onClose', () => simulator.close())
      const address = simulator.server.address()
      const port = typeof address === 'object' && address ? address.port : config.graphSimulatorPort
      baseUrl = `http://127.0.0.1:${port}/v1.0`
      app.log.warn({ graph: baseUrl }, 'using the embedded Graph simulator: no real directory is touched')
    }
    const settings: GraphCredentialSettings = config.mode === 'sandbox'
      ? { kind: 'static', token: 'sandbox-graph-token' }
      : graphCredentialSettingsFromEnv(config.env)
    app.log.info({ graph: baseUrl, credential: describeCredential(settings) }, 'Microsoft Graph client ready')
    gateway = createMsGraphGateway({
      baseUrl,
      credential: await createGraphCredential(settings),
      retry: { maxRetries: config.graphMaxRetries, maxDelayMs: config.graphMaxRetryDelayMs, baseDelayMs: config.graphRetryBaseDelayMs },
      timeoutMs: config.graphTimeoutMs,
      onRetry: (info) => {
        app.log.warn(info, 'Graph asked us to wait; retrying')
        graphMetrics.retried(info)
      },
      // Graph is throttling this app in this tenant: every write here slows down, not just this
      // one, for Graph's Retry-After (a second when it sent none), retried or not.
      onThrottled: (info) => onThrottled(info.retryAfterMs ?? 1000),
    })
  }
  const graphOps = createAuditedGraph({
    graph: graphMetrics.instrument(gateway),
    audit: app.audit,
    pool: poolOf(app.prisma),
    log: app.log,
    // An exclusive write waits at most for another one's Graph call and its settling read.
    lockWaitMs: 2 * config.graphTimeoutMs + config.databaseQueryTimeoutMs,
    budget: { take: (tenantId, kinds, maxWaitMs) => budget.take(tenantId, kinds, maxWaitMs), defaultWaitMs: config.budget.maxWaitMs },
    // Access that changed is an event (webhooks); an unchanged write (already so) is not.
    onApplied: ({ action, params, target, operationId, changed }) => {
      const type = ACCESS_EVENTS[action]
      if (type && changed) app.events.publish({ type, operationId, data: { action, guestId: target.id ?? null, ...(params as Record<string, unknown>) } })
    },
  })
  app.decorate('graphOps', graphOps)
  // Writes that timed out are being settled by reading Graph: let them finish.
  app.addHook('onClose', () => graphOps.drain())
}, { name: 'graph', dependencies: ['config', 'database', 'audit', 'events', 'metrics'] })
