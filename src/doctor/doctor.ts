// `npm run doctor`: checks a guestgate configuration against the tenant it names, before the
// service is trusted with it. Each check says pass, warn or fail, and how to fix what is not right:
// - the Graph credential gets a token;
// - guestgate's own service principal holds the Graph application permissions it needs, and
//   none of the dangerous ones;
// - every group and app the policy file names exists and can be managed (no role-assignable,
//   dynamic or Exchange-managed group; no Microsoft Graph or guestgate itself);
// - the token authority's signing keys are reachable;
// - the database is reachable, migrated, and its audit chain is intact;
// - this machine's clock agrees with Graph's.
import type { TokenCredential } from '@azure/identity'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { createAuditStore } from '../audit/audit-store.js'
import type { AppConfig } from '../config.js'
import { migrationStatus } from '../db/migrate.js'
import { createPrismaClient } from '../db/prisma-client.js'
import { DEFAULT_GRAPH_SCOPES } from '../graph/graph-middleware.js'
import {
  type AppRoleAssignment,
  type GraphCallContext,
  type GraphReader,
  GraphRequestError,
  MICROSOFT_GRAPH_APP_ID,
  type ServicePrincipal,
} from '../graph/graph-gateway.js'
import { appRoleLabel, findAppRole } from '../policies/app-roles.js'
import type { PolicyDocument } from '../policies/policy-file.js'
import { DANGEROUS_GRAPH_PERMISSIONS, OPTIONAL_GRAPH_PERMISSIONS, REQUIRED_GRAPH_PERMISSIONS } from './graph-permissions.js'

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  check: string
  status: CheckStatus
  detail: string
  /** What to do about a warn or fail. */
  fix?: string
}

export interface DoctorOptions {
  config: AppConfig
  /** The policy file, or why it could not be loaded. */
  policy: PolicyDocument | Error
  credential: TokenCredential
  /** The application (client) id guestgate calls Graph as, when the settings name it. */
  clientId?: string
  graph: GraphReader
  /** Where `graph` sends its requests; the clock is compared with this host's. */
  graphBaseUrl: string
  scopes?: string[]
  /** Clock skew above this is a warning (the failure threshold is GUESTGATE_CLOCK_SKEW_SECONDS). */
  clockWarnSeconds?: number
}

const ctx = (): GraphCallContext => ({ correlationId: randomUUID() })

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''

function graphProblem(error: unknown): string {
  if (error instanceof GraphRequestError) return `Graph answered ${error.status || 'nothing'} ${error.code}: ${error.graphMessage}`
  return firstLine(error)
}

/** The `appid` (v1) or `azp` (v2) claim of an access token: who the token is for, whatever the credential kind. */
export function applicationIdOfToken(token: string): string | undefined {
  const payload = token.split('.')[1]
  if (!payload) return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
    const id = claims.appid ?? claims.azp
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}

async function credentialCheck(options: DoctorOptions): Promise<{ result: CheckResult; token?: string }> {
  const scopes = options.scopes ?? DEFAULT_GRAPH_SCOPES
  try {
    const token = (await options.credential.getToken(scopes))?.token
    if (!token) throw new Error('the credential returned no token')
    return { result: { check: 'Graph credential', status: 'pass', detail: `got an app-only token for ${scopes.join(' ')}` }, token }
  } catch (error) {
    return {
      result: {
        check: 'Graph credential',
        status: 'fail',
        detail: `no token: ${firstLine(error)}`,
        fix: 'Check AZURE_TENANT_ID, AZURE_CLIENT_ID and the secret (its value, not its id), certificate or federated token; AZURE_AUTHORITY_HOST for other clouds.',
      },
    }
  }
}

async function permissionChecks(options: DoctorOptions, appId: string): Promise<CheckResult[]> {
  const check = 'Graph permissions'
  let own: ServicePrincipal | null
  let graphSp: ServicePrincipal | null
  let held: AppRoleAssignment[]
  try {
    own = (await options.graph.findServicePrincipalByAppId(appId, ctx())).value
    graphSp = (await options.graph.findServicePrincipalByAppId(MICROSOFT_GRAPH_APP_ID, ctx())).value
    held = own ? (await options.graph.listServicePrincipalAppRoleAssignments(own.id, ctx())).value : []
  } catch (error) {
    return [{
      check, status: 'fail', detail: `could not read guestgate's service principal: ${graphProblem(error)}`,
      fix: 'Grant Application.Read.All (admin consent): guestgate reads its own grants and the apps in its policy with it.',
    }]
  }
  if (!own) {
    return [{ check, status: 'fail', detail: `no service principal for application ${appId} in this tenant`, fix: 'Create the enterprise application for guestgate\'s app registration (admin consent creates it).' }]
  }
  if (!graphSp) return [{ check, status: 'fail', detail: 'Microsoft Graph\'s service principal was not found', fix: 'Check GRAPH_BASE_URL: it must be a Microsoft Graph endpoint.' }]
  const roleValues = new Map(graphSp.appRoles.map((role) => [role.id, role.value ?? role.id]))
  const granted = new Set(held.filter((a) => a.resourceId === graphSp.id).map((a) => roleValues.get(a.appRoleId) ?? a.appRoleId))

  const missing = REQUIRED_GRAPH_PERMISSIONS.filter((p) => !granted.has(p.value))
  const dangerous = DANGEROUS_GRAPH_PERMISSIONS.filter((p) => granted.has(p.value))
  const optionalMissing = OPTIONAL_GRAPH_PERMISSIONS.filter((p) => !granted.has(p.value))
  const results: CheckResult[] = [missing.length === 0
    ? { check: 'Graph permissions: required', status: 'pass', detail: `${own.displayName} holds ${REQUIRED_GRAPH_PERMISSIONS.map((p) => p.value).join(', ')}` }
    : {
        check: 'Graph permissions: required',
        status: 'fail',
        detail: `missing ${missing.map((p) => `${p.value} (${p.why})`).join('; ')}`,
        fix: `Grant admin consent for these Microsoft Graph application permissions to ${own.displayName}: ${missing.map((p) => p.value).join(', ')}.`,
      }]
  results.push(dangerous.length === 0
    ? { check: 'Graph permissions: excess', status: 'pass', detail: 'none of the dangerous ones' }
    : {
        check: 'Graph permissions: excess',
        status: 'warn',
        detail: `also holds ${dangerous.map((p) => `${p.value} (${p.why})`).join('; ')}`,
        fix: `Remove ${dangerous.map((p) => p.value).join(', ')} from ${own.displayName}: guestgate never uses them.`,
      })
  results.push(optionalMissing.length === 0
    ? { check: 'Graph permissions: optional', status: 'pass', detail: `holds ${OPTIONAL_GRAPH_PERMISSIONS.map((p) => p.value).join(', ')}` }
    : {
        check: 'Graph permissions: optional',
        status: 'warn',
        detail: `not granted: ${optionalMissing.map((p) => `${p.value} (${p.why})`).join('; ')}`,
        fix: `Grant ${optionalMissing.map((p) => p.value).join(', ')} if you want these features.`,
      })
  return results
}

/** Every group and app any role of the policy names, once each. */
function policyTargets(policy: PolicyDocument) {
  const groups = new Map<string, string | undefined>()
  const apps = new Map<string, { name?: string; roles: Set<string> }>()
  for (const role of Object.values(policy.roles)) {
    for (const group of role?.groups ?? []) groups.set(group.id.toLowerCase(), group.name ?? groups.get(group.id.toLowerCase()))
    for (const app of role?.apps ?? []) {
      const entry = apps.get(app.id.toLowerCase()) ?? { name: app.name, roles: new Set<string>() }
      for (const value of [...(app.grant ?? []), ...(app.revoke ?? [])]) entry.roles.add(value)
      apps.set(app.id.toLowerCase(), entry)
    }
  }
  return { groups, apps }
}

async function groupCheck(options: DoctorOptions, id: string, name: string | undefined): Promise<CheckResult> {
  const check = `policy group ${name ?? id}`
  try {
    const group = (await options.graph.getGroup(id, ctx())).value
    const label = `${group.displayName} (${id})`
    const remove = 'Remove it from the policy file: guestgate must not manage its members.'
    if (group.isAssignableToRole) return { check, status: 'fail', detail: `${label} is role-assignable: changing its members needs RoleManagement.ReadWrite.Directory`, fix: remove }
    if (group.isDynamic) return { check, status: 'fail', detail: `${label} is dynamic (${group.membershipRule ?? 'rule'}): Graph refuses member changes`, fix: remove }
    // Mail-enabled security groups and distribution lists are managed in Exchange, not through Graph:
    // https://learn.microsoft.com/en-us/graph/api/group-post-members
    if (group.mailEnabled && !group.groupTypes.includes('Unified')) {
      return { check, status: 'fail', detail: `${label} is a mail-enabled security or distribution group: its members are managed in Exchange`, fix: remove }
    }
    return { check, status: 'pass', detail: `${label}: a security group guestgate can manage` }
  } catch (error) {
    if (error instanceof GraphRequestError && error.status === 404) {
      return { check, status: 'fail', detail: `no group ${id} in this tenant`, fix: 'Correct the group id in the policy file, or remove it.' }
    }
    return { check, status: 'fail', detail: graphProblem(error), fix: 'Grant GroupMember.ReadWrite.All (it reads groups too).' }
  }
}

async function appCheck(options: DoctorOptions, id: string, wanted: { name?: string; roles: Set<string> }, ownAppId: string): Promise<CheckResult> {
  const check = `policy app ${wanted.name ?? id}`
  try {
    const sp = (await options.graph.getServicePrincipal(id, ctx())).value
    const label = `${sp.displayName} (${id})`
    if (sp.appId === MICROSOFT_GRAPH_APP_ID || sp.appId === ownAppId) {
      return { check, status: 'fail', detail: `${label} is ${sp.appId === ownAppId ? 'guestgate itself' : 'Microsoft Graph'}: a role there is a tenant takeover`, fix: 'Remove it from the policy file.' }
    }
    // The file names roles as requests do (value, display name or id): the same resolver decides.
    const userRoles = sp.appRoles.filter((r) => r.isEnabled && r.allowedMemberTypes.includes('User'))
    const unknown = [...wanted.roles].filter((entry) => findAppRole(userRoles, entry) === undefined)
    if (unknown.length > 0) {
      return {
        check, status: 'fail', detail: `${label} has no enabled user role ${unknown.join(', ')}`,
        fix: `Name roles the app defines for users (by value, display name or id): ${userRoles.map(appRoleLabel).join(', ') || 'none'}.`,
      }
    }
    return { check, status: 'pass', detail: `${label}: roles ${[...wanted.roles].join(', ') || 'none named'} exist` }
  } catch (error) {
    if (error instanceof GraphRequestError && error.status === 404) {
      return { check, status: 'fail', detail: `no enterprise application (service principal) ${id} in this tenant`, fix: 'Use the service principal\'s object id in the policy file, not the application id.' }
    }
    return { check, status: 'fail', detail: graphProblem(error), fix: 'Grant Application.Read.All.' }
  }
}

async function policyChecks(options: DoctorOptions, ownAppId: string): Promise<CheckResult[]> {
  if (options.policy instanceof Error) {
    return [{ check: 'policy file', status: 'fail', detail: firstLine(options.policy), fix: `Correct ${options.config.policyFile} (GUESTGATE_POLICY_FILE).` }]
  }
  const { groups, apps } = policyTargets(options.policy)
  return [
    { check: 'policy file', status: 'pass', detail: `version ${options.policy.version}: ${groups.size} group(s), ${apps.size} app(s)` },
    ...await Promise.all([...groups].map(([id, name]) => groupCheck(options, id, name))),
    ...await Promise.all([...apps].map(([id, wanted]) => appCheck(options, id, wanted, ownAppId))),
  ]
}

async function authorityCheck(config: AppConfig): Promise<CheckResult> {
  const check = 'token authority keys'
  if (config.mode === 'sandbox') return { check, status: 'skip', detail: 'sandbox mode: tokens come from the built-in sandbox issuer' }
  const url = `${config.authAuthority}/${config.tenantId}/discovery/v2.0/keys`
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(config.graphTimeoutMs) })
    const body = (await response.json().catch(() => undefined)) as { keys?: unknown } | undefined
    const keys = Array.isArray(body?.keys) ? body.keys.length : 0
    if (response.ok && keys > 0) return { check, status: 'pass', detail: `${keys} signing key(s) at ${url}` }
    return { check, status: 'fail', detail: `${url} answered ${response.status} with ${keys} key(s)`, fix: 'Check GUESTGATE_AUTH_AUTHORITY and GUESTGATE_TENANT_ID.' }
  } catch (error) {
    return { check, status: 'fail', detail: `${url}: ${firstLine(error)}`, fix: 'Allow outbound HTTPS to the authority (GUESTGATE_AUTH_AUTHORITY); tokens cannot be checked without its keys.' }
  }
}

async function databaseChecks(config: AppConfig): Promise<CheckResult[]> {
  if (!config.databaseUrl) {
    return [{ check: 'database', status: 'skip', detail: `sandbox mode: embedded Postgres under ${config.dataDir}, migrated at start` }]
  }
  const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: config.graphTimeoutMs })
  try {
    await client.connect()
  } catch (error) {
    return [{ check: 'database reachable', status: 'fail', detail: firstLine(error), fix: 'Check DATABASE_URL and that Postgres accepts connections from here.' }]
  }
  const results: CheckResult[] = [{ check: 'database reachable', status: 'pass', detail: 'connected' }]
  try {
    const { applied, pending } = await migrationStatus(client)
    if (pending.length > 0) {
      results.push({
        check: 'database migrated', status: 'fail', detail: `${pending.length} migration(s) not applied: ${pending.join(', ')}`,
        fix: 'Run `npx prisma migrate deploy`, or start once with GUESTGATE_APPLY_MIGRATIONS=true.',
      })
      results.push({ check: 'audit chain', status: 'skip', detail: 'the database is not migrated' })
      return results
    }
    results.push({ check: 'database migrated', status: 'pass', detail: `${applied.length} migration(s) applied` })
  } finally {
    await client.end()
  }
  const prisma = createPrismaClient(config.databaseUrl, { maxConnections: 1 })
  try {
    const verdict = await createAuditStore(prisma).verify()
    results.push(verdict.valid
      ? { check: 'audit chain', status: 'pass', detail: `${verdict.checked} row(s), every hash and link intact` }
      : { check: 'audit chain', status: 'fail', detail: verdict.reason ?? `row ${verdict.firstInvalid} is invalid`, fix: 'The audit log was altered: keep the database as it is and investigate (GET /v1/audit/verify shows the same).' })
  } catch (error) {
    results.push({ check: 'audit chain', status: 'fail', detail: firstLine(error), fix: 'Check that DATABASE_URL\'s role may read audit_events.' })
  } finally {
    await prisma.$disconnect()
  }
  return results
}

/** Graph's Date header against this clock, taken at the middle of the round trip. */
async function clockCheck(config: AppConfig, graphBaseUrl: string, warnSeconds: number): Promise<CheckResult> {
  const check = 'clock'
  try {
    const sent = Date.now()
    const response = await fetch(`${graphBaseUrl}/organization`, { signal: AbortSignal.timeout(config.graphTimeoutMs) })
    const received = Date.now()
    await response.body?.cancel()
    const date = Date.parse(response.headers.get('date') ?? '')
    if (Number.isNaN(date)) return { check, status: 'warn', detail: 'Graph sent no Date header to compare with', fix: 'Keep this machine\'s clock synchronised (NTP).' }
    // The header has whole seconds: half a second of it is rounding.
    const skewSeconds = Math.max(0, Math.abs(date + 500 - (sent + received) / 2) / 1000 - 0.5)
    const detail = `${skewSeconds.toFixed(1)} s from Graph's clock`
    const fix = 'Synchronise this machine\'s clock (NTP): token lifetimes are checked against it.'
    if (skewSeconds > config.clockSkewSeconds) return { check, status: 'fail', detail: `${detail}, more than GUESTGATE_CLOCK_SKEW_SECONDS (${config.clockSkewSeconds})`, fix }
    if (skewSeconds > warnSeconds) return { check, status: 'warn', detail, fix }
    return { check, status: 'pass', detail }
  } catch (error) {
    return { check, status: 'fail', detail: `Graph is not reachable at ${graphBaseUrl}: ${firstLine(error)}`, fix: 'Check GRAPH_BASE_URL and outbound HTTPS.' }
  }
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const { result: credential, token } = await credentialCheck(options)
  const appId = (token && applicationIdOfToken(token)) ?? options.clientId ?? options.config.appId
  const graphChecks = token
    ? [...await permissionChecks(options, appId), ...await policyChecks(options, appId)]
    : [{ check: 'Graph permissions', status: 'skip' as const, detail: 'no token' }, { check: 'policy groups and apps', status: 'skip' as const, detail: 'no token' }]
  return [
    credential,
    ...graphChecks,
    await authorityCheck(options.config),
    ...await databaseChecks(options.config),
    await clockCheck(options.config, options.graphBaseUrl, options.clockWarnSeconds ?? 5),
  ]
}

/** Non-zero when any check failed; warnings alone do not fail. */
export const exitCodeOf = (results: readonly CheckResult[]): number => (results.some((r) => r.status === 'fail') ? 1 : 0)

const STATUS_LABEL: Record<CheckStatus, string> = { pass: 'pass', warn: 'WARN', fail: 'FAIL', skip: 'skip' }

/** A plain-text table: check, result, detail, and the fix under a failing or warning row. */
export function formatTable(results: readonly CheckResult[]): string {
  const width = Math.max('CHECK'.length, ...results.map((r) => r.check.length))
  const lines = [`${'CHECK'.padEnd(width)}  RESULT  DETAIL`]
  for (const result of results) {
    lines.push(`${result.check.padEnd(width)}  ${STATUS_LABEL[result.status].padEnd(6)}  ${result.detail}`)
    if (result.fix && (result.status === 'fail' || result.status === 'warn')) lines.push(`${''.padEnd(width)}          fix: ${result.fix}`)
  }
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length
  lines.push('', `${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed, ${count('skip')} skipped`)
  return lines.join('\n')
}
