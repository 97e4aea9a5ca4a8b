// Response hardening (@fastify/helmet). The API answers JSON only, so its Content-Security-Policy
// forbids everything (nothing may be loaded, framed or submitted); nosniff, no referrer, no
// framing, HSTS. The docs page (/docs, swagger-ui) sends its own policy with the hashes of its
// scripts (staticCSP in plugins/swagger.ts), which replaces this one on its routes.
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export default fp(async function hardening(app: FastifyInstance) {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
    frameguard: { action: 'deny' },
    // A service names no policy for other hosts under its domain.
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
    referrerPolicy: { policy: 'no-referrer' },
  })
}, { name: 'helmet' })
