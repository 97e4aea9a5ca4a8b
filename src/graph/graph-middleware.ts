// Our own middleware chain for the Graph SDK: auth -> retry -> deadline -> (recording) -> HTTPMessageHandler.
// The SDK's default chain sends no Authorization and drops client-request-id for hosts that
// are not Graph (the simulator), and its RetryHandler does not reliably honour Retry-After;
// this chain behaves the same for every host, keeps retries bounded by our settings, never
// repeats a write Graph may have applied, and gives every HTTP request a deadline.
import type { TokenCredential } from '@azure/identity'
import { type Context, GraphClientError, HTTPMessageHandler, type Middleware } from '@microsoft/microsoft-graph-client'
import { type GraphFailureCode, GraphRequestError } from './graph-errors.js'
import { type GraphExchange, RecordingMiddleware } from './graph-exchange.js'
import { parseRetryAfterMs } from './retry-after.js'

export const DEFAULT_GRAPH_SCOPES = ['https://graph.microsoft.com/.default']

/** Statuses Graph uses for "try again later": a read is repeated on these. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503, 504])

/** Default deadline of one HTTP request to Graph (GRAPH_TIMEOUT_MS). */
export const DEFAULT_GRAPH_TIMEOUT_MS = 30_000

export interface RetrySettings {
  /** Retries after the first attempt; default 3. */
  maxRetries?: number
  /** Longest single wait; a longer Retry-After fails at once instead. Default 30 000. */
  maxDelayMs?: number
  /** First backoff step when Graph gives no Retry-After; doubles per retry. Default 1 000. */
  baseDelayMs?: number
}

export interface RetryInfo {
  status: number
  /** 1 for the first retry. */
  attempt: number
  delayMs: number
}

export interface ThrottledInfo {
  /** Graph's Retry-After (ms), when it sent one. */
  retryAfterMs?: number
}

export interface GraphMiddlewareOptions {
  credential: TokenCredential
  scopes?: string[]
  retry?: RetrySettings
  onRetry?: (info: RetryInfo) => void
  /** Every 429 Graph answers, retried or not (pacing slows down on each); awaited, so the caller's
   *  answer comes after the budget has slowed. */
  onThrottled?: (info: ThrottledInfo) => void | Promise<void>
  /** Deadline of each HTTP request (each attempt), answer body included. Default 30 000. */
  timeoutMs?: number
  /** Receives a redacted record of every HTTP exchange (each attempt). */
  onExchange?: (exchange: GraphExchange) => void
}

/**
 * Failures where Graph never answered (no token, no connection) get status 0. They travel
 * through the SDK as a GraphClientError, the one error type it rethrows untouched, carrying
 * our GraphRequestError; see graphRequestErrorFromChain.
 */
function chainFailure(code: GraphFailureCode, message: string): GraphClientError {
  return carried(new GraphRequestError(0, code, message))
}

/** Wraps our error in the one error type the SDK rethrows untouched. */
function carried(failure: GraphRequestError): GraphClientError {
  const error = new GraphClientError(failure.graphMessage)
  error.customError = failure
  return error
}

/** The GraphRequestError a chain failure carries, if `error` is one. */
export function graphRequestErrorFromChain(error: unknown): GraphRequestError | undefined {
  if (error instanceof GraphClientError && error.customError instanceof GraphRequestError) return error.customError
  return undefined
}

function setRequestHeader(context: Context, name: string, value: string): void {
  if (context.request instanceof Request) {
    context.request.headers.set(name, value)
    return
  }
  const options = (context.options ??= {})
  const headers = options.headers
  if (headers instanceof Headers) {
    headers.set(name, value)
  } else if (Array.isArray(headers)) {
    options.headers = [...headers.filter(([key]) => key.toLowerCase() !== name.toLowerCase()), [name, value]]
  } else {
    const plain: Record<string, string> = {}
    for (const [key, existing] of Object.entries(headers ?? {})) {
      if (key.toLowerCase() !== name.toLowerCase()) plain[key] = existing
    }
    plain[name] = value
    options.headers = plain
  }
}

/** Connection errors that mean no request byte reached Graph (DNS, refused, unreachable, TLS). */
const CONNECT_ERRORS = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL|UND_ERR_CONNECT_TIMEOUT|ERR_TLS_.*|CERT_.*|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_.*)$/

/** The error codes in an error's cause chain (AggregateError parts included: happy eyeballs). */
function causeCodes(error: unknown, depth = 0): string[] {
  if (!(error instanceof Error) || depth > 4) return []
  const code = (error as { code?: unknown }).code
  const own = typeof code === 'string' ? [code] : []
  const parts = error instanceof AggregateError ? error.errors.flatMap((part) => causeCodes(part, depth + 1)) : []
  return [...own, ...parts, ...causeCodes(error.cause, depth + 1)]
}

const isTimeout = (error: unknown): boolean => error instanceof Error && error.name === 'TimeoutError'

/**
 * What a failed fetch (or a failed read of its body) means: Timeout when the deadline passed,
 * ConnectionFailed when no connection was made, NetworkError otherwise (the request may have
 * reached Graph). Never retried here.
 */
export function transportFailure(error: unknown, deadline?: AbortSignal): GraphRequestError {
  if (isTimeout(error) || (deadline?.aborted && isTimeout(deadline.reason))) {
    return new GraphRequestError(0, 'Timeout', 'Graph did not answer within the deadline (GRAPH_TIMEOUT_MS)')
  }
  const codes = causeCodes(error)
  if (codes.length > 0 && codes.every((code) => CONNECT_ERRORS.test(code))) {
    return new GraphRequestError(0, 'ConnectionFailed', `Could not connect to Graph: ${describeFailure(error)}`)
  }
  return new GraphRequestError(0, 'NetworkError', `The connection to Graph failed: ${describeFailure(error)}`)
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const codes = [...new Set(causeCodes(error.cause))]
  const detail = codes.length > 0 ? ` (${codes.join(', ')})` : ''
  // Credential errors can be multi-line troubleshooting text; the first line says what failed.
  return `${error.message.split('\n')[0]}${detail}`
}

/** Adds `Authorization: Bearer <token>` from the credential. The token is never logged or echoed. */
export class AuthMiddleware implements Middleware {
  private next?: Middleware

  constructor(
    private readonly credential: TokenCredential,
    private readonly scopes: string[] = DEFAULT_GRAPH_SCOPES,
  ) {}

  setNext(next: Middleware): void {
    this.next = next
  }

  async execute(context: Context): Promise<void> {
    let token: string | undefined
    try {
      // @azure/identity credentials cache and refresh tokens themselves.
      token = (await this.credential.getToken(this.scopes))?.token
    } catch (error) {
      throw chainFailure('TokenAcquisitionFailed', `Could not get a Graph access token: ${describeFailure(error)}`)
    }
    if (!token) throw chainFailure('TokenAcquisitionFailed', 'Could not get a Graph access token: the credential returned none')
    setRequestHeader(context, 'Authorization', `Bearer ${token}`)
    if (!this.next) throw new Error('AuthMiddleware needs a next middleware')
    await this.next.execute(context)
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD'])

function methodOf(context: Context): string {
  const method = context.request instanceof Request ? context.request.method : context.options?.method
  return (method ?? 'GET').toUpperCase()
}

/**
 * Whether a request that got this answer may be sent again. Reads: 429, 503 and 504. Writes
 * (POST, PATCH, PUT, DELETE): only answers Graph documents as "not processed, retry later",
 * that is 429 and 503 carrying Retry-After (https://learn.microsoft.com/en-us/graph/throttling,
 * https://learn.microsoft.com/en-us/graph/errors). A 500/502/504 or a 503 without Retry-After
 * may come after the write was applied: sending it again could apply it twice, so the caller
 * settles it by reading instead.
 */
export function mayRetry(method: string, response: Response): boolean {
  if (READ_METHODS.has(method.toUpperCase())) return RETRYABLE_STATUSES.has(response.status)
  return response.status === 429 || (response.status === 503 && response.headers.has('retry-after'))
}

/**
 * Retries what mayRetry allows, at most maxRetries times. Waits what Retry-After asks, else
 * exponential backoff with jitter. A Retry-After above maxDelayMs is not waited out: the
 * response is handed back as is, so the caller fails at once and can report Graph's retryAfter.
 * Transport failures (timeouts, dropped connections) are never retried: the request may have
 * reached Graph.
 */
export class RetryMiddleware implements Middleware {
  private next?: Middleware
  private readonly maxRetries: number
  private readonly maxDelayMs: number
  private readonly baseDelayMs: number

  constructor(
    settings: RetrySettings = {},
    private readonly onRetry?: (info: RetryInfo) => void,
    private readonly onThrottled?: (info: ThrottledInfo) => void | Promise<void>,
  ) {
    this.maxRetries = settings.maxRetries ?? 3
    this.maxDelayMs = settings.maxDelayMs ?? 30_000
    this.baseDelayMs = settings.baseDelayMs ?? 1_000
  }

  setNext(next: Middleware): void {
    this.next = next
  }

  async execute(context: Context): Promise<void> {
    const next = this.next
    if (!next) throw new Error('RetryMiddleware needs a next middleware')
    const method = methodOf(context)
    for (let attempt = 1; ; attempt++) {
      try {
        await next.execute(context)
      } catch (error) {
        if (graphRequestErrorFromChain(error)) throw error
        throw carried(transportFailure(error))
      }
      const response = context.response
      // A 429 that is not retried (retries spent, Retry-After too long) must slow pacing too.
      if (response?.status === 429) await this.onThrottled?.({ retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after')) })
      if (!response || !mayRetry(method, response) || attempt > this.maxRetries) return
      const askedMs = parseRetryAfterMs(response.headers.get('retry-after'))
      if (askedMs !== undefined && askedMs > this.maxDelayMs) return
      const delayMs = askedMs ?? this.backoffMs(attempt)
      // Release the connection of the answer we are discarding.
      await response.body?.cancel()
      this.onRetry?.({ status: response.status, attempt, delayMs })
      await sleep(delayMs)
    }
  }

  /** Half fixed, half random ("equal jitter"), so parallel callers do not retry in step. */
  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1))
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
  }
}

/**
 * Gives each HTTP request (each attempt) its own deadline through an AbortSignal, which also
 * covers reading the answer's body later (the gateway reads it after the chain returns). A
 * request past its deadline fails with GraphRequestError(0, 'Timeout').
 */
export class DeadlineMiddleware implements Middleware {
  private next?: Middleware
  /** The caller's own signal per request, so a retry gets a fresh deadline, not the last one's. */
  private readonly callerSignals = new WeakMap<Context, AbortSignal | undefined>()

  constructor(
    private readonly timeoutMs: number = DEFAULT_GRAPH_TIMEOUT_MS,
    /** Makes one attempt's deadline signal; AbortSignal.timeout (its timer does not keep the process alive). */
    private readonly deadlineSignal: (ms: number) => AbortSignal = (ms) => AbortSignal.timeout(ms),
  ) {
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${timeoutMs}`)
  }

  setNext(next: Middleware): void {
    this.next = next
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error('DeadlineMiddleware needs a next middleware')
    const deadline = this.deadlineSignal(this.timeoutMs)
    const options = (context.options ??= {})
    if (!this.callerSignals.has(context)) this.callerSignals.set(context, options.signal ?? undefined)
    const callerSignal = this.callerSignals.get(context)
    options.signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline
    try {
      await this.next.execute(context)
    } catch (error) {
      if (graphRequestErrorFromChain(error)) throw error
      throw carried(transportFailure(error, deadline))
    }
  }
}

/** The chain to pass as `Client.initWithMiddleware({ middleware })`. */
export function createGraphMiddleware(options: GraphMiddlewareOptions): Middleware[] {
  return [
    new AuthMiddleware(options.credential, options.scopes),
    new RetryMiddleware(options.retry, options.onRetry, options.onThrottled),
    new DeadlineMiddleware(options.timeoutMs),
    ...(options.onExchange ? [new RecordingMiddleware(options.onExchange)] : []),
    new HTTPMessageHandler(),
  ]
}
