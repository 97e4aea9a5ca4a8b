// One TypeBox schema for every setting, checked once at start. Keys are the environment
// variable names, so an error names the variable to fix; each has a description, from which the
// README's configuration table is generated (`npm run docs:config`, a test keeps them equal).
// Keep it ONE flat object: every concern adds its variables here.
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import path from 'node:path'
import { graphCredentialSettingsFromEnv, type GraphCredentialSettings } from './graph/graph-credential.js'
import { packageRoot } from './package-root.js'

// `expected` says in words what a value must be: in errors and in the README table.
const Guid = (description: string) => Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', expected: 'a GUID', description })
const Url = (scheme: 'https' | 'http(s)' | 'postgresql', description: string, fallback?: string) => Type.String({
  pattern: scheme === 'https' ? '^https://' : scheme === 'http(s)' ? '^https?://' : '^postgres(ql)?://',
  expected: `a ${scheme}:// URL`,
  description,
  ...(fallback === undefined ? {} : { default: fallback }),
})
const Text = (description: string, fallback?: string) =>
  Type.String({ minLength: 1, expected: 'text', description, ...(fallback === undefined ? {} : { default: fallback }) })
const Integer = (minimum: number, maximum: number, fallback: number | undefined, description: string) =>
  Type.Integer({ minimum, maximum, expected: `an integer from ${minimum} to ${maximum}`, description, ...(fallback === undefined ? {} : { default: fallback }) })
const Flag = (fallback: boolean | undefined, description: string) =>
  Type.Boolean({ expected: 'true or false', description, ...(fallback === undefined ? {} : { default: fallback }) })
const OneOf = <T extends string>(values: readonly T[], description: string, fallback?: T) =>
  Type.Union(values.map((v) => Type.Literal(v)), { description, expected: `one of ${values.join(', ')}`, ...(fallback === undefined ? {} : { default: fallback }) })

export const ConfigSchema = Type.Object({
  GUESTGATE_MODE: Type.Optional(OneOf(['sandbox', 'tenant'] as const,
    'Which mode to run. Unset: tenant mode when any tenant variable (GUESTGATE_TENANT_ID, AZURE_TENANT_ID, GUESTGATE_API_AUDIENCE, GUESTGATE_APP_ID, AZURE_CLIENT_*) is set; sandbox mode only when none is set and HOST is a loopback address; otherwise the start is refused.')),
  PORT: Integer(0, 65535, 3000, 'TCP port to listen on (0: any free port).'),
  HOST: Text('Address to listen on. A non-loopback address never selects sandbox mode by itself.', '127.0.0.1'),
  LOG_LEVEL: OneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'Least severe level logged.', 'info'),
  LOG_FORMAT: OneOf(['auto', 'json', 'pretty'] as const, 'json: one JSON object per line; pretty: readable lines (pino-pretty); auto: pretty when standard output is a terminal, else json.', 'auto'),
  DATABASE_URL: Type.Optional(Url('postgresql', 'Postgres connection URL. Required in tenant mode; in sandbox mode unset means the embedded database under GUESTGATE_DATA_DIR.')),
  DATABASE_POOL_SIZE: Integer(1, 100, 10, 'Connections in the Postgres pool of each process.'),
  GUESTGATE_APPLY_MIGRATIONS: Flag(true, 'Apply pending database migrations at start. Turn off when a separate step migrates as the owner and the service runs as a less privileged role (docker-compose does).'),
  GUESTGATE_DATA_DIR: Text('Sandbox data folder (embedded Postgres, simulated directory); a relative path is resolved against the working directory. `npm run sandbox:reset` empties it.', '.data'),
  GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS: Integer(1, 3600, 300, 'Sandbox: how long the embedded database may take to start (creating a new one takes a while on a busy machine).'),
  GUESTGATE_POLICY_FILE: Type.Optional(Text('Policy file (YAML, or JSON by its .json name); a relative path is resolved against the working directory. Required in tenant mode; the sandbox uses config/policy.sandbox.yaml. SIGHUP reloads it.')),
  GUESTGATE_TENANT_ID: Type.Optional(Guid('Entra tenant id (tenant mode). AZURE_TENANT_ID is accepted in its place; when both are set they must be equal.')),
  GUESTGATE_API_AUDIENCE: Type.Optional(Text('Tenant mode: accepted token audiences (`aud`), comma-separated: the Application ID URI and/or the client id of guestgate\'s app registration.')),
  GUESTGATE_APP_ID: Type.Optional(Guid('Tenant mode: application (client) id of guestgate\'s own app registration, never a target of app role grants. Defaults to AZURE_CLIENT_ID.')),
  GUESTGATE_AUTH_AUTHORITY: Url('http(s)', 'Token issuer authority: tokens must come from <authority>/<tenant>/v2.0, keys are read from <authority>/<tenant>/discovery/v2.0/keys.', 'https://login.microsoftonline.com'),
  GUESTGATE_CLOCK_SKEW_SECONDS: Integer(0, 300, 60, 'Tolerated clock difference when checking token times.'),
  GUESTGATE_DEFAULT_REDIRECT_URL: Url('https', 'Redirect URL of invitations that name none (the policy must allow it).', 'https://myapps.microsoft.com/'),
  GUESTGATE_BODY_LIMIT_BYTES: Integer(1024, 10_485_760, 65_536, 'Largest request body accepted (larger: 413).'),
  GUESTGATE_REQUEST_TIMEOUT_SECONDS: Integer(1, 3600, 30, 'Time a client has to send a whole request (headers and body); slower requests are cut with 408.'),
  GUESTGATE_CONNECTION_TIMEOUT_SECONDS: Integer(1, 3600, 300, 'A connection idle this long (nothing received or sent) is closed. Keep it above the longest Graph retry sequence.'),
  GUESTGATE_SHUTDOWN_GRACE_SECONDS: Integer(0, 3600, 30, 'On SIGTERM or SIGINT: time in-flight requests get to finish before the process exits anyway (exit code 1).'),
  GUESTGATE_CORS_ORIGINS: Type.Optional(Text('Browser origins allowed to call the API (CORS), comma-separated, e.g. https://portal.example.com. Unset: no cross-origin access.')),
  GUESTGATE_METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, expected: 'at least 16 characters', description: 'When set, GET /metrics requires `Authorization: Bearer <this value>`; unset, /metrics is open to whoever reaches the port.' })),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Url('http(s)', 'OpenTelemetry: send traces over OTLP/HTTP to this collector (spans go to <endpoint>/v1/traces). Unset: no tracing. The other standard OTEL_* variables (headers, timeouts) apply.')),
  OTEL_SERVICE_NAME: Text('OpenTelemetry: service.name of the traces.', 'guestgate'),
  DATABASE_CONNECT_TIMEOUT_MS: Integer(100, 120_000, 5000, 'Longest wait for a database connection (a new one, or a free one from a full pool); the embedded sandbox database, one connection for everything, waits at least 30 s.'),
  DATABASE_QUERY_TIMEOUT_MS: Integer(100, 600_000, 10_000, 'Longest a database statement may run (the server\'s statement_timeout); a server that does not answer at all is given up on a second later, and a transaction idle three times as long is ended.'),
  DATABASE_HEALTH_INTERVAL_MS: Integer(100, 60_000, 2000, 'How often the database is probed. While it does not answer, every route but /healthz and /readyz answers 503 with Retry-After, before doing anything.'),
  GUESTGATE_RECONCILE_AFTER_SECONDS: Integer(1, 86_400, 60, 'An audit intent without outcome this old is settled by reading Graph (the reconciler). Must exceed GRAPH_TIMEOUT_MS.'),
  GUESTGATE_RECONCILE_INTERVAL_SECONDS: Integer(1, 86_400, 60, 'How often the reconciler runs (one replica at a time).'),
  GUESTGATE_IDEMPOTENCY_TTL_HOURS: Integer(1, 720, 24, 'How long an Idempotency-Key and its first response are kept.'),
  GUESTGATE_DIRECTORY_CACHE_SECONDS: Integer(0, 3600, 60, 'How long GET /v1/me/permissions reuses the names and kinds of the policy\'s applications and groups read from Graph (per tenant and policy version; a new policy version reads them again). 0: read them on every call.'),
  GRAPH_WRITES_PER_SECOND: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 16, expected: 'a number above 0, at most 1000',
    description: 'guestgate\'s Graph write budget per tenant, shared by every replica, single requests and bulk jobs (Graph allows 3,000 writes per 150 s = 20/s per app and tenant).' }),
  GRAPH_WRITE_BURST: Integer(1, 10_000, 40, 'Graph writes that may go at once after a quiet spell.'),
  GUESTGATE_INVITATIONS_PER_MINUTE: Type.Number({ exclusiveMinimum: 0, maximum: 60_000, default: 20, expected: 'a number above 0, at most 60000',
    description: 'Invitations (and resends) per minute per tenant, within the write budget: conservative, since bursts of invitations have got directories blocked by Microsoft.' }),
  GUESTGATE_INVITATION_BURST: Integer(1, 10_000, 5, 'Invitations that may go at once after a quiet spell.'),
  GRAPH_BUDGET_MAX_WAIT_MS: Integer(0, 600_000, 10_000, 'How long a single request waits for the write budget before answering 503 with Retry-After (bulk jobs wait as long as needed).'),
  GUESTGATE_BULK_CONCURRENCY: Integer(1, 64, 4, 'Bulk invitation rows each process runs at once (each waits for the Graph write budget, so more only helps when Graph is slow to answer).'),
  GUESTGATE_BULK_MAX_ROWS: Integer(1, 100_000, 10_000, 'Most rows one bulk invitation file may have (more: 413 with the count).'),
  GUESTGATE_BULK_BODY_LIMIT_BYTES: Integer(1024, 104_857_600, 10_485_760, 'Largest bulk invitation file accepted (POST /v1/bulk/invitations; larger: 413).'),
  GUESTGATE_BULK_ROW_TIMEOUT_SECONDS: Integer(1, 86_400, 600, 'A bulk row running this long (its process died, or it waits for the budget that long) is given to another worker, which resumes it without repeating its Graph writes.'),
  GUESTGATE_QUEUE_MAINTENANCE_SECONDS: Integer(1, 3600, 60, 'How often the job queue looks for jobs whose process died (past their timeout) to run them again.'),
  GUESTGATE_QUEUE_POLL_SECONDS: Integer(1, 3600, 2, 'How often an idle worker asks the job queue for bulk rows and webhook deliveries that other replicas queued or whose retry fell due (a query each time, per worker). Work queued by this replica starts at once.'),
  GRAPH_TIMEOUT_MS: Integer(1, 600_000, 30_000, 'Deadline of each Graph HTTP request; past it the call fails and a write is settled by reading Graph.'),
  GUESTGATE_RATE_LIMIT_MAX: Integer(1, 1_000_000, 600, 'Requests one caller (tenant + object id) may make per window on authenticated routes.'),
  GUESTGATE_RATE_LIMIT_WHAT_IF_MAX: Integer(1, 1_000_000, 60, 'What-if checks (POST /v1/authorization/check) one caller may make per window.'),
  GUESTGATE_RATE_LIMIT_ANONYMOUS_MAX: Integer(1, 1_000_000, 300, 'Requests per window from one address without a valid token (docs, sandbox tokens, refused tokens).'),
  GUESTGATE_RATE_LIMIT_WINDOW_SECONDS: Integer(1, 86_400, 60, 'The rate limit window.'),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', expected: 'a redis:// or rediss:// URL', description: 'Redis for rate limits shared by all replicas (unset: counted in memory per process).' })),
  GUESTGATE_RATE_LIMIT_REDIS_PREFIX: Type.String({ minLength: 1, maxLength: 100, default: 'guestgate:rate-limit:', expected: 'text of at most 100 characters', description: 'Prefix of the rate limit keys in Redis (to share one Redis between deployments).' }),
  GUESTGATE_TRUST_PROXY: Type.Optional(Type.String({ minLength: 1, expected: 'false, or the proxies\' addresses and CIDRs, comma-separated (not true, not a hop count)',
    description: 'Load balancers and proxies in front of guestgate whose X-Forwarded-For is believed: comma-separated addresses or CIDRs, e.g. 10.0.0.0/8,127.0.0.1. A request arriving from one of them is rate-limited and logged (remoteAddress) under the client address it forwards, not the balancer\'s. Unset or false: X-Forwarded-For is ignored. Refused: true, 0.0.0.0/0, ::/0 and hop counts, with which any client could choose its address.' })),
  GRAPH_BASE_URL: Type.Optional(Url('http(s)', 'Microsoft Graph base URL. Tenant mode default: https://graph.microsoft.com/v1.0; sandbox default: the embedded Graph simulator.')),
  GRAPH_MAX_RETRIES: Integer(0, 10, 3, 'Retries of a Graph call answered 429, 503 or 504 (honouring Retry-After).'),
  GRAPH_MAX_RETRY_DELAY_MS: Integer(0, 120_000, 30_000, 'Longest wait before one Graph retry; a longer Retry-After fails the call instead.'),
  GRAPH_RETRY_BASE_DELAY_MS: Integer(0, 60_000, 500, 'First backoff delay of Graph retries without Retry-After (doubles each time).'),
  GRAPH_REPLICATION_RETRIES: Integer(0, 10, 5, 'Retries of "not found yet" answers right after an invitation (Entra replicates new users with a delay).'),
  GRAPH_REPLICATION_BASE_DELAY_MS: Integer(0, 30_000, 1000, 'First delay of those replication retries (doubles each time).'),
  GRAPH_SIMULATOR_PORT: Type.Optional(Integer(0, 65535, undefined, 'Sandbox: port of the embedded Graph simulator on 127.0.0.1 (unset: any free port).')),
  GUESTGATE_WEBHOOK_SECRET_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$', expected: '32 bytes in base64 (openssl rand -base64 32)',
    description: 'Key that encrypts webhook signing secrets at rest (AES-256-GCM). Tenant mode: without it webhooks cannot be created (503 webhooks_not_configured). Sandbox default: a fixed, public key. Changing it makes stored secrets unreadable: re-create the subscriptions.' })),
  GUESTGATE_WEBHOOK_ALLOW_HTTP_LOOPBACK: Flag(false, 'Also accept http://127.0.0.1 and http://[::1] webhook URLs (tests, sandbox). Otherwise only https:// URLs to public addresses are accepted.'),
  GUESTGATE_WEBHOOK_TIMEOUT_MS: Integer(100, 60_000, 10_000, 'Deadline of one webhook delivery attempt (connect, send, answer); past it the attempt failed and is retried.'),
  GUESTGATE_WEBHOOK_RETRY_LIMIT: Integer(0, 20, 8, 'Retries of a webhook delivery that failed (non-2xx, timeout, no connection) before it is given up.'),
  GUESTGATE_WEBHOOK_RETRY_DELAY_SECONDS: Integer(1, 3600, 30, 'First retry delay of a webhook delivery; each further retry waits about twice as long (pg-boss retryBackoff, with jitter).'),
  GUESTGATE_INVITATION_POLL_CRON: Text('When the invitation-accepted poller reads pending guests\' state from Graph (cron, UTC; one replica per run).', '*/5 * * * *'),
  AZURE_TENANT_ID: Type.Optional(Guid('Tenant of the Graph credential; the same as GUESTGATE_TENANT_ID (either may be set).')),
  AZURE_CLIENT_ID: Type.Optional(Guid('Graph credential: application id for a client secret, certificate or workload identity; alone, selects a user-assigned managed identity.')),
  AZURE_CLIENT_SECRET: Type.Optional(Text('Graph credential: client secret (with AZURE_CLIENT_ID).')),
  AZURE_CLIENT_CERTIFICATE_PATH: Type.Optional(Text('Graph credential: PEM file with the certificate and its private key (with AZURE_CLIENT_ID).')),
  AZURE_CLIENT_CERTIFICATE_PASSWORD: Type.Optional(Text('Graph credential: password of that PEM file.')),
  // Kept as text: the credential settings read the AZURE_* variables as strings.
  AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: Type.Optional(OneOf(['true', 'false'] as const, 'Graph credential: send the certificate chain (x5c), for subject name / issuer authentication.')),
  AZURE_FEDERATED_TOKEN_FILE: Type.Optional(Text('Graph credential: workload identity federation token file (Kubernetes; with AZURE_CLIENT_ID).')),
  AZURE_AUTHORITY_HOST: Type.Optional(Url('https', 'Graph credential: Entra authority host for a national cloud, e.g. https://login.microsoftonline.us.')),
})
export type RawConfig = Static<typeof ConfigSchema>
export type ConfigVariable = keyof RawConfig

/** Variables whose values never appear in logs or errors. */
export const SECRET_VARIABLES: readonly ConfigVariable[] = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'DATABASE_URL', 'GUESTGATE_METRICS_TOKEN', 'GUESTGATE_WEBHOOK_SECRET_KEY', 'REDIS_URL']

/** Any of these set (and GUESTGATE_MODE unset) means tenant mode. */
export const TENANT_VARIABLES: readonly ConfigVariable[] = [
  'GUESTGATE_TENANT_ID', 'AZURE_TENANT_ID', 'GUESTGATE_API_AUDIENCE', 'GUESTGATE_APP_ID',
  'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE',
]

/** Prefixes that belong to guestgate: an unknown variable with one of them is a typo, and stops the start. */
export const OWN_PREFIXES = ['GUESTGATE_', 'GRAPH_'] as const

export const SANDBOX_TENANT_ID = 'c0ffee00-0000-4000-8000-000000000001'
export const SANDBOX_APP_ID = 'b0000000-0000-4000-8000-000000000004'
export const SANDBOX_AUDIENCE = `api://guestgate-sandbox`

export interface AppConfig {
  mode: 'sandbox' | 'tenant'
  port: number
  host: string
  logLevel: RawConfig['LOG_LEVEL']
  logFormat: RawConfig['LOG_FORMAT']
  /** Unset in sandbox mode means: start embedded Postgres. */
  databaseUrl?: string
  databasePoolSize: number
  databaseConnectTimeoutMs: number
  databaseQueryTimeoutMs: number
  databaseHealthIntervalMs: number
  reconcile: { afterSeconds: number; intervalSeconds: number }
  idempotencyTtlHours: number
  /** Graph write pacing: token buckets per tenant (operations/graph-budget.ts). */
  budget: { writesPerSecond: number; writeBurst: number; invitationsPerMinute: number; invitationBurst: number; maxWaitMs: number }
  /** Bulk invitation jobs (operations/bulk-jobs.ts). */
  bulk: { concurrency: number; maxRows: number; bodyLimitBytes: number; rowTimeoutSeconds: number }
  /** pg-boss maintenance (expired jobs retried). */
  queueMaintenanceSeconds: number
  queuePollSeconds: number
  /** Apply migrations at start (off when a separate step does it with a more privileged role). */
  applyMigrations: boolean
  dataDir: string
  embeddedDbTimeoutMs: number
  policyFile: string
  tenantId: string
  audiences: string[]
  /** guestgate's own app registration: never a target of app role assignments. */
  appId: string
  authAuthority: string
  clockSkewSeconds: number
  defaultRedirectUrl: string
  bodyLimitBytes: number
  requestTimeoutMs: number
  connectionTimeoutMs: number
  shutdownGraceMs: number
  /** How long the policy's applications and groups read from Graph are reused (0: never). */
  directoryCacheMs: number
  /**
   * Addresses and CIDRs of the proxies whose X-Forwarded-For is believed (Fastify's trustProxy);
   * empty: none, request.ip is the connection's address.
   */
  trustedProxies: string[]
  /** Exact origins allowed by CORS; empty means no cross-origin access. */
  corsOrigins: string[]
  /** Bearer token /metrics requires; undefined: open. */
  metricsToken?: string
  /** OTLP/HTTP collector; undefined: no tracing. */
  otlpEndpoint?: string
  serviceName: string
  /** Unset in sandbox mode means: the embedded Graph simulator. */
  graphBaseUrl?: string
  graphMaxRetries: number
  graphMaxRetryDelayMs: number
  graphRetryBaseDelayMs: number
  /** Deadline of each Graph HTTP request; past it the call fails as Timeout (ambiguous for a write). */
  graphTimeoutMs: number
  graphSimulatorPort: number
  /** Entra is eventually consistent: a guest invited a moment ago may not be found yet. */
  replication: { retries: number; baseDelayMs: number }
  /** Per-caller request limits (plugins/rate-limit.ts). */
  rateLimit: {
    max: number
    whatIfMax: number
    anonymousMax: number
    windowMs: number
    /** Unset: counters in memory, per process. */
    redisUrl?: string
    redisPrefix: string
  }
  /** Webhook subscriptions and their deliveries (src/webhooks). */
  webhooks: {
    /** AES-256-GCM key of stored signing secrets; undefined: webhooks cannot be created. */
    secretKey?: Buffer
    allowHttpLoopback: boolean
    timeoutMs: number
    retryLimit: number
    retryDelaySeconds: number
    invitationPollCron: string
  }
  /** Tenant mode: the Graph credential, already checked for completeness. Sandbox: null. */
  graphCredential: GraphCredentialSettings | null
  /** The raw environment, for the Graph credential (read from the standard AZURE_* variables). */
  env: RawConfig
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  /** Each problem is one line that starts with the variable's name. */
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const known = new Set<string>(Object.keys(ConfigSchema.properties))
const isSecret = (name: string) => (SECRET_VARIABLES as readonly string[]).includes(name)

export interface LoadConfigOptions {
  /** Relative paths are resolved against this folder (the working directory by default). */
  cwd?: string
}

/** Validates the environment; throws ConfigError naming each bad variable (never its value when secret). */
export function loadConfig(environment: Record<string, string | undefined>, options: LoadConfigOptions = {}): AppConfig {
  const cwd = options.cwd ?? process.cwd()
  const raw: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [key, value] of Object.entries(environment)) {
    if (value === undefined || value.trim() === '') continue
    if (known.has(key)) raw[key] = value.trim()
    else if (OWN_PREFIXES.some((prefix) => key.startsWith(prefix))) problems.push(unknownVariable(key))
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw))
  const seen = new Set<string>()
  for (const error of Value.Errors(ConfigSchema, converted)) {
    const variable = error.path.replace(/^\//, '').split('/')[0]!
    // A union reports each branch: one line per variable is enough.
    if (seen.has(variable)) continue
    seen.add(variable)
    const shown = isSecret(variable) ? '' : ` (got ${JSON.stringify(error.value)})`
    problems.push(`${variable}: must be ${expected(error.schema)}${shown}`)
  }
  if (problems.length > 0) throw new ConfigError(problems)
  const env = converted as RawConfig

  const mode = selectMode(env, problems)
  let graphCredential: GraphCredentialSettings | null = null
  if (mode === 'tenant') {
    checkTenantSettings(env, problems)
    try {
      graphCredential = graphCredentialSettingsFromEnv(env)
    } catch (error) {
      problems.push((error as Error).message)
    }
  }
  // The reconciler must not settle a write whose Graph call may still be running.
  if (env.GUESTGATE_RECONCILE_AFTER_SECONDS * 1000 <= env.GRAPH_TIMEOUT_MS) {
    problems.push(`GUESTGATE_RECONCILE_AFTER_SECONDS: must be longer than GRAPH_TIMEOUT_MS (${env.GRAPH_TIMEOUT_MS} ms), so that no write still waiting for Graph is settled (got ${env.GUESTGATE_RECONCILE_AFTER_SECONDS})`)
  }
  const trustedProxies = parseTrustedProxies(env.GUESTGATE_TRUST_PROXY, problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const tenantId = mode === 'tenant' ? (env.GUESTGATE_TENANT_ID ?? env.AZURE_TENANT_ID)! : SANDBOX_TENANT_ID
  return {
    mode,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
    databaseUrl: env.DATABASE_URL,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
    databaseQueryTimeoutMs: env.DATABASE_QUERY_TIMEOUT_MS,
    databaseHealthIntervalMs: env.DATABASE_HEALTH_INTERVAL_MS,
    reconcile: { afterSeconds: env.GUESTGATE_RECONCILE_AFTER_SECONDS, intervalSeconds: env.GUESTGATE_RECONCILE_INTERVAL_SECONDS },
    idempotencyTtlHours: env.GUESTGATE_IDEMPOTENCY_TTL_HOURS,
    budget: {
      writesPerSecond: env.GRAPH_WRITES_PER_SECOND,
      writeBurst: env.GRAPH_WRITE_BURST,
      invitationsPerMinute: env.GUESTGATE_INVITATIONS_PER_MINUTE,
      invitationBurst: env.GUESTGATE_INVITATION_BURST,
      maxWaitMs: env.GRAPH_BUDGET_MAX_WAIT_MS,
    },
    bulk: {
      concurrency: env.GUESTGATE_BULK_CONCURRENCY,
      maxRows: env.GUESTGATE_BULK_MAX_ROWS,
      bodyLimitBytes: env.GUESTGATE_BULK_BODY_LIMIT_BYTES,
      rowTimeoutSeconds: env.GUESTGATE_BULK_ROW_TIMEOUT_SECONDS,
    },
    queueMaintenanceSeconds: env.GUESTGATE_QUEUE_MAINTENANCE_SECONDS,
    queuePollSeconds: env.GUESTGATE_QUEUE_POLL_SECONDS,
    applyMigrations: env.GUESTGATE_APPLY_MIGRATIONS,
    dataDir: path.resolve(cwd, env.GUESTGATE_DATA_DIR),
    embeddedDbTimeoutMs: env.GUESTGATE_EMBEDDED_DB_TIMEOUT_SECONDS * 1000,
    policyFile: env.GUESTGATE_POLICY_FILE
      ? path.resolve(cwd, env.GUESTGATE_POLICY_FILE)
      : path.join(packageRoot(), 'config', 'policy.sandbox.yaml'),
    tenantId,
    audiences: mode === 'tenant' ? list(env.GUESTGATE_API_AUDIENCE) : [SANDBOX_AUDIENCE],
    appId: mode === 'tenant' ? (env.GUESTGATE_APP_ID ?? env.AZURE_CLIENT_ID)! : SANDBOX_APP_ID,
    authAuthority: env.GUESTGATE_AUTH_AUTHORITY.replace(/\/+$/, ''),
    clockSkewSeconds: env.GUESTGATE_CLOCK_SKEW_SECONDS,
    defaultRedirectUrl: env.GUESTGATE_DEFAULT_REDIRECT_URL,
    bodyLimitBytes: env.GUESTGATE_BODY_LIMIT_BYTES,
    requestTimeoutMs: env.GUESTGATE_REQUEST_TIMEOUT_SECONDS * 1000,
    connectionTimeoutMs: env.GUESTGATE_CONNECTION_TIMEOUT_SECONDS * 1000,
    shutdownGraceMs: env.GUESTGATE_SHUTDOWN_GRACE_SECONDS * 1000,
    directoryCacheMs: env.GUESTGATE_DIRECTORY_CACHE_SECONDS * 1000,
    corsOrigins: list(env.GUESTGATE_CORS_ORIGINS).map((origin) => origin.replace(/\/+$/, '')),
    trustedProxies,
    metricsToken: env.GUESTGATE_METRICS_TOKEN,
    otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: env.OTEL_SERVICE_NAME,
    graphBaseUrl: env.GRAPH_BASE_URL ?? (mode === 'tenant' ? 'https://graph.microsoft.com/v1.0' : undefined),
    graphMaxRetries: env.GRAPH_MAX_RETRIES,
    graphMaxRetryDelayMs: env.GRAPH_MAX_RETRY_DELAY_MS,
    graphRetryBaseDelayMs: env.GRAPH_RETRY_BASE_DELAY_MS,
    graphTimeoutMs: env.GRAPH_TIMEOUT_MS,
    graphSimulatorPort: env.GRAPH_SIMULATOR_PORT ?? 0,
    replication: { retries: env.GRAPH_REPLICATION_RETRIES, baseDelayMs: env.GRAPH_REPLICATION_BASE_DELAY_MS },
    rateLimit: {
      max: env.GUESTGATE_RATE_LIMIT_MAX,
      whatIfMax: env.GUESTGATE_RATE_LIMIT_WHAT_IF_MAX,
      anonymousMax: env.GUESTGATE_RATE_LIMIT_ANONYMOUS_MAX,
      windowMs: env.GUESTGATE_RATE_LIMIT_WINDOW_SECONDS * 1000,
      redisUrl: env.REDIS_URL,
      redisPrefix: env.GUESTGATE_RATE_LIMIT_REDIS_PREFIX,
    },
    webhooks: {
      secretKey: env.GUESTGATE_WEBHOOK_SECRET_KEY
        ? Buffer.from(env.GUESTGATE_WEBHOOK_SECRET_KEY, 'base64')
        : mode === 'sandbox' ? SANDBOX_WEBHOOK_SECRET_KEY : undefined,
      allowHttpLoopback: env.GUESTGATE_WEBHOOK_ALLOW_HTTP_LOOPBACK,
      timeoutMs: env.GUESTGATE_WEBHOOK_TIMEOUT_MS,
      retryLimit: env.GUESTGATE_WEBHOOK_RETRY_LIMIT,
      retryDelaySeconds: env.GUESTGATE_WEBHOOK_RETRY_DELAY_SECONDS,
      invitationPollCron: env.GUESTGATE_INVITATION_POLL_CRON,
    },
    graphCredential,
    env,
  }
}

/** The sandbox's webhook secret key: public (the sandbox mints tokens for anyone, too). */
const SANDBOX_WEBHOOK_SECRET_KEY = createHash('sha256').update('guestgate sandbox webhook secret key').digest()

/**
 * Fails closed: the sandbox mints tokens for anyone, so it is never chosen by accident on an
 * address others can reach, nor when a tenant variable shows that a tenant was meant.
 */
function selectMode(env: RawConfig, problems: string[]): AppConfig['mode'] {
  const tenantSet = TENANT_VARIABLES.filter((name) => env[name] !== undefined)
  if (env.GUESTGATE_MODE === 'tenant') return 'tenant'
  if (env.GUESTGATE_MODE === 'sandbox') {
    const contradicting = tenantSet.filter((name) => name.startsWith('GUESTGATE_'))
    for (const name of contradicting) {
      problems.push(`${name}: is set but GUESTGATE_MODE is sandbox: unset ${name}, or set GUESTGATE_MODE=tenant`)
    }
    return 'sandbox'
  }
  if (tenantSet.length > 0) return 'tenant'
  if (!isLoopback(env.HOST)) {
    problems.push(`GUESTGATE_MODE: not set, no tenant variable is set, and HOST ${env.HOST} is not a loopback address: ` +
      'set GUESTGATE_MODE=sandbox to expose the sandbox (it mints tokens for anyone), or configure tenant mode (GUESTGATE_TENANT_ID ...)')
  }
  return 'sandbox'
}

function checkTenantSettings(env: RawConfig, problems: string[]): void {
  if (env.GUESTGATE_TENANT_ID === undefined && env.AZURE_TENANT_ID === undefined) {
    problems.push('GUESTGATE_TENANT_ID: required in tenant mode: the id of your Entra tenant')
  } else if (env.GUESTGATE_TENANT_ID !== undefined && env.AZURE_TENANT_ID !== undefined &&
    env.GUESTGATE_TENANT_ID.toLowerCase() !== env.AZURE_TENANT_ID.toLowerCase()) {
    problems.push('GUESTGATE_TENANT_ID: differs from AZURE_TENANT_ID: both name the one tenant guestgate serves; set one, or make them equal')
  }
  const required: Partial<Record<ConfigVariable, string>> = {
    GUESTGATE_API_AUDIENCE: 'the Application ID URI and/or client id tokens are issued for',
    DATABASE_URL: 'the postgresql:// URL of the audit database',
    GUESTGATE_POLICY_FILE: 'the path of your policy file',
  }
  for (const [name, what] of Object.entries(required)) {
    if (env[name as ConfigVariable] === undefined) problems.push(`${name}: required in tenant mode: ${what}`)
  }
  if (env.GUESTGATE_API_AUDIENCE !== undefined && list(env.GUESTGATE_API_AUDIENCE).length === 0) {
    problems.push('GUESTGATE_API_AUDIENCE: lists no audience: give at least one, comma-separated')
  }
  if (env.GUESTGATE_APP_ID === undefined && env.AZURE_CLIENT_ID === undefined) {
    problems.push('GUESTGATE_APP_ID: required in tenant mode (or AZURE_CLIENT_ID): the application id of guestgate\'s own app registration')
  }
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|\[::1\]|localhost|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host.trim())
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter(Boolean)
}

const TRUST_PROXY_INSTEAD = 'list the addresses or CIDRs of your load balancers and proxies instead, e.g. GUESTGATE_TRUST_PROXY=10.0.0.0/8,127.0.0.1 (unset or false: trust none)'

/**
 * GUESTGATE_TRUST_PROXY: the proxies whose X-Forwarded-For is believed. Refuses what would let a
 * client choose its own address (and so its rate limit bucket, and the address logged):
 * true, a /0 range, and hop counts (which cannot check that a request came through a proxy at all;
 * Fastify ignores them since 5.12.1).
 */
function parseTrustedProxies(value: string | undefined, problems: string[]): string[] {
  if (value === undefined || value.toLowerCase() === 'false') return []
  const problem = (text: string) => { problems.push(`GUESTGATE_TRUST_PROXY: ${text} (got ${JSON.stringify(value)})`) }
  if (value.toLowerCase() === 'true') {
    problem(`true is refused: it believes X-Forwarded-For from every connection, so any client could choose its address; ${TRUST_PROXY_INSTEAD}`)
    return []
  }
  if (/^\d+$/.test(value)) {
    problem(`a hop count is refused: it cannot check that a request came through your proxy, so a client reaching guestgate directly could choose its address; ${TRUST_PROXY_INSTEAD}`)
    return []
  }
  const entries = list(value)
  const invalid = entries.filter((entry) => !isAddressOrCidr(entry))
  if (entries.length === 0 || invalid.length > 0) {
    problem(`must be ${expected(ConfigSchema.properties.GUESTGATE_TRUST_PROXY)}${invalid.length > 0 ? `; not an address or CIDR: ${invalid.join(', ')}` : ''}`)
    return []
  }
  const everyone = entries.filter((entry) => entry.includes('/') && Number(entry.split('/')[1]) === 0)
  if (everyone.length > 0) {
    problem(`${everyone.join(', ')} trusts every address, like true: any client could choose its address; ${TRUST_PROXY_INSTEAD}`)
    return []
  }
  return entries
}

/** An IPv4 or IPv6 address, optionally with a prefix length (CIDR): what Fastify's proxy-addr accepts. */
function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/')
  const version = address.includes('%') ? 0 : isIP(address)
  if (version === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128)
}

function expected(schema: TSchema): string {
  return typeof schema.expected === 'string' ? schema.expected : 'valid'
}

function unknownVariable(name: string): string {
  const closest = [...known]
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .sort((a, b) => a.distance - b.distance)[0]
  const hint = closest && closest.distance <= Math.max(2, Math.floor(name.length / 4)) ? `: did you mean ${closest.candidate}?` : ''
  return `${name}: is not a guestgate variable${hint} Unset it, or see the configuration table in the README`
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** A log-safe view of the configuration: secrets replaced, URLs without credentials. */
export function describeConfig(config: AppConfig): Record<string, unknown> {
  return {
    mode: config.mode,
    port: config.port,
    host: config.host,
    database: config.databaseUrl ? redactUrl(config.databaseUrl) : `embedded (${config.dataDir})`,
    policyFile: config.policyFile,
    tenantId: config.tenantId,
    audiences: config.audiences,
    appId: config.appId,
    graph: config.graphBaseUrl ? redactUrl(config.graphBaseUrl) : 'embedded simulator',
    corsOrigins: config.corsOrigins,
    trustedProxies: config.trustedProxies.length > 0 ? config.trustedProxies : 'none (X-Forwarded-For ignored)',
    rateLimitStore: config.rateLimit.redisUrl ? redactUrl(config.rateLimit.redisUrl) : 'memory (per process)',
    metrics: config.metricsToken ? 'bearer token required' : 'open',
    tracing: config.otlpEndpoint ? redactUrl(config.otlpEndpoint) : 'off',
  }
}

/** Query parameters that carry a password: libpq's and pg's password and sslpassword, Redis's password. */
const SECRET_QUERY_PARAMETERS = new Set(['password', 'sslpassword'])

/**
 * The URL with its secrets masked: the user-info password and password-like query parameters
 * (postgresql://app@db/guestgate?password=... is as valid as postgresql://app:...@db/guestgate).
 * A URL that cannot be parsed is not shown at all.
 */
function redactUrl(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return '(unparseable)'
  }
  let masked = false
  if (u.password) {
    u.password = '***'
    masked = true
  }
  const secretNames = [...new Set([...u.searchParams.keys()].filter((name) => SECRET_QUERY_PARAMETERS.has(name.toLowerCase())))]
  for (const name of secretNames) {
    u.searchParams.set(name, '***')
    masked = true
  }
  return masked ? u.toString() : url
}

/** The README's configuration table, generated from the schema. */
export function configurationTable(): string {
  const rows = Object.entries(ConfigSchema.properties).map(([name, schema]: [string, TSchema]) => {
    const fallback = schema.default === undefined ? '' : `\`${String(schema.default)}\``
    const kind = expected(schema)
    const secret = isSecret(name) ? ' **Secret**: its secret part never reaches a log line or an error.' : ''
    return `| \`${name}\` | ${kind} | ${fallback} | ${String(schema.description).replace(/\|/g, '\\|')}${secret} |`
  })
  return ['| variable | value | default | meaning |', '|---|---|---|---|', ...rows].join('\n')
}
