// What the operator reads when the start fails: one line per problem, naming the variable or
// file at fault and what to do. No stack trace (LOG_LEVEL=debug or trace adds it).
import { ConfigError } from '../config.js'
import { PolicyFileError } from '../policies/policy-file.js'
import { StartupError } from './startup-error.js'

/** The `code` of a Node or pg error ('' when it has none). */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}

export interface ListenSettings { host: string; port: number }

export function describeStartupFailure(error: unknown, listen?: ListenSettings): string[] {
  if (error instanceof ConfigError) return error.problems
  if (error instanceof StartupError) return [error.message]
  if (error instanceof PolicyFileError) {
    const issues = error.errors.map((e) => (e.path === '/' ? e.message : `${e.path}: ${e.message}`)).join('; ')
    return [`GUESTGATE_POLICY_FILE: ${error.source}: ${issues}: fix the file, or point GUESTGATE_POLICY_FILE at another`]
  }
  const code = errorCode(error)
  if (listen && code === 'EADDRINUSE') return [`PORT: ${listen.host}:${listen.port} is already in use: stop the other server, or choose another PORT`]
  if (listen && code === 'EACCES') return [`PORT: not allowed to listen on ${listen.host}:${listen.port}: use a port above 1023, or run with the needed privilege`]
  if (listen && (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')) return [`HOST: ${listen.host} is not an address of this machine: correct HOST`]
  if (code === 'FST_ERR_PLUGIN_TIMEOUT' || code === 'AVV_ERR_PLUGIN_EXEC_TIMEOUT') {
    return [`start-up: ${(error as Error).message}: the machine may be overloaded; try again, and report it if it persists`]
  }
  const message = error instanceof Error ? error.message : String(error)
  return [`start-up: ${message.split('\n')[0]}`]
}

/** Prints the failure and exits 1. */
export function exitOnStartupFailure(error: unknown, options: { listen?: ListenSettings; verbose?: boolean } = {}): never {
  for (const line of describeStartupFailure(error, options.listen)) process.stderr.write(`guestgate: cannot start: ${line}\n`)
  if (options.verbose && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`)
  process.exit(1)
}
