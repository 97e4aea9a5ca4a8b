import type { FastifyInstance } from 'fastify'
import { inviteGuest } from '../../operations/invite-guest.js'
import { createInvitation, type CreateInvitationBody } from './schemas.js'

export default async function invitationRoutes(app: FastifyInstance) {
  app.post('/', { schema: createInvitation, config: { authorization: { action: 'invite', subject: 'Invitation' } } }, async (request, reply) => {
    const result = await inviteGuest(app, request, request.body as CreateInvitationBody)
    return reply.code(201).header('location', `/v1/guests/${result.id}`).send(result)
  })
}
