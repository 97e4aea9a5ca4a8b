// The authorization matrix, built from the app's own route table: every protected route x every
// API role alone, no role, and all roles from another tenant x the targets that matter (the
// tenant's guest, an unknown id, a member user, a group, an enterprise app, a role-assignable
// group, a dynamic group, Microsoft Graph's and guestgate's own apps). Expected answers come from
// the table below; the policy file is the sandbox's made as generous as a file can be (the
// role-assignable and dynamic groups and both protected apps listed), so the hard refusals are
// what must hold. It asserts: no 2xx the table does not expect, every 403 names a rule and has
// its audit row, and a route without a row in the table fails the test.
//
// Writes change the directory: after each 2xx of a write the simulator goes back to its seed.
// Exact bodies of writes are not asserted here (they belong to the write path's own tests).
import { readFile } from 'node:fs/promises'
import type { RouteOptions } from 'fastify'
import t from 'tap'
import { parse, stringify } from 'yaml'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import { writePolicyFile } from '../helpers/policy-file.js'

const GI = 'Guests.Invite'
const GM = 'Guests.Manage'
const GMM = 'Groups.ManageMembers'
const AAR = 'Apps.AssignRoles'
const AR = 'Audit.Read'
const ROLES = [GI, GM, GMM, AAR, AR] as const
type Role = (typeof ROLES)[number]
type Caller = Role | 'no role' | 'all roles, other tenant'
const CALLERS: Caller[] = [...ROLES, 'no role', 'all roles, other tenant']
const OTHER_TENANT = '99999999-9999-4999-8999-999999999999'
const UNKNOWN_JOB = '0b000000-0000-4000-8000-00000000b0b0'

type Kind = 'guest' | 'unknown' | 'member' | 'group' | 'roleAssignableGroup' | 'dynamicGroup' | 'app' | 'graphApp' | 'guestgateApp'
interface Target { kind: Kind; id: string }
const TARGETS: Target[] = [
  { kind: 'guest', id: SEED.users.existingGuest.id },
  { kind: 'unknown', id: '0f000000-0000-4000-8000-00000000abcd' },
  { kind: 'member', id: SEED.users.adele.id },
  { kind: 'group', id: SEED.groups.developers },
  { kind: 'app', id: SEED.apps.docuSign.id },
  { kind: 'roleAssignableGroup', id: SEED.groups.financeAdmins },
  { kind: 'dynamicGroup', id: SEED.groups.allPartners },
  { kind: 'graphApp', id: SEED.apps.microsoftGraph.id },
  { kind: 'guestgateApp', id: SEED.apps.guestgate.id },
]
const GUEST = SEED.users.existingGuest.id
const DEVELOPERS = SEED.groups.developers
const DOCUSIGN = SEED.apps.docuSign.id
const isUser = (t: Target) => t.kind === 'guest' || t.kind === 'unknown' || t.kind === 'member'
const isGroup = (t: Target) => t.kind === 'group' || t.kind === 'roleAssignableGroup' || t.kind === 'dynamicGroup'
const isApp = (t: Target) => t.kind === 'app' || t.kind === 'graphApp' || t.kind === 'guestgateApp'
/** A role value the generous policy lets Apps.AssignRoles grant on each app. */
const ROLE_ON: Partial<Record<Kind, string>> = { app: 'DocuSign.Sender', graphApp: 'Directory.Read.All', guestgateApp: 'Audit.Read' }

/** What the table expects: a status, or a denial (403) by some rule or a named one. */
type Outcome = number | { denied: string | true }
interface Request { method: string; url: string; payload?: unknown }
interface Row {
  /** The target goes into the request; rows without targets are asked once per caller. */
  targets: boolean
  request(target: Target, n: number): Request
  expect(caller: Caller, target: Target): Outcome
}

/** The route's coarse gate: the listed roles pass, others get role.missing, other tenants tenant.mismatch. */
const gate = (roles: readonly (Role | 'anyone')[], then: (target: Target, caller: Caller) => Outcome) => (caller: Caller, target: Target): Outcome => {
  if (caller === 'all roles, other tenant') return { denied: 'tenant.mismatch' }
  if (!roles.includes('anyone') && !roles.includes(caller as Role)) return { denied: 'role.missing' }
  return then(target, caller)
}
/** Refusals no policy file lifts, for a membership change and for an app role. */
const groupRefusal = (t: Target): Outcome | undefined =>
  t.kind === 'roleAssignableGroup' ? { denied: 'groups.role-assignable' } : t.kind === 'dynamicGroup' ? { denied: 'groups.dynamic' } : undefined
const appRefusal = (t: Target): Outcome | undefined =>
  t.kind === 'graphApp' || t.kind === 'guestgateApp' ? { denied: 'apps.protected-application' } : undefined

const guestRoute = (okStatus: number, notGuest: number) => (t: Target): Outcome =>
  t.kind === 'guest' ? okStatus : t.kind === 'member' ? notGuest : 404

/** Route key (method and URL as Fastify registers it) -> how to call it and what it must answer. */
const TABLE: Record<string, Row> = {
  'POST /v1/invitations': {
    targets: true,
    request: (t, n) => ({
      method: 'POST', url: '/v1/invitations',
      payload: {
        email: `matrix${n}@partner.example`, sendEmail: false,
        ...(isGroup(t) ? { groups: [t.id] } : {}),
        ...(isApp(t) ? { appRoles: [{ appId: t.id, appRole: ROLE_ON[t.kind] }] } : {}),
      },
    }),
    // Onboarding parts need their own grants: an inviter without them is refused the whole request.
    expect: gate([GI, GM], (t) => (isGroup(t) || isApp(t) ? { denied: 'role.missing' } : 201)),
  },
  // Bulk: the right to invite submits (each row is then authorized as the single route); jobs are
  // their submitter's alone, so an unknown job is 404 to everyone who may invite.
  'POST /v1/bulk/invitations': {
    targets: false, request: (_t, n) => ({ method: 'POST', url: '/v1/bulk/invitations', payload: { invitations: [{ email: `bulkmatrix${n}@partner.example`, sendEmail: false }] } }),
    expect: gate([GI, GM], () => 202),
  },
  'GET /v1/bulk/jobs/:id': { targets: false, request: () => ({ method: 'GET', url: `/v1/bulk/jobs/${UNKNOWN_JOB}` }), expect: gate([GI, GM], () => 404) },
  'GET /v1/bulk/jobs/:id/events': { targets: false, request: () => ({ method: 'GET', url: `/v1/bulk/jobs/${UNKNOWN_JOB}/events` }), expect: gate([GI, GM], () => 404) },
  'GET /v1/bulk/jobs/:id/results': { targets: false, request: () => ({ method: 'GET', url: `/v1/bulk/jobs/${UNKNOWN_JOB}/results` }), expect: gate([GI, GM], () => 404) },
  'POST /v1/bulk/jobs/:id/cancel': { targets: false, request: () => ({ method: 'POST', url: `/v1/bulk/jobs/${UNKNOWN_JOB}/cancel` }), expect: gate([GI, GM], () => 404) },
  'DELETE /v1/bulk/jobs/:id': { targets: false, request: () => ({ method: 'DELETE', url: `/v1/bulk/jobs/${UNKNOWN_JOB}` }), expect: gate([GI, GM], () => 404) },
  'GET /v1/guests': { targets: false, request: () => ({ method: 'GET', url: '/v1/guests' }), expect: gate(ROLES, () => 200) },
  'GET /v1/guests/:id': { targets: true, request: (t) => ({ method: 'GET', url: `/v1/guests/${t.id}` }), expect: gate(ROLES, guestRoute(200, 404)) },
  'DELETE /v1/guests/:id': { targets: true, request: (t) => ({ method: 'DELETE', url: `/v1/guests/${t.id}` }), expect: gate([GM], guestRoute(204, 409)) },
  'POST /v1/guests/:id/resend-invitation': {
    // The seeded guest accepted long ago: nothing to resend.
    targets: true, request: (t) => ({ method: 'POST', url: `/v1/guests/${t.id}/resend-invitation` }), expect: gate([GI, GM], guestRoute(409, 404)),
  },
  'POST /v1/guests/:id/reset-redemption': {
    // The seeded guest accepted: a reset makes it redeem again (its own action: Guests.Manage).
    targets: true, request: (t) => ({ method: 'POST', url: `/v1/guests/${t.id}/reset-redemption`, payload: { sendEmail: false } }), expect: gate([GM], guestRoute(200, 404)),
  },
  'POST /v1/guests/:id/revoke-access': { targets: true, request: (t) => ({ method: 'POST', url: `/v1/guests/${t.id}/revoke-access` }), expect: gate([GM], guestRoute(200, 404)) },
  'GET /v1/guests/:id/sponsors': { targets: true, request: (t) => ({ method: 'GET', url: `/v1/guests/${t.id}/sponsors` }), expect: gate(ROLES, guestRoute(200, 404)) },
  'POST /v1/guests/:id/sponsors': {
    targets: true, request: (t) => ({ method: 'POST', url: `/v1/guests/${t.id}/sponsors`, payload: { sponsorId: SEED.users.adele.id } }), expect: gate([GM], guestRoute(200, 404)),
  },
  'DELETE /v1/guests/:id/sponsors/:sponsorId': {
    // Adele sponsors no one in the seed: the end state asked for, 200 unchanged.
    targets: true, request: (t) => ({ method: 'DELETE', url: `/v1/guests/${t.id}/sponsors/${SEED.users.adele.id}` }), expect: gate([GM], guestRoute(200, 404)),
  },
  'POST /v1/guests/:id/bundles': {
    targets: true, request: (t) => ({ method: 'POST', url: `/v1/guests/${t.id}/bundles`, payload: { bundle: 'matrix' } }),
    expect: gate([GMM], guestRoute(200, 404)),
  },
  // A bundle never granted: no grant to revoke.
  'DELETE /v1/guests/:id/bundles/:name': {
    targets: true, request: (t) => ({ method: 'DELETE', url: `/v1/guests/${t.id}/bundles/matrix-unused` }), expect: gate([GMM], () => 404),
  },
  'GET /v1/guests/:id/expiries': { targets: true, request: (t) => ({ method: 'GET', url: `/v1/guests/${t.id}/expiries` }), expect: gate(ROLES, guestRoute(200, 404)) },
  'POST /v1/guests/:id/expiries/:expiryId/renew': {
    targets: false,
    request: () => ({ method: 'POST', url: `/v1/guests/${GUEST}/expiries/0f000000-0000-4000-8000-00000000abcd/renew`, payload: { expiresAt: '2099-01-01T00:00:00Z' } }),
    expect: gate(ROLES, () => 404),
  },
  'GET /v1/groups': { targets: false, request: () => ({ method: 'GET', url: '/v1/groups' }), expect: gate([GMM], () => 200) },
  'GET /v1/groups/:groupId/members': {
    targets: true, request: (t) => ({ method: 'GET', url: `/v1/groups/${t.id}/members` }),
    // Every sandbox role may read guests, so may list any group's guests.
    expect: gate(ROLES, (t) => (isGroup(t) ? 200 : 404)),
  },
  'PUT /v1/groups/:groupId/members/:userId': {
    targets: true,
    request: (t) => ({ method: 'PUT', url: isUser(t) ? `/v1/groups/${DEVELOPERS}/members/${t.id}` : `/v1/groups/${t.id}/members/${GUEST}` }),
    expect: gate([GMM], (t) => groupRefusal(t) ?? (t.kind === 'guest' || t.kind === 'group' ? 200 : isApp(t) ? { denied: 'groups.not-managed' } : 404)),
  },
  'DELETE /v1/groups/:groupId/members/:userId': {
    targets: true,
    request: (t) => ({ method: 'DELETE', url: isUser(t) ? `/v1/groups/${DEVELOPERS}/members/${t.id}` : `/v1/groups/${t.id}/members/${GUEST}` }),
    expect: gate([GMM], (t) => groupRefusal(t) ?? (t.kind === 'guest' || t.kind === 'group' ? 200 : isApp(t) ? { denied: 'groups.not-managed' } : 404)),
  },
  'GET /v1/apps': { targets: false, request: () => ({ method: 'GET', url: '/v1/apps' }), expect: gate([AAR], () => 200) },
  'GET /v1/apps/:appId/roles': { targets: true, request: (t) => ({ method: 'GET', url: `/v1/apps/${t.id}/roles` }), expect: gate([AAR], (t) => (isApp(t) ? 200 : 404)) },
  'GET /v1/apps/:appId/assignments': { targets: true, request: (t) => ({ method: 'GET', url: `/v1/apps/${t.id}/assignments` }), expect: gate([AAR], (t) => (isApp(t) ? 200 : 404)) },
  'POST /v1/apps/:appId/assignments': {
    targets: true,
    request: (t) => isUser(t)
      ? { method: 'POST', url: `/v1/apps/${DOCUSIGN}/assignments`, payload: { principalId: t.id, appRole: 'DocuSign.Sender' } }
      : { method: 'POST', url: `/v1/apps/${t.id}/assignments`, payload: { principalId: GUEST, appRole: ROLE_ON[t.kind] ?? 'DocuSign.Sender' } },
    expect: gate([AAR], (t) => appRefusal(t) ?? (t.kind === 'guest' || t.kind === 'app' ? 201 : isGroup(t) ? { denied: 'apps.role-not-granted' } : 404)),
  },
  'DELETE /v1/apps/:appId/assignments/:assignmentId': {
    // An assignment that is not there: the end state asked for, 200 unchanged, on a real app.
    targets: true, request: (t) => ({ method: 'DELETE', url: `/v1/apps/${isUser(t) ? DOCUSIGN : t.id}/assignments/not-there` }),
    expect: gate([AAR], (t) => (isUser(t) || isApp(t) ? 200 : 404)),
  },
  'POST /v1/authorization/check': {
    targets: true,
    request: (t) => ({
      method: 'POST', url: '/v1/authorization/check',
      payload: isUser(t) ? { action: 'delete', target: { guestId: t.id } }
        : isGroup(t) ? { action: 'addMember', target: { groupId: t.id } }
        : { action: 'assign', target: { appId: t.id, appRole: ROLE_ON[t.kind] } },
    }),
    // Anyone signed in to the tenant may ask; the answer is what the route would say (a
    // Guests.Manage caller asking about an unknown id or a member gets the route's 404 or 409).
    expect: gate(['anyone'], (t, caller) => (caller === GM && t.kind === 'unknown' ? 404 : caller === GM && t.kind === 'member' ? 409 : 200)),
  },
  'GET /v1/me/permissions': { targets: false, request: () => ({ method: 'GET', url: '/v1/me/permissions' }), expect: gate(['anyone'], () => 200) },
  'GET /v1/audit/events': { targets: false, request: () => ({ method: 'GET', url: '/v1/audit/events' }), expect: gate([AR], () => 200) },
  'GET /v1/audit/events/:id': { targets: false, request: () => ({ method: 'GET', url: '/v1/audit/events/1' }), expect: gate([AR], () => 200) },
  'GET /v1/audit/operations/:operationId': {
    targets: false, request: () => ({ method: 'GET', url: '/v1/audit/operations/0f000000-0000-4000-8000-00000000abcd' }), expect: gate([AR], () => 404),
  },
  'GET /v1/audit/export': { targets: false, request: () => ({ method: 'GET', url: '/v1/audit/export' }), expect: gate([AR], () => 200) },
  'GET /v1/audit/verify': { targets: false, request: () => ({ method: 'GET', url: '/v1/audit/verify' }), expect: gate([AR], () => 200) },
  'GET /v1/audit/reconciliation': { targets: false, request: () => ({ method: 'GET', url: '/v1/audit/reconciliation' }), expect: gate([AR], () => 200) },
  'GET /v1/reports/pending-invitations': { targets: false, request: () => ({ method: 'GET', url: '/v1/reports/pending-invitations' }), expect: gate([GM, AR], () => 200) },
  'GET /v1/reports/guests-without-access': { targets: false, request: () => ({ method: 'GET', url: '/v1/reports/guests-without-access' }), expect: gate([GM, AR], () => 200) },
  'GET /v1/reports/inactive-guests': { targets: false, request: () => ({ method: 'GET', url: '/v1/reports/inactive-guests' }), expect: gate([GM, AR], () => 200) },
  // No invitation of the seed is 30 days old: the run has nothing to do.
  'POST /v1/reports/:report/cleanup': {
    targets: false, request: () => ({ method: 'POST', url: '/v1/reports/pending-invitations/cleanup', payload: { action: 'resend' } }), expect: gate([GM], () => 200),
  },
  'POST /v1/webhooks': {
    targets: false,
    request: () => ({ method: 'POST', url: '/v1/webhooks', payload: { url: 'https://hooks.partner.example/guestgate', events: ['guest.access.granted'], secret: `whsec_${'A'.repeat(32)}` } }),
    expect: gate([GM], () => 201),
  },
  'GET /v1/webhooks': { targets: false, request: () => ({ method: 'GET', url: '/v1/webhooks' }), expect: gate([GM], () => 200) },
  'GET /v1/webhooks/:id': { targets: false, request: () => ({ method: 'GET', url: '/v1/webhooks/0f000000-0000-4000-8000-00000000abcd' }), expect: gate([GM], () => 404) },
  'DELETE /v1/webhooks/:id': { targets: false, request: () => ({ method: 'DELETE', url: '/v1/webhooks/0f000000-0000-4000-8000-00000000abcd' }), expect: gate([GM], () => 404) },
  'GET /v1/webhooks/:id/deliveries': {
    targets: false, request: () => ({ method: 'GET', url: '/v1/webhooks/0f000000-0000-4000-8000-00000000abcd/deliveries' }), expect: gate([GM], () => 404),
  },
}

async function generousPolicy(): Promise<string> {
  // Only what this widens is typed; the rest is written back as it was read.
  const policy = parse(await readFile('config/policy.sandbox.yaml', 'utf8')) as {
    version: string
    roles: { [GMM]: { groups: object[] }; [AAR]: { apps: object[] } }
    bundles?: object[]
  }
  policy.version = 'matrix-generous-1'
  policy.roles[GMM].groups.push(
    { id: SEED.groups.financeAdmins, name: 'Finance Admins', add: true, remove: true },
    { id: SEED.groups.allPartners, name: 'All Partners', add: true, remove: true },
  )
  policy.roles[AAR].apps.push(
    { id: SEED.apps.microsoftGraph.id, name: 'Microsoft Graph', grant: ['Directory.Read.All'], revoke: ['Directory.Read.All'] },
    { id: SEED.apps.guestgate.id, name: 'guestgate', grant: ['Audit.Read'], revoke: ['Audit.Read'] },
  )
  policy.bundles = [
    { name: 'matrix', groups: [SEED.groups.developers], maxDays: 30, grantableBy: [GMM] },
    { name: 'matrix-unused', groups: [SEED.groups.marketing], maxDays: 30, grantableBy: [GMM] },
  ]
  return writePolicyFile(stringify(policy).split('\n'))
}

t.test('authorization matrix: every route x every caller x every target', async (t) => {
  const routes: RouteOptions[] = []
  const { as, token, simulator, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: await generousPolicy() },
    { onRoute: (route) => routes.push(route) })
  const keys = routes
    .filter((r) => !r.config?.public)
    .flatMap((r) => ([] as string[]).concat(r.method).filter((m) => m !== 'HEAD').map((m) => `${m} ${r.url}`))

  const missing = keys.filter((key) => !TABLE[key])
  t.same(missing, [], 'every protected route has a row in the table (add one for a new route)')
  t.same(Object.keys(TABLE).filter((key) => !keys.includes(key)), [], 'every row of the table is a route the app has')

  const tokens = new Map<Caller, string>()
  for (const caller of CALLERS) {
    tokens.set(caller, caller === 'all roles, other tenant' ? await token([...ROLES], { tenantId: OTHER_TENANT }) : await token(caller === 'no role' ? [] : [caller]))
  }

  const denials: { cell: string; operationId: string; rule: string }[] = []
  let cells = 0
  let unexpected2xx = 0
  let n = 0
  for (const key of keys) {
    const row = TABLE[key]
    if (!row) continue
    for (const target of row.targets ? TARGETS : [TARGETS[0]!]) {
      for (const caller of CALLERS) {
        const request = row.request(target, n++)
        const expected = row.expect(caller, target)
        const res = await as(tokens.get(caller)!, request)
        cells++
        const cell = `${key} [${caller}] ${row.targets ? target.kind : ''}`
        const wanted = typeof expected === 'number' ? expected : 403
        if (res.statusCode < 300 && res.statusCode !== wanted) unexpected2xx++
        if (res.statusCode !== wanted) {
          t.fail(`${cell}: expected ${wanted}, got ${res.statusCode} ${res.body.slice(0, 300)}`)
          continue
        }
        if (res.statusCode === 403) {
          const body = res.json<{ rule: string; operationId: string }>()
          if (typeof expected === 'object' && typeof expected.denied === 'string' && body.rule !== expected.denied) {
            t.fail(`${cell}: denied by ${body.rule}, the table says ${expected.denied}`)
          }
          denials.push({ cell, operationId: body.operationId, rule: body.rule })
        }
        // Writes change the directory: back to the seed before the next cell.
        if (request.method !== 'GET' && res.statusCode < 300 && key !== 'POST /v1/authorization/check') simulator.reset()
      }
    }
  }
  t.equal(unexpected2xx, 0, `no 2xx the table does not expect (${cells} cells)`)
  t.ok(denials.length > cells / 2, `${denials.length} denials`)
  t.ok(denials.every((d) => typeof d.rule === 'string' && d.rule.length > 0), 'every 403 names its rule')

  const rows = await auditRows(databaseUrl, `operation_id = ANY($1::uuid[])`, [denials.map((d) => d.operationId)])
  const byOperation = new Map(rows.map((r) => [r.operation_id, r]))
  const unaudited = denials.filter((d) => byOperation.get(d.operationId)?.rule_id !== d.rule || byOperation.get(d.operationId)?.decision !== 'denied')
  t.same(unaudited.map((d) => d.cell), [], 'every 403 has its audit row, with the same rule')
  t.comment(`matrix: ${keys.length} routes, ${CALLERS.length} callers, ${TARGETS.length} targets: ${cells} cells, ${denials.length} audited denials`)
})
