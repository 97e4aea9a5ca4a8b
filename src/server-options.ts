// Fastify server options shared by the server and the tests: request ids, the logger, body
// limit, and the timeouts that cut slow clients.
import { randomUUID } from 'node:crypto'
import type { FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import type { AppConfig } from './config.js'
import { createLogger, type LogDestination } from './logger.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** `log`: a logger, false for silence, or a stream to write the JSON lines to (stdout when absent). */
export function serverOptions(config: AppConfig, log: LogDestination | Logger = process.stdout): FastifyServerOptions {
  const loggerInstance = log !== false && 'child' in log ? log : createLogger(config, log)
  return {
    loggerInstance,
    bodyLimit: config.bodyLimitBytes,
    // Fastify would take the header verbatim (any length, any characters) before genReqId is
    // asked: genReqId reads it instead and keeps it only when it is a sane id.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
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
    routerOptions: { ignoreTrailingSlash: true },
  } as FastifyServerOptions
}
