// Starts the service: configuration, the sandbox's embedded database (opening on its own thread
// from here on, under its own timeout), tracing (before the app's modules load, so that pg, http
// and Fastify are instrumented), then the app, then listen. Every start-up failure is one line
// naming what to fix, and exit code 1. SIGTERM and SIGINT drain in-flight requests and exit 0;
// SIGHUP only reloads the policy.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { AppConfig } from './config.js'
import { enableCompileCache, flushCompileCache } from './startup/compile-cache.js'
import type { exitOnStartupFailure } from './startup/startup-failure.js'

// Before any of the app's modules load (from here on, all of them through import()).
enableCompileCache()
const [{ describeConfig, loadConfig }, { compileWasmWithLiftoffOnly }, { packageRoot }] = await Promise.all([
  import('./config.js'),
  import('./db/wasm-tiering.js'),
  import('./package-root.js'),
])

// Loaded only when a start fails (it brings the policy file's parser).
async function failStart(error: unknown, options: Parameters<typeof exitOnStartupFailure>[1] = {}): Promise<never> {
  return (await import('./startup/startup-failure.js')).exitOnStartupFailure(error, options)
}

let config: AppConfig
try {
  config = loadConfig(process.env)
} catch (error) {
  config = await failStart(error)
}
const verbose = config.logLevel === 'debug' || config.logLevel === 'trace'
const embeddedDatabase = config.mode === 'sandbox' && !config.databaseUrl

if (embeddedDatabase) compileWasmWithLiftoffOnly()

const [{ default: closeWithGrace }, { createLogger }, { openEmbeddedDatabase }, { lockSandboxFolder }] = await Promise.all([
  import('close-with-grace'),
  import('./logger.js'),
  import('./startup/embedded-database.js'),
  import('./startup/sandbox-folder.js'),
])
const log = createLogger(config)
const cleanups: (() => Promise<void>)[] = []

// The embedded database opens on its own thread while this one loads the app, the bulk of a
// warm start: it starts as early as it can.
let embeddedOpening: ReturnType<typeof openEmbeddedDatabase> | undefined
try {
  // The sandbox's files (embedded database, simulated directory) have one writer at a time.
  if (config.mode === 'sandbox' && (!config.databaseUrl || !config.graphBaseUrl)) cleanups.push(await lockSandboxFolder(config))
  if (embeddedDatabase) {
    const opening = openEmbeddedDatabase(config, log)
    embeddedOpening = opening
    // Awaited below; until then its failure is not unhandled. Stopped last on close.
    opening.catch(() => {})
    cleanups.push(async () => { await (await opening.catch(() => undefined))?.stop() })
  }
} catch (error) {
  await failStart(error, { verbose })
}

// The sandbox issuer's RSA key is made on the thread pool while the modules load (an import that
// fails here fails again, reported, when the app loads).
if (config.mode === 'sandbox') void import('./auth/sandbox-issuer.js').then((issuer) => issuer.prepareSandboxKey(), () => {})

const version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
const tracing = config.otlpEndpoint ? await (await import('./tracing.js')).startTracing(config, version) : undefined

let closing: (() => Promise<void>) | undefined
// Installed before the app loads, so a signal during a long start (creating the embedded
// database) stops cleanly too.
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
  const [{ default: Fastify }, { buildApp }, { serverOptions }] = await Promise.all([
    import('fastify'),
    import('./app.js'),
    import('./server-options.js'),
  ])
  const embedded = await embeddedOpening
  const app = Fastify(serverOptions(config, log))
  closing = () => {
    // Fastify closes the idle keep-alive connections once; a connection whose request finishes
    // later would stay open until Node's keep-alive timeout (72 s) and hold the exit: from now
    // on a finished response leaves its connection idle for 1 ms only.
    app.server.keepAliveTimeout = 1
    return app.close()
  }
  await app.register(buildApp, { config, reloadPolicyOnSighup: true, embeddedDatabase: embedded, processMetrics: true })
  address = await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => failStart(error, { listen: { host: config.host, port: config.port }, verbose }))
} catch (error) {
  address = await failStart(error, { verbose })
}

log.info({ ...describeConfig(config), version }, 'guestgate started')
flushCompileCache()
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
