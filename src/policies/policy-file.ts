// The policy file: data that narrows what each API role may do. Validated at start (and on
// reload) by a TypeBox schema plus checks a schema cannot express; every problem is reported
// with its JSON pointer so an admin can fix the whole file in one pass.
import { readFile } from 'node:fs/promises'
import { extname } from 'node:path'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value'
import { parseDocument } from 'yaml'
import { API_ROLES } from '../auth/principal.js'
import { urlPrefixProblem } from './redirect-url.js'

const GUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
const DOMAIN_PATTERN = '^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63}$'

// `errorMessage` replaces TypeBox's generic message for that schema in PolicyFileError.
const Guid = Type.String({
  pattern: GUID_PATTERN,
  errorMessage: 'must be a GUID such as d0000000-0000-4000-8000-000000000001',
})
const DomainName = Type.String({
  pattern: DOMAIN_PATTERN,
  errorMessage: 'must be a domain name such as partner.example (no @, no wildcard)',
})
const DisplayName = Type.String({ minLength: 1, errorMessage: 'must be a non-empty string' })
const Flag = Type.Optional(Type.Boolean())

export const InvitationsPolicySchema = Type.Object(
  {
    /** Only these domains may be invited (subdomains are not implied). */
    allowDomains: Type.Optional(
      Type.Array(DomainName, { minItems: 1, errorMessage: 'must be a list of at least one domain' }),
    ),
    /** Any domain but these may be invited. */
    denyDomains: Type.Optional(Type.Array(DomainName)),
    redirectUrlPrefixes: Type.Array(Type.String(), {
      minItems: 1,
      errorMessage: 'must be a list of at least one https:// URL prefix',
    }),
    /** Invitations one requester may send per hour; absent: no limit. */
    maxPerHour: Type.Optional(Type.Integer({ minimum: 1, errorMessage: 'must be a whole number of at least 1' })),
  },
  { additionalProperties: false },
)

export const GuestsPolicySchema = Type.Object(
  {
    read: Flag, resend: Flag, resetRedemption: Flag, delete: Flag, revokeAccess: Flag,
    /** Add and remove a guest's sponsors; name sponsors other than oneself at invitation. */
    manageSponsors: Flag,
    /** Offboarding on revoke-access: block sign-in (accountEnabled false), revoke sign-in sessions. */
    blockSignIn: Flag,
    revokeSessions: Flag,
  },
  { additionalProperties: false },
)

export const GroupPolicySchema = Type.Object(
  { id: Guid, name: Type.Optional(DisplayName), add: Flag, remove: Flag },
  { additionalProperties: false },
)

export const AppPolicySchema = Type.Object(
  {
    /** Service principal (enterprise application) id. */
    id: Guid,
    name: Type.Optional(DisplayName),
    /** App roles this role may grant / revoke: each by value (DocuSign.Sender), display name
     *  (DocuSign Sender, any case) or id, resolved against the application's roles in Graph
     *  when a request is decided (policies/app-roles.ts). */
    grant: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    revoke: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** Names of app role values for messages when Graph's are not at hand (Graph's win). */
    roleNames: Type.Optional(Type.Record(Type.String(), DisplayName)),
  },
  { additionalProperties: false },
)

export const AuditPolicySchema = Type.Object({ read: Flag, export: Flag }, { additionalProperties: false })

const MaxDays = Type.Integer({ minimum: 1, maximum: 3650, errorMessage: 'must be a whole number of days from 1 to 3650' })

/** The longest expiry a role may set on what it grants (a guest it invites, a membership, an
 *  app role); absent: the role may set any date, or none. */
export const RoleExpirySchema = Type.Object({ maxDays: MaxDays }, { additionalProperties: false })

export const BUNDLE_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$'

/** A named set of groups and app roles granted and revoked as one (like an access package). */
export const BundlePolicySchema = Type.Object(
  {
    name: Type.String({ pattern: BUNDLE_NAME_PATTERN, errorMessage: 'must be lower-case letters, digits and dashes (at most 63), such as contractor-dev' }),
    description: Type.Optional(Type.String()),
    groups: Type.Optional(Type.Array(Guid)),
    appRoles: Type.Optional(Type.Array(Type.Object(
      { appId: Guid, appRole: Type.String({ minLength: 1, errorMessage: 'must be an app role value' }) },
      { additionalProperties: false },
    ))),
    /** The longest a grant of this bundle may last; every grant of it carries an expiry. */
    maxDays: MaxDays,
    /** API roles that may grant and revoke it (each part still needs that role's own grant). */
    grantableBy: Type.Array(Type.Union([...API_ROLES].map((r) => Type.Literal(r))), { minItems: 1, errorMessage: `must be a list of API roles (${API_ROLES.join(', ')})` }),
  },
  { additionalProperties: false },
)

/** Reminders before an expiry, published as expiry.reminder events (webhooks deliver them). */
export const ExpiryPolicySchema = Type.Object(
  { reminderDaysBefore: Type.Optional(Type.Array(MaxDays, { maxItems: 5 })) },
  { additionalProperties: false },
)
/** Hygiene reports: read them; act on them (resend, revoke, delete: each still needs its own grant). */
export const ReportsPolicySchema = Type.Object({ read: Flag, cleanup: Flag }, { additionalProperties: false })

/** Webhook subscriptions: create, list, delete, and read their delivery log. */
export const WebhooksPolicySchema = Type.Object({ manage: Flag }, { additionalProperties: false })

export const RolePolicySchema = Type.Object(
  {
    description: Type.Optional(Type.String()),
    invitations: Type.Optional(InvitationsPolicySchema),
    guests: Type.Optional(GuestsPolicySchema),
    groups: Type.Optional(Type.Array(GroupPolicySchema)),
    apps: Type.Optional(Type.Array(AppPolicySchema)),
    audit: Type.Optional(AuditPolicySchema),
    expiry: Type.Optional(RoleExpirySchema),
    reports: Type.Optional(ReportsPolicySchema),
    webhooks: Type.Optional(WebhooksPolicySchema),
  },
  { additionalProperties: false },
)

export const TenantLimitsSchema = Type.Object(
  {
    /** Invitations and resends the whole tenant may send per hour, whoever asks; absent: no limit.
     *  Protects the directory from Microsoft's "suspicious activity" invitation block. */
    invitationsPerHour: Type.Optional(Type.Integer({ minimum: 1, errorMessage: 'must be a whole number of at least 1' })),
  },
  { additionalProperties: false },
)

export const CleanupPolicySchema = Type.Object(
  {
    /** Safety gate: a clean-up run that would revoke or delete more guests than this is refused
     *  as a whole (409 with the list); absent: 10. */
    maxRemovalsPerRun: Type.Optional(Type.Integer({ minimum: 0, errorMessage: 'must be a whole number of at least 0' })),
  },
  { additionalProperties: false },
)

/** Removals one clean-up run may make when the policy file does not say. */
export const DEFAULT_MAX_REMOVALS_PER_RUN = 10

export const PolicyDocumentSchema = Type.Object(
  {
    /** Written into every audit row: change it whenever the policy changes. */
    version: Type.String({ minLength: 1, errorMessage: 'must be a non-empty string such as "2026-11-27.1"' }),
    description: Type.Optional(Type.String()),
    limits: Type.Optional(TenantLimitsSchema),
    bundles: Type.Optional(Type.Array(BundlePolicySchema)),
    expiry: Type.Optional(ExpiryPolicySchema),
    roles: Type.Object(
      {
        'Guests.Invite': Type.Optional(RolePolicySchema),
        'Guests.Manage': Type.Optional(RolePolicySchema),
        'Groups.ManageMembers': Type.Optional(RolePolicySchema),
        'Apps.AssignRoles': Type.Optional(RolePolicySchema),
        'Audit.Read': Type.Optional(RolePolicySchema),
      },
      { additionalProperties: false },
    ),
    cleanup: Type.Optional(CleanupPolicySchema),
  },
  { additionalProperties: false },
)

export type InvitationsPolicy = Static<typeof InvitationsPolicySchema>
export type TenantLimits = Static<typeof TenantLimitsSchema>
export type GroupPolicy = Static<typeof GroupPolicySchema>
export type AppPolicy = Static<typeof AppPolicySchema>
export type BundlePolicy = Static<typeof BundlePolicySchema>
export type RolePolicy = Static<typeof RolePolicySchema>
export type PolicyDocument = Static<typeof PolicyDocumentSchema>

export interface PolicyFileIssue {
  /** JSON pointer into the document, "/" for the whole file. */
  path: string
  message: string
}

export class PolicyFileError extends Error {
  override readonly name = 'PolicyFileError'
  readonly code = 'POLICY_FILE_INVALID'

  constructor(
    readonly source: string,
    readonly errors: PolicyFileIssue[],
  ) {
    const count = errors.length === 1 ? '1 error' : `${errors.length} errors`
    super(`Policy file ${source} has ${count}:\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`)
  }
}

export async function loadPolicyFile(path: string): Promise<PolicyDocument> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new PolicyFileError(path, [{ path: '/', message: `cannot read the file (${reason})` }])
  }
  return parsePolicyDocument(text, path)
}

/** Parses JSON (by a .json source name) or YAML, validates, and returns a normalized, frozen document. */
export function parsePolicyDocument(text: string, sourceName: string): PolicyDocument {
  const data = extname(sourceName).toLowerCase() === '.json' ? parseJson(text, sourceName) : parseYaml(text, sourceName)
  const errors = [...schemaIssues(data), ...semanticIssues(data)].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  if (errors.length > 0) throw new PolicyFileError(sourceName, errors)
  return deepFreeze(normalize(data as PolicyDocument))
}

function parseJson(text: string, sourceName: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new PolicyFileError(sourceName, [{ path: '/', message: `not valid JSON: ${(err as Error).message}` }])
  }
}

function parseYaml(text: string, sourceName: string): unknown {
  const doc = parseDocument(text)
  if (doc.errors.length > 0) {
    // yaml's messages end with a code excerpt; the first line has the position.
    const errors = doc.errors.map((e) => ({ path: '/', message: `not valid YAML: ${e.message.split('\n')[0]}` }))
    throw new PolicyFileError(sourceName, errors)
  }
  return doc.toJS()
}

function schemaIssues(data: unknown): PolicyFileIssue[] {
  const seen = new Set<string>()
  const issues: PolicyFileIssue[] = []
  for (const error of Value.Errors(PolicyDocumentSchema, data)) {
    const path = error.path === '' ? '/' : error.path
    // TypeBox reports a missing property twice (required, then wrong type): keep the first.
    if (seen.has(path)) continue
    seen.add(path)
    issues.push({ path, message: schemaMessage(error) })
  }
  return issues
}

function schemaMessage(error: ValueError): string {
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required'
    case ValueErrorType.ObjectAdditionalProperties: {
      const known = Object.keys((error.schema as TSchema & { properties?: object }).properties ?? {})
      const what = error.path.split('/').length === 3 && error.path.startsWith('/roles/') ? 'is not an API role' : 'is not a known key'
      return `${what}; expected one of ${known.join(', ')}`
    }
    default: {
      const custom = (error.schema as { errorMessage?: unknown }).errorMessage
      if (typeof custom === 'string') return custom
      const expected = /^Expected (\w+)$/.exec(error.message)?.[1]
      return (expected && TYPE_MESSAGES[expected]) ?? error.message.replace(/^Expected/, 'expected')
    }
  }
}

const TYPE_MESSAGES: Record<string, string> = {
  boolean: 'must be true or false',
  object: 'must be a mapping (key: value)',
  array: 'must be a list',
  string: 'must be text',
  integer: 'must be a whole number',
  number: 'must be a number',
}

/** Checks a schema cannot express. Written over unknown data so they run even when the schema failed. */
function semanticIssues(data: unknown): PolicyFileIssue[] {
  const issues: PolicyFileIssue[] = []
  const roles = isRecord(data) && isRecord(data.roles) ? data.roles : {}
  for (const [roleName, role] of Object.entries(roles)) {
    if (!isRecord(role)) continue
    const base = `/roles/${escapePointer(roleName)}`
    const invitations = role.invitations
    if (isRecord(invitations)) {
      const at = `${base}/invitations`
      if (invitations.allowDomains !== undefined && invitations.denyDomains !== undefined) {
        issues.push({ path: at, message: 'use allowDomains or denyDomains, not both' })
      } else if (invitations.allowDomains === undefined && invitations.denyDomains === undefined) {
        issues.push({ path: at, message: 'needs allowDomains (an allow list) or denyDomains (a deny list)' })
      }
      issues.push(...duplicates(invitations.allowDomains, `${at}/allowDomains`, lowerCase))
      issues.push(...duplicates(invitations.denyDomains, `${at}/denyDomains`, lowerCase))
      if (Array.isArray(invitations.redirectUrlPrefixes)) {
        invitations.redirectUrlPrefixes.forEach((prefix, i) => {
          const problem = typeof prefix === 'string' ? urlPrefixProblem(prefix) : null
          if (problem) issues.push({ path: `${at}/redirectUrlPrefixes/${i}`, message: problem })
        })
      }
    }
    issues.push(...duplicates(ids(role.groups), `${base}/groups`, lowerCase, '/id'))
    issues.push(...duplicates(ids(role.apps), `${base}/apps`, lowerCase, '/id'))
  }
  const bundles = isRecord(data) && Array.isArray(data.bundles) ? data.bundles : []
  issues.push(...duplicates(bundles.map((b) => (isRecord(b) ? b.name : undefined)), '/bundles', (s) => s, '/name'))
  bundles.forEach((bundle, i) => {
    if (!isRecord(bundle)) return
    const groups = Array.isArray(bundle.groups) ? bundle.groups : []
    const appRoles = Array.isArray(bundle.appRoles) ? bundle.appRoles : []
    if (groups.length + appRoles.length === 0) issues.push({ path: `/bundles/${i}`, message: 'needs at least one group or app role' })
    issues.push(...duplicates(groups, `/bundles/${i}/groups`, lowerCase))
    issues.push(...duplicates(appRoles.map((r) => (isRecord(r) && typeof r.appId === 'string' && typeof r.appRole === 'string' ? `${r.appId.toLowerCase()} ${r.appRole}` : undefined)),
      `/bundles/${i}/appRoles`, (s) => s))
  })
  return issues
}

function duplicates(list: unknown, at: string, key: (s: string) => string, suffix = ''): PolicyFileIssue[] {
  if (!Array.isArray(list)) return []
  const firstIndex = new Map<string, number>()
  const issues: PolicyFileIssue[] = []
  list.forEach((item, i) => {
    if (typeof item !== 'string') return
    const k = key(item)
    const first = firstIndex.get(k)
    if (first === undefined) firstIndex.set(k, i)
    else issues.push({ path: `${at}/${i}${suffix}`, message: `duplicate of ${at}/${first}${suffix} (${item})` })
  })
  return issues
}

function ids(list: unknown): unknown[] | undefined {
  return Array.isArray(list) ? list.map((entry) => (isRecord(entry) ? entry.id : undefined)) : undefined
}

/** Domains and GUIDs are compared case-insensitively: store them lower-case once. */
function normalize(doc: PolicyDocument): PolicyDocument {
  const roles: PolicyDocument['roles'] = {}
  for (const name of API_ROLES) {
    const role = doc.roles[name]
    if (!role) continue
    roles[name] = {
      ...role,
      ...(role.invitations && {
        invitations: {
          ...role.invitations,
          ...(role.invitations.allowDomains && { allowDomains: role.invitations.allowDomains.map(lowerCase) }),
          ...(role.invitations.denyDomains && { denyDomains: role.invitations.denyDomains.map(lowerCase) }),
        },
      }),
      ...(role.groups && { groups: role.groups.map((g) => ({ ...g, id: lowerCase(g.id) })) }),
      ...(role.apps && { apps: role.apps.map((a) => ({ ...a, id: lowerCase(a.id) })) }),
    }
  }
  const bundles = doc.bundles?.map((b) => ({
    ...b,
    ...(b.groups && { groups: b.groups.map(lowerCase) }),
    ...(b.appRoles && { appRoles: b.appRoles.map((r) => ({ ...r, appId: lowerCase(r.appId) })) }),
  }))
  return { ...doc, roles, ...(bundles && { bundles }) }
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function lowerCase(s: string): string {
  return s.toLowerCase()
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1')
}
