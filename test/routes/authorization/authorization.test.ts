import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { mkdtemp } from 'node:fs/promises'
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { writePolicyFile } from '../../helpers/policy-file.js'
import type { CheckReply, PermissionsReply, Problem } from '../../helpers/replies.js'
import type { ReloadResult } from '../../../src/policies/policy-store.js'

const GUEST = SEED.users.existingGuest.id
const { developers: DEVELOPERS, marketing: MARKETING, financeAdmins: FINANCE_ADMINS, allPartners: ALL_PARTNERS } = SEED.groups
const DOCUSIGN = SEED.apps.docuSign.id
const GRAPH_SP = SEED.apps.microsoftGraph.id

interface Sample {
  name: string
  roles: string[]
  check: { action: string; subject?: string; target: Record<string, string> }
  real: { method: string; url: string; payload?: unknown }
}

const samples: Sample[] = [
  { name: 'invite an allowed domain', roles: ['Guests.Invite'], check: { action: 'invite', target: { email: 'ok@partner.example' } },
    real: { method: 'POST', url: '/v1/invitations', payload: { email: 'ok@partner.example', sendEmail: false } } },
  { name: 'invite a domain not allowed', roles: ['Guests.Invite'], check: { action: 'invite', target: { email: 'eve@evil.example' } },
    real: { method: 'POST', url: '/v1/invitations', payload: { email: 'eve@evil.example' } } },
  { name: 'invite a subdomain of an allowed domain', roles: ['Guests.Invite'], check: { action: 'invite', target: { email: 'x@sub.partner.example' } },
    real: { method: 'POST', url: '/v1/invitations', payload: { email: 'x@sub.partner.example' } } },
  { name: 'redirect to another host', roles: ['Guests.Invite'],
    check: { action: 'invite', target: { email: 'r@partner.example', redirectUrl: 'https://evil.example/phish' } },
    real: { method: 'POST', url: '/v1/invitations', payload: { email: 'r@partner.example', redirectUrl: 'https://evil.example/phish' } } },
  { name: 'look-alike redirect host', roles: ['Guests.Invite'],
    check: { action: 'invite', target: { email: 'r@partner.example', redirectUrl: 'https://myapps.microsoft.com.evil.example/' } },
    real: { method: 'POST', url: '/v1/invitations', payload: { email: 'r@partner.example', redirectUrl: 'https://myapps.microsoft.com.evil.example/' } } },
  { name: 'invite without an inviting role', roles: ['Audit.Read'], check: { action: 'invite', target: { email: 'ok@partner.example' } },
    real: { method: 'POST', url: '/v1/invitations', payload: { email: 'ok@partner.example' } } },
  { name: 'delete as Guests.Invite', roles: ['Guests.Invite'], check: { action: 'delete', target: { guestId: GUEST } },
    real: { method: 'DELETE', url: `/v1/guests/${GUEST}` } },
  { name: 'read guests as Audit.Read', roles: ['Audit.Read'], check: { action: 'read', target: { guestId: GUEST } },
    real: { method: 'GET', url: `/v1/guests/${GUEST}` } },
  { name: 'read guests as Groups.ManageMembers', roles: ['Groups.ManageMembers'], check: { action: 'read', target: { guestId: GUEST } },
    real: { method: 'GET', url: `/v1/guests/${GUEST}` } },
  { name: 'add a guest to Developers', roles: ['Groups.ManageMembers'], check: { action: 'addMember', target: { groupId: DEVELOPERS } },
    real: { method: 'PUT', url: `/v1/groups/${DEVELOPERS}/members/${GUEST}` } },
  { name: 'add a guest to Finance Admins (role-assignable)', roles: ['Groups.ManageMembers'], check: { action: 'addMember', target: { groupId: FINANCE_ADMINS } },
    real: { method: 'PUT', url: `/v1/groups/${FINANCE_ADMINS}/members/${GUEST}` } },
  { name: 'add a guest to a dynamic group', roles: ['Groups.ManageMembers'], check: { action: 'addMember', target: { groupId: ALL_PARTNERS } },
    real: { method: 'PUT', url: `/v1/groups/${ALL_PARTNERS}/members/${GUEST}` } },
  { name: 'remove from Marketing without the role', roles: ['Apps.AssignRoles'], check: { action: 'removeMember', target: { groupId: MARKETING } },
    real: { method: 'DELETE', url: `/v1/groups/${MARKETING}/members/${GUEST}` } },
  { name: 'grant DocuSign Sender', roles: ['Apps.AssignRoles'], check: { action: 'assign', target: { appId: DOCUSIGN, appRole: 'DocuSign.Sender' } },
    real: { method: 'POST', url: `/v1/apps/${DOCUSIGN}/assignments`, payload: { principalId: GUEST, appRole: 'DocuSign.Sender' } } },
  { name: 'grant DocuSign Admin', roles: ['Apps.AssignRoles'], check: { action: 'assign', target: { appId: DOCUSIGN, appRole: 'DocuSign.Admin' } },
    real: { method: 'POST', url: `/v1/apps/${DOCUSIGN}/assignments`, payload: { principalId: GUEST, appRole: 'DocuSign.Admin' } } },
  { name: 'grant a Microsoft Graph role', roles: ['Apps.AssignRoles'], check: { action: 'assign', target: { appId: GRAPH_SP, appRole: 'Directory.Read.All' } },
    real: { method: 'POST', url: `/v1/apps/${GRAPH_SP}/assignments`, payload: { principalId: GUEST, appRole: 'Directory.Read.All' } } },
  { name: 'read the audit log', roles: ['Audit.Read'], check: { action: 'read', subject: 'AuditLog', target: {} },
    real: { method: 'GET', url: '/v1/audit/events' } },
  { name: 'read the audit log without Audit.Read', roles: ['Guests.Manage'], check: { action: 'read', subject: 'AuditLog', target: {} },
    real: { method: 'GET', url: '/v1/audit/events' } },
  { name: 'delete as Guests.Manage', roles: ['Guests.Manage'], check: { action: 'delete', target: { guestId: GUEST } },
    real: { method: 'DELETE', url: `/v1/guests/${GUEST}` } },
]

t.test('what-if answers what the real request then does', async (t) => {
  const { as, token, databaseUrl } = await build(t)
  for (const sample of samples) {
    const caller = await token(sample.roles)
    const answer = await as(caller, { method: 'POST', url: '/v1/authorization/check', payload: sample.check })
    t.equal(answer.statusCode, 200, `${sample.name}: what-if answered (${answer.body})`)
    const { allowed, rule, reason } = answer.json<CheckReply>()
    t.ok(reason.length > 10, `${sample.name}: a reason a person reads: ${reason}`)
    const real = await as(caller, sample.real)
    if (allowed) {
      t.ok(real.statusCode < 400, `${sample.name}: allowed, and the real request succeeded (${real.statusCode})`)
    } else {
      t.equal(real.statusCode, 403, `${sample.name}: denied, and the real request was refused`)
      t.equal(real.json<Problem>().rule, rule, `${sample.name}: by the same rule`)
      t.equal(real.json<Problem>().reason, reason, `${sample.name}: for the same reason`)
    }
  }
  const checks = await auditRows(databaseUrl, `action = 'authorization.check'`)
  t.equal(checks.length, samples.length, 'every what-if is audited')
  t.ok(checks.every((r) => r.status === 'recorded' && r.rule_id && r.policy_version))
})

t.test('what-if needs the target fields of its action', async (t) => {
  const { as, token } = await build(t)
  const res = await as(await token(['Guests.Invite']), { method: 'POST', url: '/v1/authorization/check', payload: { action: 'invite', target: {} } })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { errors: [{ field: 'body/target/email' }] })
})

t.test('my permissions list what the caller may do', async (t) => {
  const { as, token } = await build(t)
  const res = await as(await token(['Guests.Invite', 'Apps.AssignRoles']), { method: 'GET', url: '/v1/me/permissions' })
  t.equal(res.statusCode, 200, res.body)
  const body = res.json<PermissionsReply>()
  t.same([...body.invitations!.allowedDomains!].sort(), ['fabrikam.example', 'partner.example'])
  const grants = body.apps.flatMap((a) => a.grant.map((r) => r.value))
  t.ok(grants.includes('DocuSign.Sender'))
  t.notOk(grants.includes('DocuSign.Admin'))
  const none = await as(await token([]), { method: 'GET', url: '/v1/me/permissions' })
  t.equal(none.statusCode, 200)
  t.same(none.json<PermissionsReply>().groups, [])
})

t.test('policy file: SIGHUP reloads it; a bad new file keeps the old policy serving', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'guestgate-policy-'))
  const file = path.join(dir, 'policy.yaml')
  await copyFile('config/policy.sandbox.yaml', file)
  const { as, token, app } = await build(t, { GUESTGATE_POLICY_FILE: file }, { reloadPolicyOnSighup: true })
  const inviter = await token(['Guests.Invite'])
  const before = app.policies.current().version

  await writeFile(file, 'version: 42\nroles: [this is not a policy\n')
  const badReload = once(app.policies, 'reload')
  process.kill(process.pid, 'SIGHUP')
  const [bad] = (await badReload) as [ReloadResult]
  t.equal(bad.ok, false, 'the bad file was refused')
  t.equal(app.policies.current().version, before, 'the old policy is still in force')
  t.equal((await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'still@partner.example', sendEmail: false } })).statusCode, 201)

  const original = await readFile('config/policy.sandbox.yaml', 'utf8')
  const narrowed = original.replace(/^version: .*$/m, 'version: "narrowed-1"').replace(/allowDomains: \[[^\]]*\]/, 'allowDomains: [fabrikam.example]')
  t.not(narrowed, original)
  await writeFile(file, narrowed)
  const goodReload = once(app.policies, 'reload')
  process.kill(process.pid, 'SIGHUP')
  const [good] = (await goodReload) as [ReloadResult]
  t.equal(good.ok, true)
  t.equal(app.policies.current().version, 'narrowed-1')
  const denied = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'now@partner.example' } })
  t.equal(denied.statusCode, 403)
  t.equal(denied.json<Problem>().policyVersion, 'narrowed-1')
})

t.test('a bad policy file stops the start and names each error path', async (t) => {
  const file = await writePolicyFile([
    'version: "bad-1"',
    'roles:',
    '  Guests.Invite:',
    '    invitations: { allowDomains: [partner.example], redirectUrlPrefixes: ["http://insecure.example/"], maxPerHour: "many" }',
  ])
  await t.rejects(build(t, { GUESTGATE_POLICY_FILE: file }), /\/roles\/Guests\.Invite\/invitations\/redirectUrlPrefixes\/0[\s\S]*\/roles\/Guests\.Invite\/invitations\/maxPerHour|\/roles\/Guests\.Invite\/invitations\/maxPerHour[\s\S]*\/roles\/Guests\.Invite\/invitations\/redirectUrlPrefixes\/0/)
})

t.test('hard refusals over HTTP: listed in the file, still refused', async (t) => {
  const file = await writePolicyFile([
    'version: "too-generous-1"',
    'roles:',
    '  Groups.ManageMembers:',
    `    groups: [ { id: ${FINANCE_ADMINS}, name: Finance Admins, add: true, remove: true }, { id: ${ALL_PARTNERS}, name: All Partners, add: true } ]`,
    '  Apps.AssignRoles:',
    `    apps: [ { id: ${GRAPH_SP}, name: Microsoft Graph, grant: [Directory.Read.All] }, { id: ${SEED.apps.guestgate.id}, name: guestgate, grant: [Audit.Read] } ]`,
  ])
  const { as, token, simulator } = await build(t, { GUESTGATE_POLICY_FILE: file })
  const admin = await token(['Groups.ManageMembers', 'Apps.AssignRoles'])
  const cases = [
    { url: `/v1/groups/${FINANCE_ADMINS}/members/${GUEST}`, method: 'PUT', rule: 'groups.role-assignable' },
    { url: `/v1/groups/${ALL_PARTNERS}/members/${GUEST}`, method: 'PUT', rule: 'groups.dynamic' },
    { url: `/v1/apps/${GRAPH_SP}/assignments`, method: 'POST', payload: { principalId: GUEST, appRole: 'Directory.Read.All' }, rule: 'apps.protected-application' },
    { url: `/v1/apps/${SEED.apps.guestgate.id}/assignments`, method: 'POST', payload: { principalId: GUEST, appRole: 'Audit.Read' }, rule: 'apps.protected-application' },
  ]
  for (const c of cases) {
    const res = await as(admin, c)
    t.equal(res.statusCode, 403, `${c.method} ${c.url}`)
    t.equal(res.json<Problem>().rule, c.rule)
  }
  t.same(simulator.calls.filter((call) => call.method !== 'GET'), [], 'no write reached Graph')
})
