// Starts the Graph simulator on a loopback port for one test and talks to it with fetch.
import { buildGraphSimulator, type GraphSimulatorApp, type SimulatorControl } from '../../../src/graph/simulator/graph-simulator.js'
import type { GraphErrorBody } from '../../../src/graph/simulator/graph-error-bodies.js'

export interface Teardown {
  teardown(fn: () => unknown): void
}

/** A JSON object as Graph answers it; a test that reads deeper says what it expects (request<GraphCollection<{ id: string }>>). */
export type GraphJson = Record<string, unknown>

export interface GraphAnswer<T = GraphJson> {
  status: number
  headers: Headers
  /** Parsed JSON, undefined for an empty body. */
  body: T
}

/** Graph's error body. */
export type GraphErrorJson = GraphErrorBody

/** A page of a Graph collection. */
export interface GraphCollection<T = GraphJson> {
  value: T[]
  '@odata.count'?: number
  '@odata.nextLink'?: string
  '@odata.context'?: string
}

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
  /** Send no Authorization header. */
  anonymous?: boolean
}

export interface SimulatorClient {
  app: GraphSimulatorApp
  sim: SimulatorControl
  /** http://127.0.0.1:PORT */
  origin: string
  /** A request to origin + path (path includes /v1.0 for Graph calls). */
  request<T = GraphJson>(method: string, path: string, options?: RequestOptions): Promise<GraphAnswer<T>>
  /** GET with `ConsistencyLevel: eventual`. */
  eventual<T = GraphJson>(path: string): Promise<GraphAnswer<T>>
}

export const EVENTUAL = { ConsistencyLevel: 'eventual' }

export async function startSimulator(t: Teardown): Promise<SimulatorClient> {
  const app = await buildGraphSimulator({ logger: false })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())

  async function request<T = GraphJson>(method: string, path: string, options: RequestOptions = {}): Promise<GraphAnswer<T>> {
    const headers: Record<string, string> = { ...(options.anonymous ? {} : { Authorization: 'Bearer sandbox-token' }), ...options.headers }
    if (options.body !== undefined) headers['Content-Type'] = 'application/json'
    const response = await fetch(origin + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: (text === '' ? undefined : JSON.parse(text)) as T }
  }

  return {
    app,
    sim: app.simulator,
    origin,
    request,
    eventual: <T = GraphJson>(path: string) => request<T>('GET', path, { headers: EVENTUAL }),
  }
}

/** Invites a guest and returns the new user's id. */
export async function inviteGuest(client: SimulatorClient, email: string, displayName?: string): Promise<string> {
  const answer = await client.request<{ invitedUser: { id: string } }>('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: email, inviteRedirectUrl: 'https://myapps.microsoft.com', ...(displayName ? { invitedUserDisplayName: displayName } : {}) },
  })
  if (answer.status !== 201) throw new Error(`invitation failed: ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body.invitedUser.id
}

export const directoryObjectRef = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` })
