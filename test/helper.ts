// Builds the real app for a test: its own Postgres database, the Graph simulator listening on a
// loopback port and reached by the real SDK over HTTP, sandbox tokens from the real issuer.
import Fastify, { type FastifyInstance, type LightMyRequestResponse, type RouteOptions } from 'fastify'
import { buildApp, type AppOptions } from '../src/app.js'
import { loadConfig, type AppConfig } from '../src/config.js'
import { buildGraphSimulator, type GraphSimulatorApp } from '../src/graph/simulator/graph-simulator.js'
import { serverOptions } from '../src/server-options.js'
import { createTestDatabase } from './helpers/database.js'

export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestApp {
  app: FastifyInstance
  config: AppConfig
  simulator: GraphSimulatorApp['simulator']
  databaseUrl: string
  /** A sandbox token for these roles (and optional identity). */
  token: (roles: string[], extra?: { name?: string; oid?: string; tenantId?: string; expiresInSeconds?: number }) => Promise<string>
  /** app.inject with a bearer token. */
  as: (token: string, request: { method: string; url: string; payload?: unknown; headers?: Record<string, string> }) => Promise<LightMyRequestResponse>
}

export interface BuildOptions {
  reloadPolicyOnSighup?: boolean
  /** Sees every route as it is registered (route coverage tests). */
  onRoute?: (route: RouteOptions) => void
  /** Where the app's JSON log lines go (silent when absent). */
  log?: { write(line: string): void }
  /** How the app reaches its database (e.g. through a test proxy); the test database itself by default. */
  databaseUrl?: (connectionString: string) => string
  /** More options of the app (e.g. the expiry scheduler's clock). */
  app?: Pick<AppOptions, 'expiry'>
}

export async function build(t: Teardown, env: Record<string, string> = {}, options: BuildOptions = {}): Promise<TestApp> {
  const database = await createTestDatabase(t)
  const sim = await buildGraphSimulator({ logger: false })
  await sim.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => sim.close())
  const address = sim.server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  const config = loadConfig({
    DATABASE_URL: options.databaseUrl?.(database.connectionString) ?? database.connectionString,
    GRAPH_BASE_URL: `http://127.0.0.1:${port}/v1.0`,
    GRAPH_RETRY_BASE_DELAY_MS: '5',
    GRAPH_MAX_RETRY_DELAY_MS: '1000',
    GRAPH_REPLICATION_BASE_DELAY_MS: '5',
    // Tests of other things send bursts; the budget has its own tests.
    GUESTGATE_INVITATIONS_PER_MINUTE: '60000',
    GUESTGATE_INVITATION_BURST: '10000',
    GRAPH_WRITES_PER_SECOND: '1000',
    GRAPH_WRITE_BURST: '10000',
    LOG_LEVEL: 'silent',
    ...env,
  })
  const app = Fastify(serverOptions(config, options.log ?? false))
  if (options.onRoute) app.addHook('onRoute', options.onRoute)
  // A start that fails (a bad policy file, say) must still release what already started.
  t.teardown(() => app.close())
  await app.register(buildApp, { config, reloadPolicyOnSighup: options.reloadPolicyOnSighup, ...options.app })
  await app.ready()

  return {
    app,
    config,
    simulator: sim.simulator,
    databaseUrl: database.connectionString,
    async token(roles, extra = {}) {
      const response = await app.inject({ method: 'POST', url: '/v1/sandbox/tokens', payload: { roles, ...extra } })
      if (response.statusCode !== 201) throw new Error(`token mint failed: ${response.body}`)
      return response.json<{ accessToken: string }>().accessToken
    },
    as(token, request) {
      return app.inject({
        method: request.method as 'GET',
        url: request.url,
        payload: request.payload as string | object | undefined,
        headers: { authorization: `Bearer ${token}`, ...request.headers },
      })
    },
  }
}
