// The process's one logger: JSON lines for machines, readable lines (pino-pretty) for people at
// a terminal. Which one is an explicit setting (LOG_FORMAT), `auto` looking only at whether
// standard output is a terminal.
import { createRequire } from 'node:module'
import { Writable } from 'node:stream'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { AppConfig } from './config.js'

// Loaded only for readable lines: JSON logging (the bench, production) spares its 70 ms of
// loading. A CommonJS package (one copy whichever way it is loaded).
const pretty = (options: import('pino-pretty').PrettyOptions) => (createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')).build(options)

/** Where log lines go: a stream, or false for none. */
export type LogDestination = false | { write(line: string): void }

export function usePrettyLogs(config: Pick<AppConfig, 'logFormat'>, stdout: { isTTY?: boolean } = process.stdout): boolean {
  return config.logFormat === 'pretty' || (config.logFormat === 'auto' && stdout.isTTY === true)
}

export function createLogger(config: Pick<AppConfig, 'logLevel' | 'logFormat'>, destination: LogDestination = process.stdout): Logger {
  if (destination === false) return pino({ level: 'silent' })
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    // Belt and braces: nothing we log carries these, but a future log line must not either.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', '*.accessToken', '*.clientSecret', '*.password', '*.token'], censor: '[redacted]' },
  }
  const stream: DestinationStream = usePrettyLogs(config)
    // In-process and synchronous: a terminal reader wants lines in order, and this is not the
    // production path (JSON is).
    ? pretty({ destination: destination === process.stdout ? 1 : asStream(destination), sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : destination
  return pino(options, stream)
}

/** pino-pretty writes to streams only: a `{ write }` destination (tests) gets wrapped in one. */
function asStream(destination: { write(line: string): void }): Writable {
  if (destination instanceof Writable) return destination
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      destination.write(chunk.toString())
      callback()
    },
  })
}
