import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createAuditStore } from '../audit/audit-store.js'
import type { AuditStore } from '../audit/types.js'

declare module 'fastify' {
  interface FastifyInstance {
    audit: AuditStore
  }
}

export default fp(async function audit(app: FastifyInstance) {
  app.decorate('audit', createAuditStore(app.prisma))
}, { name: 'audit', dependencies: ['database'] })
