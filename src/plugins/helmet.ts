// Response hardening (helmet's headers). The API answers JSON only, so its Content-Security-Policy
// forbids everything (nothing may be loaded, framed or submitted); nosniff, no referrer, no
// framing, HSTS. The docs page (/docs, swagger-ui) sends its own policy with the hashes of its
// scripts (staticCSP in plugins/swagger.ts), which replaces this one on its routes.
// The headers depend only on these options: helmet computes them once, at start, and every
// answer gets that list. (@fastify/helmet would build helmet's middleware anew for every request,
// parsing the policy each time, for per-route options and nonces this service does not use.)
import { createRequire } from 'node:module'
import type { FastifyHelmetOptions } from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

type HelmetOptions = Omit<FastifyHelmetOptions, 'global' | 'enableCSPNonces'>
type Middleware = (req: unknown, res: { setHeader(name: string, value: string): void; removeHeader(name: string): void }, next: (err?: unknown) => void) => void

// helmet as @fastify/helmet depends on it: the same version the Fastify plugin would run.
const requireFromHere = createRequire(import.meta.url)
const helmet = createRequire(requireFromHere.resolve('@fastify/helmet'))('helmet') as (options: HelmetOptions) => Middleware

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
  const headers: Record<string, string> = {}
  // helmet throws on options it does not accept; its middleware calls next() once done.
  helmet(options)({}, {
    setHeader: (name, value) => { headers[name.toLowerCase()] = value },
    // X-Powered-By: Fastify never sends it.
    removeHeader: () => undefined,
  }, () => undefined)
  return headers
}

export default fp(async function hardening(app: FastifyInstance) {
  const headers = helmetHeaders(HELMET_OPTIONS)
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}, { name: 'helmet' })
