// A record of one HTTP exchange with Graph, safe to keep: no Authorization header, no access
// token, no invitation redemption link (it lets whoever holds it redeem the invitation).
// The conformance script keeps these as its evidence; any other recorder may use them too.
import type { Context, Middleware } from '@microsoft/microsoft-graph-client'

export interface GraphExchange {
  /** ISO time the request left. */
  at: string
  method: string
  url: string
  /** client-request-id and the other request headers worth keeping; never Authorization. */
  requestHeaders: Record<string, string>
  requestBody?: unknown
  /** 0 when no answer came (timeout, connection failure). */
  status: number
  /** request-id, client-request-id, retry-after, content-type, location. */
  responseHeaders: Record<string, string>
  responseBody?: unknown
  durationMs: number
  /** Why there was no answer. */
  error?: string
}

const KEPT_REQUEST_HEADERS = new Set(['client-request-id', 'consistencylevel', 'content-type', 'prefer'])
const KEPT_RESPONSE_HEADERS = ['request-id', 'client-request-id', 'retry-after', 'content-type', 'location']
const JWT = /\beyJ[\w-]+\.[\w-]+\.[\w-]*/g
const REDACTED_KEYS: ReadonlySet<string> = new Set(['inviteredeemurl', 'access_token', 'refresh_token', 'client_secret'])

/** The value with redemption links, tokens and secrets replaced by markers. */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(JWT, '<redacted token>')
  if (Array.isArray(value)) return value.map(redact)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(Object.entries(value).map(([key, item]) =>
    [key, REDACTED_KEYS.has(key.toLowerCase()) && item !== null ? `<redacted ${key}>` : redact(item)]))
}

function parsedBody(text: string): unknown {
  if (text === '') return undefined
  try {
    return redact(JSON.parse(text))
  } catch {
    return redact(text)
  }
}

function headerEntries(headers: unknown): Array<[string, string]> {
  if (headers instanceof Headers) return [...headers.entries()]
  if (Array.isArray(headers)) return headers.map(([key, value]) => [String(key), String(value)])
  return Object.entries((headers ?? {}) as Record<string, string>)
}

/** Sits right before the HTTP handler: one record per attempt, retries included. */
export class RecordingMiddleware implements Middleware {
  private next?: Middleware

  constructor(private readonly record: (exchange: GraphExchange) => void) {}

  setNext(next: Middleware): void {
    this.next = next
  }

  async execute(context: Context): Promise<void> {
    if (!this.next) throw new Error('RecordingMiddleware needs a next middleware')
    const started = Date.now()
    const options = context.options ?? {}
    const exchange: GraphExchange = {
      at: new Date(started).toISOString(),
      method: (options.method ?? 'GET').toUpperCase(),
      url: typeof context.request === 'string' ? context.request : context.request.url,
      requestHeaders: Object.fromEntries(headerEntries(options.headers).filter(([key]) => KEPT_REQUEST_HEADERS.has(key.toLowerCase()))),
      ...(typeof options.body === 'string' ? { requestBody: parsedBody(options.body) } : {}),
      status: 0,
      responseHeaders: {},
      durationMs: 0,
    }
    try {
      await this.next.execute(context)
      const response = context.response
      if (response) {
        exchange.status = response.status
        exchange.responseHeaders = Object.fromEntries(KEPT_RESPONSE_HEADERS.flatMap((name) => {
          const value = response.headers.get(name)
          return value === null ? [] : [[name, value]]
        }))
        const body = await response.clone().text().catch(() => '')
        const parsed = parsedBody(body)
        if (parsed !== undefined) exchange.responseBody = parsed
      }
    } catch (error) {
      exchange.error = error instanceof Error ? error.message.split('\n')[0] : String(error)
      throw error
    } finally {
      exchange.durationMs = Date.now() - started
      this.record(exchange)
    }
  }
}
