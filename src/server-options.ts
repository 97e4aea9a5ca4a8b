// Fastify server options shared by the server and the tests: request ids, logging without
// secrets, body limit.
import { randomUUID } from 'node:crypto'
import type { FastifyServerOptions } from 'fastify'
import type { AppConfig } from './config.js'
import { frameworkErrors } from './plugins/errors.js'

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
    // Our own id for every request, never the caller's: it names audit rows. A caller's
    // x-request-id is kept as request.clientRequestId (plugins/request-id.ts).
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    // A malformed or over-long path is refused by the router itself: as a problem document too.
    frameworkErrors,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  }
}
