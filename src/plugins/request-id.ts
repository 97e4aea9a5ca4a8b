// Every answer carries its request id (the caller's x-request-id when it sent a usable one,
// else a new one): the same id as in problem bodies, the logs and the audit rows.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export default fp(async function requestId(app: FastifyInstance) {
  // A callback hook: no promise per request for one header.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })
}, { name: 'request-id' })
