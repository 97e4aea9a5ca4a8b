// Starts the Graph simulator on a loopback port for one test and talks to it with fetch.
import { buildGraphSimulator, type GraphSimulatorApp, type SimulatorControl } from '../../../src/graph/simulator/graph-simulator.js'

export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface GraphAnswer {
  status: number
  headers: Headers
  /** Parsed JSON, undefined for an empty body. */
  body: any
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
  request(method: string, path: string, options?: RequestOptions): Promise<GraphAnswer>
  /** GET with `ConsistencyLevel: eventual`. */
  eventual(path: string): Promise<GraphAnswer>
}

export const EVENTUAL = { ConsistencyLevel: 'eventual' }

export async function startSimulator(t: Teardown): Promise<SimulatorClient> {
  const app = await buildGraphSimulator({ logger: false })
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())

  async function request(method: string, path: string, options: RequestOptions = {}): Promise<GraphAnswer> {
    const headers: Record<string, string> = { ...(options.anonymous ? {} : { Authorization: 'Bearer sandbox-token' }), ...options.headers }
    if (options.body !== undefined) headers['Content-Type'] = 'application/json'
    const response = await fetch(origin + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) }
  }

  return {
    app,
    sim: app.simulator,
    origin,
    request,
    eventual: (path) => request('GET', path, { headers: EVENTUAL }),
  }
}

/** Invites a guest and returns the new user's id. */
export async function inviteGuest(client: SimulatorClient, email: string, displayName?: string): Promise<string> {
  const answer = await client.request('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: email, inviteRedirectUrl: 'https://myapps.microsoft.com', ...(displayName ? { invitedUserDisplayName: displayName } : {}) },
  })
  if (answer.status !== 201) throw new Error(`invitation failed: ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body.invitedUser.id as string
}

export const directoryObjectRef = (id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` })
