/**
 * A start-up failure the operator can fix: it names the variable (or file) at fault and what to
 * do. The server prints it as one line and exits 1, without a stack trace.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError'
  constructor(readonly variable: string, readonly problem: string, options?: { cause?: unknown }) {
    super(`${variable}: ${problem}`, options)
  }
}
