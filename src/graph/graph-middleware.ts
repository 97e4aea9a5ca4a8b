// Our own middleware chain for the Graph SDK: auth -> retry -> HTTPMessageHandler.
// The SDK's default chain sends no Authorization and drops client-request-id for hosts that
// are not Graph (the simulator), and its RetryHandler does not reliably honour Retry-After;
// this chain behaves the same for every host and keeps retries bounded by our settings.
import type { TokenCredential } from '@azure/identity'
import { type Context, GraphClientError, HTTPMessageHandler, type Middleware } from '@microsoft/microsoft-graph-client'
import { GraphRequestError } from './graph-gateway.js'
import { parseRetryAfterMs } from './retry-after.js'

export const DEFAULT_GRAPH_SCOPES = ['https://graph.microsoft.com/.default']

/** Statuses Graph uses for "try again later". */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503, 504])

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

export interface GraphMiddlewareOptions {
  credential: TokenCredential
  scopes?: string[]
  retry?: RetrySettings
  onRetry?: (info: RetryInfo) => void
}

/**
 * Failures where Graph never answered (no token, no connection) get status 0. They travel
 * through the SDK as a GraphClientError, the one error type it rethrows untouched, carrying
 * our GraphRequestError; see graphRequestErrorFromChain.
 */
function chainFailure(code: string, message: string): GraphClientError {
  const error = new GraphClientError(message)
  error.customError = new GraphRequestError(0, code, message)
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

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const cause = error.cause as { code?: unknown } | undefined
  const detail = typeof cause?.code === 'string' ? ` (${cause.code})` : ''
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

/**
 * Retries 429/503/504 at most maxRetries times. Waits what Retry-After asks, else exponential
 * backoff with jitter. A Retry-After above maxDelayMs is not waited out: the response is handed
 * back as is, so the caller fails at once and can report Graph's retryAfter.
 * Network failures are not retried: the request may have reached Graph.
 */
export class RetryMiddleware implements Middleware {
  private next?: Middleware
  private readonly maxRetries: number
  private readonly maxDelayMs: number
  private readonly baseDelayMs: number

  constructor(
    settings: RetrySettings = {},
    private readonly onRetry?: (info: RetryInfo) => void,
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
    for (let attempt = 1; ; attempt++) {
      try {
        await next.execute(context)
      } catch (error) {
        if (graphRequestErrorFromChain(error)) throw error
        throw chainFailure('NetworkError', `Graph could not be reached: ${describeFailure(error)}`)
      }
      const response = context.response
      if (!response || !RETRYABLE_STATUSES.has(response.status) || attempt > this.maxRetries) return
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

/** The chain to pass as `Client.initWithMiddleware({ middleware })`. */
export function createGraphMiddleware(options: GraphMiddlewareOptions): Middleware[] {
  return [
    new AuthMiddleware(options.credential, options.scopes),
    new RetryMiddleware(options.retry, options.onRetry),
    new HTTPMessageHandler(),
  ]
}
