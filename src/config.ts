// One TypeBox schema for every setting, checked once at start. Keys are the environment
// variable names, so an error names the variable to fix.
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import path from 'node:path'
import { packageRoot } from './package-root.js'

const Guid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'a GUID' })
const HttpsUrl = Type.String({ pattern: '^https://', description: 'an https:// URL' })
const AnyUrl = Type.String({ pattern: '^https?://', description: 'an http(s):// URL' })
const PostgresUrl = Type.String({ pattern: '^postgres(ql)?://', description: 'a postgresql:// URL' })
const Port = Type.Integer({ minimum: 0, maximum: 65535 })

export const ConfigSchema = Type.Object({
  GUESTGATE_MODE: Type.Optional(Type.Union([Type.Literal('sandbox'), Type.Literal('tenant')], {
    description: 'sandbox (default when no tenant is configured) or tenant' })),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  DATABASE_URL: Type.Optional(PostgresUrl),
  GUESTGATE_APPLY_MIGRATIONS: Type.Boolean({ default: true, description: 'true or false: apply database migrations at start' }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  DATABASE_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120_000, default: 5000, description: 'milliseconds 100..120000: longest wait for a database connection' }),
  DATABASE_QUERY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'milliseconds 100..600000: longest a database statement may run (statement_timeout); a server that does not answer is given up on a second later' }),
  DATABASE_HEALTH_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 2000, description: 'milliseconds 100..60000: how often the database is probed; while it does not answer every route but /healthz answers 503' }),
  GUESTGATE_RECONCILE_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60, description: 'seconds 1..86400: an audit intent without outcome this old is settled by reading Graph; must exceed the Graph deadline' }),
  GUESTGATE_RECONCILE_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60, description: 'seconds 1..86400: how often the reconciler runs (one replica at a time)' }),
  GRAPH_WRITES_PER_SECOND: Type.Number({ exclusiveMinimum: 0, maximum: 1000, default: 16, description: 'writes per second 0..1000: guestgate\'s Graph write budget per tenant, shared by every replica, single requests and bulk jobs (Graph allows 3,000 per 150 s = 20/s per app and tenant)' }),
  GRAPH_WRITE_BURST: Type.Integer({ minimum: 1, maximum: 10_000, default: 40, description: 'writes 1..10000: how many Graph writes may go at once after a quiet spell' }),
  GUESTGATE_INVITATIONS_PER_MINUTE: Type.Number({ exclusiveMinimum: 0, maximum: 60_000, default: 20, description: 'invitations per minute per tenant (resends too), within the write budget: conservative, since bursts of invitations have got directories blocked by Microsoft' }),
  GUESTGATE_INVITATION_BURST: Type.Integer({ minimum: 1, maximum: 10_000, default: 5, description: 'invitations 1..10000 that may go at once after a quiet spell' }),
  GRAPH_BUDGET_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 10_000, description: 'milliseconds 0..600000: how long a single request waits for the write budget before answering 503 with Retry-After (bulk jobs wait as long as needed)' }),
  GUESTGATE_IDEMPOTENCY_TTL_HOURS: Type.Integer({ minimum: 1, maximum: 720, default: 24, description: 'hours 1..720: how long an Idempotency-Key and its response are kept' }),
  GUESTGATE_DATA_DIR: Type.String({ default: '.data', minLength: 1, description: 'sandbox: where embedded Postgres keeps its files' }),
  GUESTGATE_POLICY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  GUESTGATE_TENANT_ID: Type.Optional(Guid),
  GUESTGATE_API_AUDIENCE: Type.Optional(Type.String({ minLength: 1, description: 'accepted token audiences, comma-separated' })),
  GUESTGATE_APP_ID: Type.Optional(Guid),
  GUESTGATE_AUTH_AUTHORITY: Type.String({ default: 'https://login.microsoftonline.com', pattern: '^https?://' }),
  GUESTGATE_CLOCK_SKEW_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 60 }),
  GUESTGATE_DEFAULT_REDIRECT_URL: Type.String({ default: 'https://myapps.microsoft.com/', pattern: '^https://' }),
  GUESTGATE_BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 10_485_760, default: 65_536 }),
  GRAPH_BASE_URL: Type.Optional(AnyUrl),
  GRAPH_MAX_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 3 }),
  GRAPH_MAX_RETRY_DELAY_MS: Type.Integer({ minimum: 0, maximum: 120_000, default: 30_000 }),
  GRAPH_RETRY_BASE_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 500 }),
  GRAPH_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 30_000, description: 'an integer 1..600000: deadline of each Graph HTTP request in milliseconds' }),
  GRAPH_REPLICATION_RETRIES: Type.Integer({ minimum: 0, maximum: 10, default: 5, description: 'an integer 0..10: retries of not-yet-replicated errors right after an invitation' }),
  GRAPH_REPLICATION_BASE_DELAY_MS: Type.Integer({ minimum: 0, maximum: 30_000, default: 1000 }),
  GRAPH_SIMULATOR_PORT: Type.Optional(Port),
  AZURE_TENANT_ID: Type.Optional(Guid),
  AZURE_CLIENT_ID: Type.Optional(Guid),
  AZURE_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  AZURE_CLIENT_CERTIFICATE_PATH: Type.Optional(Type.String({ minLength: 1 })),
  AZURE_CLIENT_CERTIFICATE_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  AZURE_FEDERATED_TOKEN_FILE: Type.Optional(Type.String({ minLength: 1 })),
  AZURE_AUTHORITY_HOST: Type.Optional(HttpsUrl),
  GUESTGATE_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 600,
    description: 'an integer 1..1000000: requests one caller (tenant + object id) may make per window on authenticated routes' }),
  GUESTGATE_RATE_LIMIT_WHAT_IF_MAX: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 60,
    description: 'an integer 1..1000000: what-if checks (POST /v1/authorization/check) one caller may make per window' }),
  GUESTGATE_RATE_LIMIT_ANONYMOUS_MAX: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 300,
    description: 'an integer 1..1000000: requests per window from one address without a valid token (docs, sandbox tokens, refused tokens)' }),
  GUESTGATE_RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60, description: 'an integer 1..86400: the rate limit window' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'a redis:// or rediss:// URL: rate limits shared by all replicas (in memory per process when unset)' })),
  GUESTGATE_RATE_LIMIT_REDIS_PREFIX: Type.String({ minLength: 1, maxLength: 100, default: 'guestgate:rate-limit:',
    description: 'prefix of the rate limit keys in Redis (to share one Redis between deployments)' }),
})
export type RawConfig = Static<typeof ConfigSchema>

/** Variables whose values never appear in logs or errors. */
export const SECRET_VARIABLES = ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'DATABASE_URL', 'REDIS_URL'] as const

export const SANDBOX_TENANT_ID = 'c0ffee00-0000-4000-8000-000000000001'
export const SANDBOX_APP_ID = 'b0000000-0000-4000-8000-000000000004'
export const SANDBOX_AUDIENCE = `api://guestgate-sandbox`

export interface AppConfig {
  mode: 'sandbox' | 'tenant'
  port: number
  host: string
  logLevel: RawConfig['LOG_LEVEL']
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
  /** Apply migrations at start (off when a separate step does it with a more privileged role). */
  applyMigrations: boolean
  dataDir: string
  policyFile: string
  tenantId: string
  audiences: string[]
  /** guestgate's own app registration: never a target of app role assignments. */
  appId: string
  authAuthority: string
  clockSkewSeconds: number
  defaultRedirectUrl: string
  bodyLimitBytes: number
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
  /** The raw environment, for the Graph credential (read from the standard AZURE_* variables). */
  env: RawConfig
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

const known = new Set(Object.keys(ConfigSchema.properties))

/** Validates the environment; throws ConfigError naming each bad variable (never its value when secret). */
export function loadConfig(environment: Record<string, string | undefined>): AppConfig {
  const raw: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(environment)) {
    if (known.has(key) && value !== undefined && value !== '') raw[key] = value
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw))
  const problems = [...Value.Errors(ConfigSchema, converted)].map((e) => {
    const variable = e.path.replace(/^\//, '')
    const shown = (SECRET_VARIABLES as readonly string[]).includes(variable) ? '' : ` (got ${JSON.stringify(e.value)})`
    return `${variable}: ${e.schema.description ? `must be ${e.schema.description}` : e.message}${shown}`
  })
  if (problems.length > 0) throw new ConfigError(problems)
  const env = converted as RawConfig

  const tenantConfigured = env.GUESTGATE_TENANT_ID !== undefined || env.AZURE_TENANT_ID !== undefined
  const mode = env.GUESTGATE_MODE ?? (tenantConfigured ? 'tenant' : 'sandbox')
  const root = packageRoot()
  if (mode === 'tenant') {
    const required = ['GUESTGATE_TENANT_ID', 'GUESTGATE_API_AUDIENCE', 'DATABASE_URL', 'GUESTGATE_POLICY_FILE'] as const
    for (const name of required) {
      if (env[name] === undefined && !(name === 'GUESTGATE_TENANT_ID' && env.AZURE_TENANT_ID)) {
        problems.push(`${name}: required in tenant mode`)
      }
    }
    if (env.GUESTGATE_APP_ID === undefined && env.AZURE_CLIENT_ID === undefined) {
      problems.push('GUESTGATE_APP_ID: required in tenant mode (or AZURE_CLIENT_ID): the application id of guestgate\'s own app registration')
    }
    if (problems.length > 0) throw new ConfigError(problems)
  }
  // The reconciler must not settle a write whose Graph call may still be running.
  if (env.GUESTGATE_RECONCILE_AFTER_SECONDS * 1000 <= env.GRAPH_TIMEOUT_MS) {
    throw new ConfigError([`GUESTGATE_RECONCILE_AFTER_SECONDS: must be longer than GRAPH_TIMEOUT_MS (${env.GRAPH_TIMEOUT_MS} ms), so that no write still waiting for Graph is settled (got ${env.GUESTGATE_RECONCILE_AFTER_SECONDS})`])
  }
  const tenantId = mode === 'tenant' ? (env.GUESTGATE_TENANT_ID ?? env.AZURE_TENANT_ID)! : SANDBOX_TENANT_ID
  return {
    mode,
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
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
    applyMigrations: env.GUESTGATE_APPLY_MIGRATIONS,
    dataDir: path.resolve(root, env.GUESTGATE_DATA_DIR),
    policyFile: path.resolve(root, env.GUESTGATE_POLICY_FILE ?? 'config/policy.sandbox.yaml'),
    tenantId,
    audiences: mode === 'tenant' ? env.GUESTGATE_API_AUDIENCE!.split(',').map((a) => a.trim()).filter(Boolean) : [SANDBOX_AUDIENCE],
    appId: mode === 'tenant' ? (env.GUESTGATE_APP_ID ?? env.AZURE_CLIENT_ID)! : SANDBOX_APP_ID,
    authAuthority: env.GUESTGATE_AUTH_AUTHORITY.replace(/\/+$/, ''),
    clockSkewSeconds: env.GUESTGATE_CLOCK_SKEW_SECONDS,
    defaultRedirectUrl: env.GUESTGATE_DEFAULT_REDIRECT_URL,
    bodyLimitBytes: env.GUESTGATE_BODY_LIMIT_BYTES,
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
    env,
  }
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
    graph: config.graphBaseUrl ?? 'embedded simulator',
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparseable)'
  }
}
