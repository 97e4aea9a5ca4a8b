// Response hardening (helmet's headers). The API answers JSON only, so its Content-Security-Policy
// forbids everything (nothing may be loaded, framed or submitted); nosniff, no referrer, no
// framing, HSTS; and Cache-Control: no-store. The docs page (/docs, swagger-ui) sends its own
// policy with the hashes of its scripts (staticCSP in plugins/swagger.ts), which replaces this
// one on its routes.
// The headers depend only on these options: helmet computes them once, at start, and every
// answer gets that list. (@fastify/helmet would build helmet's middleware anew for every request,
// parsing the policy each time, for per-route options and nonces this service does not use.)
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

export const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
  },
  frameguard: { action: 'deny' },
  // A service names no policy for other hosts under its domain.
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
  referrerPolicy: { policy: 'no-referrer' },
} satisfies HelmetOptions

/** The headers helmet sets with these options (it sets the same ones on every response). */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  // helmet throws on options it does not accept, and sets its headers before calling next().
  const request = new IncomingMessage(new Socket())
  const response = new ServerResponse(request)
  helmet(options)(request, response, () => undefined)
  return Object.fromEntries(Object.entries(response.getHeaders()).map(([name, value]) => [name, String(value)]))
}

/** Not helmet's: answers carry guests' addresses, memberships and the audit log, which no browser
 *  or proxy should keep (OWASP REST Security Cheat Sheet, "Security Headers"). Routes that want
 *  otherwise set their own (the bulk job's event stream, the docs' static files). */
const API_CACHE_CONTROL = 'no-store'

export default fp(async function hardening(app: FastifyInstance) {
  const headers = { ...helmetHeaders(HELMET_OPTIONS), 'cache-control': API_CACHE_CONTROL }
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'helmet' })
