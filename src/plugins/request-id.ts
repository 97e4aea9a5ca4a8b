// Request ids. guestgate names every request itself (a UUID from genReqId in server-options.ts):
// that id is in the logs, in every problem body and in every audit row, and no caller can choose
// or reuse it. A caller's own x-request-id is kept apart as request.clientRequestId, for the
// caller's correlation, and echoed back. Responses carry both, the way Microsoft Graph answers
// request-id (its own) and client-request-id (the caller's):
//   x-request-id         the server's id (quote it to an operator; audit rows carry it)
//   x-client-request-id  the caller's x-request-id, when one was sent
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { badRequest } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's own x-request-id (validated), or null when none was sent. */
    clientRequestId: string | null
  }
}

export const CLIENT_REQUEST_ID_HEADER = 'x-request-id'
export const CLIENT_REQUEST_ID_ECHO_HEADER = 'x-client-request-id'
const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/

/** Documented on every operation, so generated clients know the header. */
export const ClientRequestIdHeader = Type.String({
  pattern: '^[\\x21-\\x7e]{1,128}$',
  description: 'Optional: your own id for this request (1 to 128 printable ASCII characters, no spaces), echoed back in x-client-request-id. The response\'s x-request-id is always guestgate\'s own id, the one in logs, problem bodies and audit rows.',
})

export default fp(async function requestId(app: FastifyInstance) {
  app.decorateRequest('clientRequestId', null)

  app.addHook('onRoute', (route) => {
    const schema = (route.schema ??= {}) as { headers?: { type?: string; properties?: Record<string, unknown> }; hide?: boolean }
    if (schema.hide) return
    const headers = schema.headers ?? { type: 'object', properties: {} }
    schema.headers = { ...headers, properties: { ...headers.properties, [CLIENT_REQUEST_ID_HEADER]: ClientRequestIdHeader } }
  })

  // A callback hook: no promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', String(request.id))
    const given = request.headers[CLIENT_REQUEST_ID_HEADER]
    if (given === undefined) return done()
    if (typeof given !== 'string' || !CLIENT_REQUEST_ID.test(given)) {
      const message = 'must be 1 to 128 printable ASCII characters without spaces, sent once'
      return done(badRequest(`header/${CLIENT_REQUEST_ID_HEADER}: ${message}`, [{ field: `header/${CLIENT_REQUEST_ID_HEADER}`, message }]))
    }
    request.clientRequestId = given
    // Every later line of this request (the refusal, the completion) names it too.
    request.log = reply.log = request.log.child({ clientRequestId: given })
    reply.header(CLIENT_REQUEST_ID_ECHO_HEADER, given)
    done()
  })
}, { name: 'request-id' })
