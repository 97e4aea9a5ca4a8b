// The OpenAPI document is generated from the route schemas; shared schemas keep their $id as
// component names. /openapi.json serves it, /docs shows it (assets from the package, no CDN).
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { sharedSchemas } from '../schemas/index.js'
import { contractSchema } from './openapi-contract.js'

export const API_VERSION = '1.0.0'

export default fp(async function openapi(app: FastifyInstance) {
  for (const schema of sharedSchemas) app.addSchema(schema)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'guestgate',
        version: API_VERSION,
        description: 'Audited, policy-checked management of Microsoft Entra ID B2B guest access. Every change is written to a tamper-evident audit log before Microsoft Graph is called. Errors are RFC 9457 problem details.',
        license: { name: 'UNLICENSED', url: 'https://guestgate.invalid/license' },
      },
      servers: [{ url: '/', description: 'This guestgate instance' }],
      tags: [
        { name: 'invitations', description: 'Invite external users as guests' },
        { name: 'bulk', description: 'Bulk invitations as jobs: the admin center CSV, progress, results' },
        { name: 'guests', description: 'Read, re-invite and remove guests' },
        { name: 'groups', description: 'Guest membership of groups' },
        { name: 'apps', description: 'App roles of enterprise applications' },
        { name: 'authorization', description: 'What-if checks and the caller\'s own permissions' },
        { name: 'audit', description: 'The tamper-evident audit log: search, export, verify' },
        { name: 'sandbox', description: 'Sandbox mode only' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Entra ID access token for guestgate (roles claim carries the API roles)' },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    transform: ({ schema, url, route }) => ({
      schema: schema && !schema.hide ? contractSchema(schema as Record<string, unknown>, route) as typeof schema : schema,
      url,
    }),
  })
  // The docs page and its assets are public; the plugin cannot say so itself, so its routes are
  // marked as they are registered.
  await app.register(async (docs) => {
    docs.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object), public: true }
    })
    await docs.register(swaggerUi, {
      routePrefix: '/docs', uiConfig: { docExpansion: 'list' }, staticCSP: true,
      // swagger-ui's policy asks browsers to fetch its assets over https: over plain http on any
      // host but localhost they never load and the page stays blank.
      transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/g, ''),
    })
  })
  app.get('/openapi.json', {
    config: { public: true },
    schema: { hide: true },
  }, async () => app.swagger())
}, { name: 'swagger', dependencies: ['config'] })
