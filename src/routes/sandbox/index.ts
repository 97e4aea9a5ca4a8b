// Sandbox mode only (not registered otherwise, so 404): mint tokens for any roles, publish the
// issuer's keys. Never present in tenant mode, where tokens come from Entra ID.
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { problemResponse } from '../../schemas/problem.js'

const MintTokenBody = Type.Object({
  roles: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20, uniqueItems: true,
    description: 'API roles to put in the token: Guests.Invite, Guests.Manage, Groups.ManageMembers, Apps.AssignRoles, Audit.Read' }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  oid: Type.Optional(Type.String({ format: 'uuid', description: 'Caller object id; a new one when absent' })),
  tenantId: Type.Optional(Type.String({ format: 'uuid', description: 'tid claim; the sandbox tenant when absent' })),
  expiresInSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, default: 3600 })),
}, {
  additionalProperties: false,
  // No tenantId: the token is for the sandbox tenant, the one its policy speaks of.
  examples: [{ roles: ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read'], name: 'Ada Admin' }],
})

export default async function sandboxRoutes(app: FastifyInstance) {
  const issuer = app.sandboxIssuer!

  app.post('/tokens', {
    config: { public: true },
    schema: {
      operationId: 'mintSandboxToken', tags: ['sandbox'], security: [],
      summary: 'Mint a sandbox access token (sandbox mode only)',
      description: 'Returns a token signed by the sandbox issuer, validated by the same code as Entra tokens. Answers 404 outside sandbox mode. In /docs: Try it out with the example (every API role), copy accessToken, then Authorize with it. Leave tenantId out: a token of another tenant is refused by every policy rule.',
      body: MintTokenBody,
      response: {
        201: Type.Object({
          accessToken: Type.String(),
          tokenType: Type.Literal('Bearer'),
          expiresIn: Type.Integer(),
          principal: Type.Object({ oid: Type.String(), name: Type.String(), tenantId: Type.String(), roles: Type.Array(Type.String()) }),
        }, { additionalProperties: false, description: 'The token (send it as Authorization: Bearer <accessToken>)' }),
        400: problemResponse('The request is not valid'),
        404: problemResponse('Not in sandbox mode'),
        500: problemResponse('Internal error'),
      },
    },
  }, async (request, reply) => {
    const body = request.body as Static<typeof MintTokenBody>
    const tenantId = body.tenantId ?? app.config.tenantId
    const name = body.name ?? 'Sandbox User'
    const minted = await issuer.mint({ ...body, name, tenantId })
    return reply.code(201).send({
      accessToken: minted.accessToken, tokenType: 'Bearer', expiresIn: minted.expiresIn,
      principal: { oid: minted.oid, name, tenantId, roles: body.roles },
    })
  })

  app.get('/jwks.json', {
    config: { public: true },
    schema: {
      operationId: 'getSandboxJwks', tags: ['sandbox'], security: [], summary: 'The sandbox issuer\'s public keys',
      response: {
        200: Type.Object({ keys: Type.Array(Type.Object({}, { additionalProperties: true })) }, { description: 'A JSON Web Key Set' }),
        404: problemResponse('Not in sandbox mode'),
        500: problemResponse('Internal error'),
      },
    },
  }, async () => issuer.jwks)
}
