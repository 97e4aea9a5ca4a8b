// /_simulator: the test control surface over HTTP, for manual use with curl.
// Not part of Graph: no token needed, not recorded, never faulted. For example:
//   curl -X POST localhost:PORT/_simulator/faults -H 'content-type: application/json' \
//        -d '{"method":"POST","path":"/invitations","status":429,"retryAfter":2,"times":3}'
//   curl localhost:PORT/_simulator/calls
//   curl localhost:PORT/_simulator/state
//   curl -X POST localhost:PORT/_simulator/faults -H 'content-type: application/json' \
//        -d '{"method":"POST","path":"/members/$ref","afterApply":{"status":504}}'
//   curl -X DELETE localhost:PORT/_simulator/faults
//   curl -X POST localhost:PORT/_simulator/replication-lag -H 'content-type: application/json' -d '{"requests":2}'
//   curl -X POST localhost:PORT/_simulator/throttling -H 'content-type: application/json' -d '{"scale":0.001,"windowScale":0.01}'
//   curl -X DELETE localhost:PORT/_simulator/throttling
//   curl -X POST localhost:PORT/_simulator/users/{id}/redeem
//   curl -X PUT localhost:PORT/_simulator/users/{id}/sign-in-activity -H 'content-type: application/json' \
//        -d '{"lastSignInDateTime":"2025-01-01T00:00:00Z","lastSuccessfulSignInDateTime":"2025-01-01T00:00:00Z"}'
//   curl -X POST localhost:PORT/_simulator/licence -H 'content-type: application/json' -d '{"premium":false}'
//   curl -X POST localhost:PORT/_simulator/reset
//   curl -X POST localhost:PORT/_simulator/reset -H 'content-type: application/json' -d '{"appRegistration":"mis-configured"}'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { GraphError } from '../graph-error-bodies.js'
import type { SimulatorControl } from '../graph-simulator.js'
import { objectId } from '../request-input.js'
import { APP_REGISTRATION_SEEDS } from '../seed.js'

const FaultBody = Type.Object(
  {
    method: Type.Optional(Type.String()),
    /** Matches paths that contain it. */
    path: Type.Optional(Type.String({ minLength: 1 })),
    /** RegExp source tested against the path. */
    pathPattern: Type.Optional(Type.String({ minLength: 1 })),
    status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    code: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    retryAfter: Type.Optional(Type.Union([Type.Number({ minimum: 0 }), Type.String()])),
    times: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('Infinity')])),
    latencyMs: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Apply the request, then answer this error, or hold it open ({"hang": true}). */
    afterApply: Type.Optional(Type.Union([
      Type.Object({ status: Type.Union([Type.Literal(500), Type.Literal(502), Type.Literal(504)]) }, { additionalProperties: false }),
      Type.Object({ hang: Type.Literal(true) }, { additionalProperties: false }),
    ])),
  },
  { additionalProperties: false },
)

const ReplicationLagBody = Type.Object({ requests: Type.Integer({ minimum: 0 }) }, { additionalProperties: false })

const ThrottlingBody = Type.Object({
  /** Multiplies Graph's documented counts, e.g. 0.001: 3 writes per window instead of 3,000. */
  scale: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  /** Multiplies Graph's documented periods (default 1). */
  windowScale: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
}, { additionalProperties: false })

const DateTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
const SignInActivityBody = Type.Union([
  Type.Object({
    lastSignInDateTime: Type.Optional(DateTime),
    lastNonInteractiveSignInDateTime: Type.Optional(DateTime),
    lastSuccessfulSignInDateTime: Type.Optional(DateTime),
  }, { additionalProperties: false }),
  Type.Null(),
])
const LicenceBody = Type.Object({ premium: Type.Boolean() }, { additionalProperties: false })
const UserParams = Type.Object({ id: Type.String() })

const ResetBody = Type.Union([
  Type.Object({
    /** Which Graph permissions guestgate's own service principal holds after the reset. */
    appRegistration: Type.Optional(Type.Union(APP_REGISTRATION_SEEDS.map((seed) => Type.Literal(seed)))),
  }, { additionalProperties: false }),
  Type.Null(),
])

export const simulatorControlRoutes: FastifyPluginAsync<{ control: SimulatorControl }> = async (app, { control }) => {
  app.get('/calls', async () => control.calls)

  // Everything the directory holds, for a test in another process to compare with guestgate's audit log.
  app.get('/state', async () => control.state.snapshot())

  app.post<{ Body: Static<typeof FaultBody> }>('/faults', { schema: { body: FaultBody } }, async (request, reply) => {
    const { path, pathPattern, times, ...fault } = request.body
    let target: string | RegExp | undefined = path
    if (pathPattern !== undefined) {
      try {
        target = new RegExp(pathPattern)
      } catch {
        return reply.code(400).send({ message: `pathPattern is not a regular expression: ${pathPattern}` })
      }
    }
    if (target === undefined) return reply.code(400).send({ message: 'A fault needs path or pathPattern.' })
    if (fault.afterApply && fault.status !== undefined) return reply.code(400).send({ message: 'A fault has either status or afterApply, not both.' })
    control.faults.inject({ ...fault, path: target, times: times === 'Infinity' ? Infinity : times })
    return reply.code(204).send()
  })

  app.delete('/faults', async (_request, reply) => {
    control.faults.clear()
    return reply.code(204).send()
  })

  app.post<{ Body: Static<typeof ReplicationLagBody> }>('/replication-lag', { schema: { body: ReplicationLagBody } }, async (request, reply) => {
    control.setReplicationLag(request.body.requests)
    return reply.code(204).send()
  })

  app.post<{ Body: Static<typeof ThrottlingBody> }>('/throttling', { schema: { body: ThrottlingBody } }, async (request, reply) => {
    control.setThrottling(request.body)
    return reply.code(204).send()
  })

  app.delete('/throttling', async (_request, reply) => {
    control.setThrottling(null)
    return reply.code(204).send()
  })

  // Simulated people: the guest opens the invitation link (and signs in); sign-in times change.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof GraphError) return reply.code(error.status).send({ message: error.message })
    return reply.send(error)
  })

  app.post<{ Params: Static<typeof UserParams> }>('/users/:id/redeem', { schema: { params: UserParams } }, async (request) => {
    const user = control.state.redeem(objectId(request.params.id))
    await control.persist()
    return { id: user.id, externalUserState: user.externalUserState, signInActivity: user.signInActivity }
  })

  app.put<{ Params: Static<typeof UserParams>; Body: Static<typeof SignInActivityBody> }>('/users/:id/sign-in-activity',
    { schema: { params: UserParams, body: SignInActivityBody } }, async (request) => {
      const user = control.state.setSignInActivity(objectId(request.params.id), request.body)
      await control.persist()
      return { id: user.id, signInActivity: user.signInActivity }
    })

  // Without an Entra ID P1/P2 licence Graph refuses signInActivity with a 403.
  app.post<{ Body: Static<typeof LicenceBody> }>('/licence', { schema: { body: LicenceBody } }, async (request, reply) => {
    control.state.premiumLicence = request.body.premium
    return reply.code(204).send()
  })

  app.post<{ Body: Static<typeof ResetBody> }>('/reset', { schema: { body: ResetBody } }, async (request, reply) => {
    control.reset(request.body ?? {})
    await control.persist()
    return reply.code(204).send()
  })
}
