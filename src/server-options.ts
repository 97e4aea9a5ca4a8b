// Fastify server options shared by the server and the tests: request ids, logging without
// secrets, body limit.
import { randomUUID } from 'node:crypto'
import type { FastifyServerOptions } from 'fastify'
import type { AppConfig } from './config.js'

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** `log`: false for silence, or a stream to write the JSON lines to (stdout when absent). */
export function serverOptions(config: AppConfig, log: false | { write(line: string): void } = process.stdout): FastifyServerOptions {
  return {
    logger: log && {
      level: config.logLevel,
      stream: log,
      // Belt and braces: nothing we log carries these, but a future log line must not either.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.accessToken', '*.clientSecret', '*.password', '*.token'], censor: '[redacted]' },
    },
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    return503OnClosing: true,
    // Embedded Postgres (PGlite) can take longer than Fastify's default 10 s to start and migrate
    // on a busy machine; a plugin that really hangs still fails the start, a minute later.
    pluginTimeout: 60_000,
    routerOptions: { ignoreTrailingSlash: true },
  }
}
