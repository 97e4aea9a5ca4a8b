import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { ProblemError } from '../../errors.js'
import { problemResponse } from '../../schemas/problem.js'

const Status = Type.Object({ status: Type.String() }, { additionalProperties: false })

// Probes are never rate limited: a load balancer's probes share one address with its traffic.
export default async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', {
    config: { public: true, rateLimit: false },
    schema: {
      operationId: 'getHealth', tags: ['health'], summary: 'Liveness: the process is up', security: [],
      response: { 200: Status, 400: problemResponse('The x-request-id header is not valid'), 500: problemResponse('Internal error') },
    },
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { public: true, rateLimit: false },
    schema: {
      operationId: 'getReadiness', tags: ['health'], summary: 'Readiness: the database is reachable and migrated', security: [],
      response: {
        200: Type.Object({ status: Type.String(), checks: Type.Object({ database: Type.String() }) }, { additionalProperties: false }),
        400: problemResponse('The x-request-id header is not valid'),
        500: problemResponse('Internal error'),
        503: problemResponse('Not ready: the database is unreachable or not migrated'),
      },
    },
  }, async () => {
    const ready = await app.audit.ready().catch(() => false)
    if (!ready) {
      throw new ProblemError(503, 'not_ready', 'Not ready', 'The database is unreachable or its migrations are not applied', {}, { 'retry-after': '5' })
    }
    return { status: 'ready', checks: { database: 'ok' } }
  })
}
