// A stateful, seeded stand-in for Microsoft Graph v1.0 over real HTTP: the calls guestgate
// makes, Graph's error bodies, and controls for tests (recorded calls, injected faults,
// replication lag). Sandbox mode runs it in place of graph.microsoft.com.
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest, type FastifyServerOptions, type RouteOptions } from 'fastify'
import { callerOf } from './caller.js'
import { FaultStore, type AfterApplyFault, type FaultSpec } from './faults.js'
import { defaultFaultError, GraphError, graphErrorBody, graphErrors } from './graph-error-bodies.js'
import { splitUrl } from './odata-query.js'
import { groupRoutes } from './routes/groups.js'
import { invitationRoutes } from './routes/invitations.js'
import { servicePrincipalRoutes } from './routes/service-principals.js'
import { simulatorControlRoutes } from './routes/simulator-control.js'
import { userRoutes } from './routes/users.js'
import { DEFAULT_TENANT_DOMAIN, SEED, type AppRegistrationSeed } from './seed.js'
import { lazySchemaController } from '../../schema-compilers.js'
import { SimulatedDirectory } from './state.js'
import { readStateFile, StateFileWriter } from './state-file.js'
import { Throttle, WRITE_METHODS, type ThrottlingSettings } from './throttling.js'

export type { AfterApplyFault, FaultSpec } from './faults.js'
export type { ThrottlingSettings } from './throttling.js'

export interface RecordedCall {
  method: string
  /** Request path as sent, without the query, e.g. /v1.0/users/{id}. */
  path: string
  /** Raw query string without the '?', '' when none. */
  query: string
  /** The client-request-id header the caller sent, if any. */
  clientRequestId?: string
  /** An Authorization header was sent, whatever its value. */
  hasAuthorization: boolean
  /** The status answered; 0 for a request held open by an afterApply hang fault. */
  status: number
  /** Epoch milliseconds when the request arrived. */
  at: number
}

export interface SimulatorControl {
  readonly state: SimulatedDirectory
  /** Every Graph request (under /v1.0), in arrival order of their answers. */
  readonly calls: RecordedCall[]
  /** Emits 'call' (RecordedCall) as each one is recorded: tests wait for it instead of polling. */
  readonly events: EventEmitter
  readonly faults: { inject(fault: FaultSpec): void; clear(): void }
  /**
   * Each user created afterwards (by invitation) answers "not found" to the next `requests`
   * requests that reference it by id, as member or as principal; then it behaves normally.
   */
  setReplicationLag(requests: number): void
  /** Graph's write limits (and the signInActivity read limit), scaled down; null turns them off (the default). */
  setThrottling(settings: ThrottlingSettings | null): void
  /** Back to the seed (with another app registration seed when given); calls and faults cleared. */
  reset(options?: { appRegistration?: AppRegistrationSeed }): void
  /** Saves the directory to the state file (if any); the control API calls it after its changes. */
  persist(): Promise<void>
  callsTo(method: string, pathPattern: RegExp): RecordedCall[]
}

export type GraphSimulatorApp = FastifyInstance & { simulator: SimulatorControl }

export interface GraphSimulatorOptions {
  logger?: FastifyServerOptions['logger']
  tenantDomain?: string
  /** Which Graph permissions guestgate's own service principal holds (default well-configured). */
  appRegistration?: AppRegistrationSeed
  /**
   * Keep the directory in this JSON file: loaded at start when it exists (instead of the seed),
   * written after every request that may have changed it. The sandbox uses
   * GUESTGATE_DATA_DIR/graph-simulator.json, so a restart keeps guests and audit log consistent.
   */
  stateFile?: string
  /** Sees every route as it is registered (the test that compiles every route's schemas). */
  onRoute?: (route: RouteOptions) => void
}

const GRAPH_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8'

class GraphSimulatorControl implements SimulatorControl {
  readonly calls: RecordedCall[] = []
  readonly events = new EventEmitter()
  readonly faults = new FaultStore()
  throttle: Throttle | undefined
  /** Requests held open by afterApply hang faults, released when their socket closes. */
  private readonly held = new Set<FastifyRequest>()

  constructor(
    readonly state: SimulatedDirectory,
    private readonly stateFile?: StateFileWriter,
  ) {}

  /** Saves the directory to the state file, when there is one and something changed. */
  async persist(): Promise<void> {
    await this.stateFile?.save(this.state.snapshot())
  }

  /** Resolves once the request's connection is gone (the client gave up, or releaseHeld). */
  hold(request: FastifyRequest): Promise<void> {
    const socket = request.raw.socket
    if (socket.destroyed) return Promise.resolve()
    this.held.add(request)
    return new Promise((resolve) => {
      socket.once('close', () => {
        this.held.delete(request)
        resolve()
      })
    })
  }

  /** Drops every held connection: a closing simulator must not wait for them. */
  releaseHeld(): void {
    for (const request of this.held) request.raw.socket.destroy()
  }

  setReplicationLag(requests: number): void {
    this.state.setReplicationLag(requests)
  }

  setThrottling(settings: ThrottlingSettings | null): void {
    this.throttle = settings ? new Throttle(settings, this.state.tenantId) : undefined
  }

  reset(options: { appRegistration?: AppRegistrationSeed } = {}): void {
    if (options.appRegistration) this.state.appRegistration = options.appRegistration
    this.state.reset()
    this.calls.length = 0
    this.faults.clear()
    this.throttle = undefined
  }

  callsTo(method: string, pathPattern: RegExp): RecordedCall[] {
    return this.calls.filter((call) => {
      pathPattern.lastIndex = 0
      return call.method === method.toUpperCase() && pathPattern.test(call.path)
    })
  }
}

function sendGraphError(request: FastifyRequest, reply: FastifyReply, error: GraphError): FastifyReply {
  const ids = { requestId: request.id, clientRequestId: String(reply.getHeader('client-request-id')) }
  return reply.code(error.status).headers(error.headers).send(graphErrorBody(error.code, error.message, ids))
}

/** $select or $filter names signInActivity: the reports service's own, lower limit applies. */
function readsSignInActivity(request: FastifyRequest): boolean {
  return Object.entries(request.query as Record<string, unknown>).some(([key, value]) =>
    ['$select', '$filter'].includes(key.toLowerCase()) && /signInActivity/i.test(String(value)))
}

const hasBearerToken = (request: FastifyRequest): boolean => /^Bearer\s+\S/i.test(request.headers.authorization ?? '')

/** Segments that name something (entity sets, navigation properties, casts), as opposed to keys. */
const COLLECTION_SEGMENTS = new Set(['invitations', 'users', 'groups', 'servicePrincipals', 'directoryObjects', 'members', 'memberOf', 'appRoleAssignments', 'appRoleAssignedTo', 'sponsors'])
const NAME_SEGMENTS = new Set([...COLLECTION_SEGMENTS, '$ref', 'microsoft.graph.user', 'microsoft.graph.group', 'revokeSignInSessions'])

/** The first segment Graph could not resolve; undefined when the path is fine but the method is not. */
function unresolvedSegment(path: string): string | undefined {
  let afterCollection = false
  for (const segment of path.split('/').filter((part) => part !== '').slice(1)) {
    const isKey: boolean = afterCollection && !NAME_SEGMENTS.has(segment)
    if (!isKey && !NAME_SEGMENTS.has(segment)) return segment
    afterCollection = !isKey && COLLECTION_SEGMENTS.has(segment)
  }
  return undefined
}

const graphApi: FastifyPluginAsync<{ control: GraphSimulatorControl }> = async (api, { control }) => {
  const afterApply = new WeakMap<FastifyRequest, AfterApplyFault>()

  // Faults come first: they stand for Graph failing before it looks at the request.
  api.addHook('onRequest', async (request, reply) => {
    const fault = control.faults.take(request.method, splitUrl(request.url).path)
    if (fault?.latencyMs) await delay(fault.latencyMs)
    if (fault?.arrived) await fault.arrived()
    if (fault?.afterApply) afterApply.set(request, fault.afterApply)
    if (fault?.status === undefined || fault.status < 400) return
    const defaults = defaultFaultError(fault.status)
    const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) }
    return sendGraphError(request, reply, new GraphError(fault.status, fault.code ?? defaults.code, fault.message ?? defaults.message, headers))
  })

  // Sandbox: any bearer token is accepted, none is verified.
  api.addHook('onRequest', async (request) => {
    if (!hasBearerToken(request)) throw graphErrors.accessTokenEmpty()
  })

  // Graph's limits, when a test turned them on (throttling.ts).
  api.addHook('onRequest', async (request) => {
    const throttle = control.throttle
    if (!throttle) return
    const { appId } = callerOf(request.headers.authorization)
    const throttled = WRITE_METHODS.has(request.method)
      ? throttle.admitWrite(appId)
      : request.method === 'GET' && readsSignInActivity(request) ? throttle.admitSignInActivityRead(appId) : undefined
    if (throttled) throw graphErrors.tooManyRequests(throttled)
  })

  const record = (request: FastifyRequest, status: number, elapsedMs: number) => {
    const { path, query } = splitUrl(request.url)
    const clientRequestId = request.headers['client-request-id']
    const call: RecordedCall = {
      method: request.method,
      path,
      query,
      ...(typeof clientRequestId === 'string' ? { clientRequestId } : {}),
      hasAuthorization: request.headers.authorization !== undefined,
      status,
      at: Math.round(Date.now() - elapsedMs),
    }
    control.calls.push(call)
    control.events.emit('call', call)
  }

  api.addHook('onSend', async (request, reply, payload) => {
    // On disk before the caller hears about it (a failed request may have changed nothing: then nothing is written).
    if (request.method !== 'GET' && request.method !== 'HEAD') await control.persist()
    const fault = afterApply.get(request)
    if (fault && reply.statusCode < 300) {
      // The handler has applied the request; the caller is not told.
      if ('hang' in fault) {
        record(request, 0, reply.elapsedTime)
        await control.hold(request)
        return payload
      }
      const { code, message } = defaultFaultError(fault.status)
      reply.code(fault.status).header('content-type', 'application/json; charset=utf-8')
      payload = JSON.stringify(graphErrorBody(code, message, { requestId: request.id, clientRequestId: String(reply.getHeader('client-request-id')) }))
    }
    if (String(reply.getHeader('content-type') ?? '').startsWith('application/json')) reply.header('content-type', GRAPH_JSON)
    record(request, reply.statusCode, reply.elapsedTime)
    return payload
  })

  // Graph ignores an empty body (a DELETE sent with a JSON content type); POST handlers refuse it themselves.
  const parseJson = api.getDefaultJsonParser('error', 'error')
  api.removeContentTypeParser('application/json')
  api.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString()
    if (text === '') return done(null, undefined)
    // Fastify's default JSON parser answers through done (its type also allows a promise-returning parser).
    void parseJson(request, text, done)
  })

  api.setErrorHandler<FastifyError>((error, request, reply) => {
    if (error instanceof GraphError) return sendGraphError(request, reply, error)
    // Fastify's body parser refusing a missing or malformed JSON body.
    if (error.statusCode === 400) return sendGraphError(request, reply, graphErrors.unreadableJson())
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return sendGraphError(request, reply, new GraphError(error.statusCode, 'BadRequest', error.message))
    }
    request.log.error({ err: error }, 'graph simulator failed')
    return sendGraphError(request, reply, new GraphError(500, 'generalException', 'General exception while processing.'))
  })

  api.setNotFoundHandler((request, reply) => {
    const segment = unresolvedSegment(splitUrl(request.url).path)
    return sendGraphError(request, reply, segment === undefined ? graphErrors.methodNotAllowed() : graphErrors.segmentNotFound(segment))
  })

  const directory = control.state
  await api.register(invitationRoutes, { directory })
  await api.register(userRoutes, { directory })
  await api.register(groupRoutes, { directory })
  await api.register(servicePrincipalRoutes, { directory })
}

export async function buildGraphSimulator(options: GraphSimulatorOptions = {}): Promise<GraphSimulatorApp> {
  const app: FastifyInstance = Fastify({
    logger: options.logger ?? false,
    genReqId: () => randomUUID(),
    // A misspelt fault property must fail, not be dropped silently.
    ajv: { customOptions: { removeAdditional: false } },
    // Request schemas compile on a route's first request (test/graph/simulator/schemas.test.ts
    // compiles them all).
    schemaController: lazySchemaController({ validators: true }),
    // Closing drops every connection, kept-alive or held open by a hang fault: a test's teardown
    // must not wait for its clients' keep-alive timers.
    forceCloseConnections: true,
  })
  const directory = new SimulatedDirectory(SEED.tenantId, options.tenantDomain ?? DEFAULT_TENANT_DOMAIN, options.appRegistration)
  const writer = options.stateFile ? new StateFileWriter(options.stateFile) : undefined
  const saved = options.stateFile ? await readStateFile(options.stateFile) : undefined
  if (saved) {
    directory.restore(saved)
    writer?.loaded(directory.snapshot())
  }
  const control = new GraphSimulatorControl(directory, writer)
  app.decorate('simulator', control)
  if (options.onRoute) app.addHook('onRoute', options.onRoute)

  // Graph answers every request, errors included, with both correlation headers.
  app.addHook('onRequest', async (request, reply) => {
    const sent = request.headers['client-request-id']
    reply.header('request-id', request.id)
    reply.header('client-request-id', typeof sent === 'string' && sent !== '' ? sent : randomUUID())
  })
  app.setNotFoundHandler((request, reply) => {
    const version = splitUrl(request.url).path.split('/')[1] ?? ''
    return sendGraphError(request, reply, graphErrors.invalidVersion(version))
  })

  app.addHook('preClose', async () => control.releaseHeld())
  await app.register(graphApi, { prefix: '/v1.0', control })
  await app.register(simulatorControlRoutes, { prefix: '/_simulator', control })
  return app as GraphSimulatorApp
}
