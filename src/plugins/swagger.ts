// The OpenAPI document is generated from the route schemas; shared schemas keep their $id as
// component names. /openapi.json serves it, /docs shows it (assets from the package, no CDN).
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { sharedSchemas } from '../schemas/index.js'
import { contractDocument, contractSchema } from './openapi-contract.js'

export const API_VERSION = '1.0.0'

/** How to get a token, shown on /docs (in the description and in the Authorize dialog). */
const TOKEN_HELP = [
  '**Getting a token.** In tenant mode: an Entra ID access token for guestgate\'s app registration, e.g. ' +
    '`az account get-access-token --resource api://guestgate` for a user assigned an API role, or a client credentials token of a service principal assigned one.',
  'In sandbox mode (`npm start` without configuration): open **POST /v1/sandbox/tokens**, *Try it out*, *Execute* with the example body ' +
    '(every API role, the sandbox tenant), copy `accessToken` from the answer, press **Authorize** and paste it. ' +
    'From a shell: `curl -s -X POST http://127.0.0.1:3000/v1/sandbox/tokens -H \'content-type: application/json\' -d \'{"roles":["Guests.Invite"]}\'`. ' +
    'The examples of the other operations (partner.example, https://myapps.microsoft.com/, the Developers group, the DocuSign app) are allowed by the sandbox policy.',
].join('\n\n')

export default fp(async function openapi(app: FastifyInstance) {
  for (const schema of sharedSchemas) app.addSchema(schema)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'guestgate',
        version: API_VERSION,
        description: [
          'Audited, policy-checked management of Microsoft Entra ID B2B guest access. Every change is written to a tamper-evident audit log before Microsoft Graph is called. Errors are RFC 9457 problem details; their `code` is one of a closed list.',
          '',
          TOKEN_HELP,
          '',
          'Each operation names the API roles meant to call it (`x-required-roles`: any one of them; the policy file decides what each may do) and the Microsoft Graph application permissions it uses (`x-graph-permissions`).',
        ].join('\n'),
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
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `Entra ID access token for guestgate (its roles claim carries the API roles).\n\n${TOKEN_HELP}` },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    transform: ({ schema, url, route }) => ({
      schema: schema && !schema.hide ? contractSchema(schema as Record<string, unknown>, route) as typeof schema : schema,
      url,
    }),
    transformObject: (document) => ('openapiObject' in document ? contractDocument(document.openapiObject) : document.swaggerObject),
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
