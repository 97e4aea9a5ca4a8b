// Starts the service: configuration, tracing (before the app's modules load, so that pg, http
// and Fastify are instrumented), the sandbox's embedded database (under its own timeout), then
// the app, then listen. Every start-up failure is one line naming what to fix, and exit code 1.
// SIGTERM and SIGINT drain in-flight requests and exit 0; SIGHUP only reloads the policy.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import v8 from 'node:v8'
import { describeConfig, loadConfig, type AppConfig } from './config.js'
import { packageRoot } from './package-root.js'
import { exitOnStartupFailure } from './startup/startup-failure.js'

let config: AppConfig
try {
  config = loadConfig(process.env)
} catch (error) {
  exitOnStartupFailure(error)
}
const verbose = config.logLevel === 'debug' || config.logLevel === 'trace'
const version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version

// Embedded Postgres is 9 MB of WASM: V8 compiles it with Liftoff, then recompiles whatever runs
// hot with TurboFan on the other core, about 1.5 CPU-seconds during the start and the first
// queries, for no measurable gain in the sandbox's steady state (PGlite's JS side dominates a
// query). Set before any WASM module is compiled (Prisma's query compiler is WASM too).
if (config.mode === 'sandbox' && !config.databaseUrl) v8.setFlagsFromString('--liftoff-only')

// The sandbox issuer's RSA key is made on the thread pool while the modules load and the database
// opens (an import that fails here fails again, reported, when the app loads).
if (config.mode === 'sandbox') void import('./auth/sandbox-issuer.js').then((issuer) => issuer.prepareSandboxKey(), () => {})

const tracing = config.otlpEndpoint ? await (await import('./tracing.js')).startTracing(config, version) : undefined

const [{ default: closeWithGrace }, { default: Fastify }, { buildApp }, { serverOptions }, { createLogger }, { openEmbeddedDatabase }, { lockSandboxFolder }] =
  await Promise.all([
    import('close-with-grace'),
    import('fastify'),
    import('./app.js'),
    import('./server-options.js'),
    import('./logger.js'),
    import('./startup/embedded-database.js'),
    import('./startup/sandbox-folder.js'),
  ])

const log = createLogger(config)
let closing: (() => Promise<void>) | undefined
const cleanups: (() => Promise<void>)[] = []

// Installed first, so a signal during a long start (creating the embedded database) stops cleanly too.
closeWithGrace({
  delay: config.shutdownGraceMs,
  // SIGHUP reloads the policy (src/policies/policy-store.ts); it never stops the service.
  skip: ['SIGHUP'],
  logger: { error: (message: unknown) => log.error({ err: message instanceof Error ? message : undefined }, String(message)) },
  onTimeout: (delay) => log.error({ graceMs: delay }, 'in-flight requests did not finish within GUESTGATE_SHUTDOWN_GRACE_SECONDS: exiting anyway'),
}, async ({ signal, err }) => {
  if (err) log.error({ err }, 'closing after an error')
  else log.info({ signal }, 'closing: no new requests; waiting for those in flight')
  await closing?.()
  for (const cleanup of cleanups.reverse()) await cleanup()
  await tracing?.shutdown().catch((error: unknown) => log.warn({ err: error }, 'traces could not be flushed'))
  log.info('closed')
})

let address: string
try {
  // The sandbox's files (embedded database, simulated directory) have one writer at a time.
  if (config.mode === 'sandbox' && (!config.databaseUrl || !config.graphBaseUrl)) cleanups.push(await lockSandboxFolder(config))
  const embedded = config.mode === 'sandbox' && !config.databaseUrl ? await openEmbeddedDatabase(config, log) : undefined
  if (embedded) cleanups.push(() => embedded.stop())
  const app = Fastify(serverOptions(config, log))
  closing = () => {
    // Fastify closes the idle keep-alive connections once; a connection whose request finishes
    // later would stay open until Node's keep-alive timeout (72 s) and hold the exit: from now
    // on a finished response leaves its connection idle for 1 ms only.
    app.server.keepAliveTimeout = 1
    return app.close()
  }
  await app.register(buildApp, { config, reloadPolicyOnSighup: true, embeddedDatabase: embedded, processMetrics: true })
  address = await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
    exitOnStartupFailure(error, { listen: { host: config.host, port: config.port }, verbose })
  })
} catch (error) {
  exitOnStartupFailure(error, { verbose })
}

log.info({ ...describeConfig(config), version }, 'guestgate started')
if (config.mode === 'sandbox') {
  console.log([
    '',
    '  guestgate is running in SANDBOX MODE',
    `  - Graph: ${config.graphBaseUrl ?? 'the embedded simulator (no real tenant is touched)'}`,
    `  - Database: ${config.databaseUrl ? 'DATABASE_URL' : `embedded Postgres under ${config.dataDir}`}`,
    `  - Tokens: POST ${address}/v1/sandbox/tokens {"roles":["Guests.Invite"]}`,
    `  - Docs: ${address}/docs`,
    '',
  ].join('\n'))
}
