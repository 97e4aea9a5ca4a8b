// Answers that many requests share. A frozen object (GET /v1/me/permissions hands every request
// the same page while the directory objects it shows are fresh) has the same JSON every time: it
// is made once, by the route's own response serializer (so the schema still decides which fields
// go out), and then sent as it is. Anything else is sent the usual way.
import type { FastifyReply } from 'fastify'

type SendFrozen = (reply: FastifyReply, payload: object) => FastifyReply

/** One per route: its serializer made the JSON, so another route's schema never reuses it. */
export function frozenPayloads(): SendFrozen {
  const bodies = new WeakMap<object, string>()
  return (reply, payload) => {
    if (!Object.isFrozen(payload) || reply.statusCode !== 200) return reply.send(payload)
    let body = bodies.get(payload)
    if (body === undefined) bodies.set(payload, body = reply.serialize(payload) as string)
    return reply.type('application/json; charset=utf-8').send(body)
  }
}
