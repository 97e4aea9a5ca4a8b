import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Histogram } from 'prom-client'
import { createAuditStore } from '../audit/audit-store.js'
import type { AuditStore } from '../audit/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditStore
  }
}

export default fp(async function audit(app: FastifyInstance) {
  const appendSeconds = new Histogram({
    name: 'guestgate_audit_append_seconds',
    help: 'Time from an audit append to its commit (group commit: the batch the row was in)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [app.metricsRegistry],
  })
  app.decorate('audit', createAuditStore(app.prisma, { onAppend: (seconds) => appendSeconds.observe(seconds) }))
}, { name: 'audit', dependencies: ['database', 'metrics'] })
