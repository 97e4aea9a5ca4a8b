// Fastify server options shared by the server and the tests: request ids, the logger, body
// limit, the trusted proxies, and the timeouts that cut slow clients.
import { randomUUID } from 'node:crypto'
import type { FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import type { AppConfig } from './config.js'
import { createLogger, type LogDestination } from './logger.js'
import { frameworkErrors } from './plugins/errors.js'
import { lazySchemaController } from './schema-compilers.js'

/** `log`: a logger, false for silence, or a stream to write the JSON lines to (stdout when absent). */
export function serverOptions(config: AppConfig, log: LogDestination | Logger = process.stdout): FastifyServerOptions {
  const loggerInstance = log !== false && 'child' in log ? log : createLogger(config, log)
  return {
    loggerInstance,
    bodyLimit: config.bodyLimitBytes,
    // Our own id for every request, never the caller's: it names audit rows. A caller's
    // x-request-id is kept as request.clientRequestId (plugins/request-id.ts).
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    // request.ip (rate limit buckets, request logs) is the connection's address, unless the
    // connection comes from a proxy listed in GUESTGATE_TRUST_PROXY: then X-Forwarded-For is
    // believed back to the first address that is not such a proxy. Never true or a hop count
    // (config.ts refuses them): any client could choose its address.
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    // A malformed or over-long path is refused by the router itself: as a problem document too.
    frameworkErrors,
    return503OnClosing: true,
    // Slow clients: the whole request (headers and body) must arrive within requestTimeout; a
    // connection idle for connectionTimeout is closed. Node checks both every few seconds.
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    // Node applies requestTimeout only when given at construction with headersTimeout not above it.
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: Math.min(60_000, config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(5_000, config.requestTimeoutMs),
    },
    // Embedded Postgres (PGlite) can take longer than Fastify's default 10 s to start and migrate
    // on a busy machine; a plugin that really hangs still fails the start, a minute later.
    pluginTimeout: 60_000,
    routerOptions: { ignoreTrailingSlash: true },
    // Response serializers compile on a route's first answer (why: src/schema-compilers.ts).
    schemaController: lazySchemaController(),
  } as FastifyServerOptions
}
