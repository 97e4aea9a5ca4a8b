// Whether the database answers, checked on an interval (and by every failed query that says
// the connection is gone). While it does not, requests are refused with 503 before they do
// anything: no Graph call can happen without its audit row, and a denial that cannot be
// recorded must not be answered as a denial.
import { EventEmitter } from 'node:events'
import pg from 'pg'

export interface DatabaseHealthEvents {
  /** Emitted when the state changes. */
  change: [healthy: boolean]
}

export class DatabaseHealth extends EventEmitter<DatabaseHealthEvents> {
  #healthy = true

  get healthy (): boolean {
    return this.#healthy
  }

  set (healthy: boolean): void {
    if (healthy === this.#healthy) return
    this.#healthy = healthy
    this.emit('change', healthy)
  }

  /** Resolves when the state is `healthy` (at once if it is). */
  async until (healthy: boolean): Promise<void> {
    while (this.#healthy !== healthy) {
      await new Promise<void>((resolve) => { this.once('change', () => { resolve() }) })
    }
  }
}

// Connection-level failures: the server is gone, unreachable, frozen or refusing connections.
// (SQL errors such as a constraint violation, or one statement cancelled by statement_timeout,
// say the database is there.)
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '08004'])
const CONNECTION_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended unexpectedly|the database system is (starting up|shutting down)/i

/** A statement the server cancelled at statement_timeout (e.g. stuck behind a lock). */
export function isStatementTimeout (error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (cause instanceof pg.DatabaseError && cause.code === '57014') return true
    if (/canceling statement due to statement timeout/i.test(cause.message)) return true
    cause = (cause as { cause?: unknown }).cause
  }
  return false
}

/** Whether `error` (from pg or Prisma's pg adapter) means the database cannot be reached. */
export function isDatabaseUnreachable (error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true
    if (CONNECTION_MESSAGES.test(cause.message)) return true
    cause = (cause as { cause?: unknown }).cause
  }
  return false
}
