// Runs the reconciler at start and then on an interval; its passes are visible to Audit.Read
// (GET /v1/audit/reconciliation) and in /readyz.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge } from 'prom-client'
import { poolOf } from '../db/prisma-client.js'
import { Reconciler } from '../operations/reconciler.js'
import { pruneIdempotencyKeys } from './idempotency.js'

declare module 'fastify' {
  interface FastifyInstance {
    reconciler: Reconciler
  }
}

export default fp(async function reconciler(app: FastifyInstance) {
  const { config } = app
  const instance = new Reconciler({
    prisma: app.prisma,
    pool: poolOf(app.prisma),
    audit: app.audit,
    graphOps: app.graphOps,
    afterSeconds: config.reconcile.afterSeconds,
    singleConnection: !config.databaseUrl,
    log: app.log,
    maintenance: () => pruneIdempotencyKeys(app.prisma),
  })
  app.decorate('reconciler', instance)

  const settled = new Counter({
    name: 'guestgate_reconciler_settled_total',
    help: 'Audit intents the reconciler settled by reading Graph, by what Graph showed',
    labelNames: ['effect'],
    registers: [app.metricsRegistry],
  })
  instance.on('run', (run) => {
    for (const effect of ['present', 'absent', 'unknown', 'unreadable'] as const) if (run[effect] > 0) settled.inc({ effect }, run[effect])
  })
  new Gauge({
    name: 'guestgate_audit_unsettled_intents',
    help: 'Audit intents with no outcome yet (in flight, or waiting for the reconciler)',
    registers: [app.metricsRegistry],
    async collect () {
      this.set(await instance.unsettledCount().catch(() => Number.NaN))
    },
  })

  let timer: NodeJS.Timeout | undefined
  let closing = false
  const schedule = (delayMs: number) => {
    if (closing) return
    timer = setTimeout(() => {
      instance.runOnce()
        .catch((err: unknown) => app.log.error({ err }, 'reconciler pass failed'))
        .finally(() => schedule(config.reconcile.intervalSeconds * 1000))
    }, delayMs)
    timer.unref()
  }
  // At start (once the app is up, without delaying it), then on the interval.
  app.addHook('onReady', async () => { schedule(0) })
  app.addHook('onClose', async () => {
    closing = true
    clearTimeout(timer)
    await instance.idle()
  })
}, { name: 'reconciler', dependencies: ['config', 'database', 'audit', 'graph', 'metrics'] })
