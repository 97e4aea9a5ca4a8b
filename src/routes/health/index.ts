import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { pendingMigrations } from '../../db/migrate.js'
import { poolOf } from '../../db/prisma-client.js'
import { ProblemError } from '../../errors.js'
import { problemResponse } from '../../schemas/problem.js'
import { ReconcilerRunSchema } from '../audit/schemas.js'

const Status = Type.Object({ status: Type.String() }, { additionalProperties: false, description: 'The process is up' })

// Probes are never rate limited: a load balancer's probes share one address with its traffic.
export default async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', {
    config: { public: true, rateLimit: false, availableWithoutDatabase: true },
    schema: {
      operationId: 'getHealth', tags: ['health'], summary: 'Liveness: the process is up', security: [],
      response: { 200: Status, 400: problemResponse('The x-request-id header is not valid'), 500: problemResponse('Internal error') },
    },
  }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    config: { public: true, rateLimit: false, availableWithoutDatabase: true },
    schema: {
      operationId: 'getReadiness', tags: ['health'], summary: 'Readiness: the database is reachable and migrated', security: [],
      response: {
        200: Type.Object({
          status: Type.String(),
          checks: Type.Object({
            database: Type.String(),
            reconciler: Type.Object({
              lastRunAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'End of the last pass, any replica' }),
              lastRun: Type.Union([ReconcilerRunSchema, Type.Null()]),
            }, { additionalProperties: false, description: 'Writes whose Graph answer was lost are settled by reading Graph' }),
          }, { additionalProperties: false }),
        }, { additionalProperties: false, description: 'Ready: the database is reachable and migrated' }),
        400: problemResponse('The x-request-id header is not valid'),
        500: problemResponse('Internal error'),
        503: problemResponse('Not ready: the database is unreachable or not migrated'),
      },
    },
  }, async (request) => {
    // The cause goes to the log (warn), never to the caller: probes are unauthenticated.
    const pending = await pendingMigrations(poolOf(app.prisma)).catch((err: unknown) => {
      request.log.warn({ err }, 'not ready: the database cannot be reached')
      return null
    })
    if (pending !== null && pending.length > 0) request.log.warn({ pending }, 'not ready: database migrations are pending')
    if (pending === null || pending.length > 0) {
      throw new ProblemError(503, 'not_ready', 'Not ready', 'The database is unreachable or its migrations are not applied', { retryAfterSeconds: 5 }, { 'retry-after': '5' })
    }
    const lastRun = await app.reconciler.lastRun()
    return { status: 'ready', checks: { database: 'ok', reconciler: { lastRunAt: lastRun?.finishedAt ?? null, lastRun } } }
  })
}
