// Who asks, and how its policy questions are asked: an HTTP request, or a job acting for the
// requester who submitted it (a bulk row, an expiry). Operations take a Caller, never a request,
// so a job asks exactly the questions the single route asks, through the same functions.
import type { FastifyRequest } from 'fastify'

export type Caller = Pick<FastifyRequest, 'id' | 'authorize' | 'evaluate' | 'authenticatedPrincipal' | 'clientRequestId' | 'idempotencyKey'> & {
  /** A dry run (requests only): what is decided and planned is recorded here. */
  dryRun?: FastifyRequest['dryRun']
}
