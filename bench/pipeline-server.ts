// One server of the pipeline benchmark (bench/pipeline.ts starts it, one process per variant):
//   plain      a bare Fastify app answering GET /v1/me/permissions with the same route schema and
//              the same body as guestgate, with no authentication and no policy; with BENCH_HEADERS
//              (a JSON object) it also sends those headers and a UUID x-request-id, i.e. the same
//              response as guestgate, headers included;
//   guestgate  the whole app (sandbox mode, real Postgres, the embedded Graph simulator), the same
//              route authenticated (RS256 token) and policy-checked; it does no I/O.
// BENCH_LOG=on: Fastify's request logging at info (two JSON lines per request, to /dev/null);
// off: warn. Prints "LISTENING <url> <token>" once ready.
// Both apps come from the compiled build in dist/ (`npm run bench:pipeline` builds it), as
// `npm start` runs it: the sources through tsx carry esbuild's helpers (a __name call for every
// function made at run time).
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import pino from 'pino'

const fromBuild = <T>(module: string): Promise<T> => import(new URL(`../dist/${module}`, import.meta.url).href) as Promise<T>
const { buildApp } = await fromBuild<typeof import('../src/app.js')>('app.js')
const { loadConfig } = await fromBuild<typeof import('../src/config.js')>('config.js')
const { getMyPermissions } = await fromBuild<typeof import('../src/routes/authorization/schemas.js')>('routes/authorization/schemas.js')
const { sharedSchemas } = await fromBuild<typeof import('../src/schemas/index.js')>('schemas/index.js')
const { serverOptions } = await fromBuild<typeof import('../src/server-options.js')>('server-options.js')

const variant = process.env.BENCH_VARIANT
const level = process.env.BENCH_LOG === 'on' ? 'info' : 'warn'
const logger = pino({ level }, pino.destination({ dest: '/dev/null', sync: false }))

if (variant === 'plain') {
  const body = JSON.parse(process.env.BENCH_BODY ?? '{}') as unknown
  const headers = process.env.BENCH_HEADERS ? JSON.parse(process.env.BENCH_HEADERS) as Record<string, string> : undefined
  const app = Fastify({ loggerInstance: logger, ...(headers ? { genReqId: () => randomUUID() } : {}) })
  // The route schema references the shared Problem schema (its 4xx/5xx answers).
  for (const schema of sharedSchemas) app.addSchema(schema)
  if (headers) {
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id)
      reply.headers(headers)
      done()
    })
  }
  app.get('/v1/me/permissions', { schema: getMyPermissions }, async () => body)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  console.log(`LISTENING ${url} -`)
} else if (variant === 'guestgate') {
  // The rate limiter stays on and counts every request; its limit is set above what one caller
  // sends in a window here, so that the measured answers are 200s, not 429s.
  const config = loadConfig({ DATABASE_URL: process.env.BENCH_DATABASE_URL, LOG_LEVEL: level, PORT: '0', GUESTGATE_RATE_LIMIT_MAX: '1000000' })
  const app = Fastify(serverOptions(config, logger))
  await app.register(buildApp, { config })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const minted = await app.inject({ method: 'POST', url: '/v1/sandbox/tokens', payload: { roles: ['Apps.AssignRoles', 'Groups.ManageMembers'] } })
  console.log(`LISTENING ${url} ${(minted.json<{ accessToken: string }>()).accessToken}`)
} else {
  throw new Error(`BENCH_VARIANT must be plain or guestgate, got ${variant}`)
}

// Exit normally on SIGTERM/SIGINT, so that `node --cpu-prof` writes its profile.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0))
