// Issue 12, item 3: GET /v1/me/permissions answers what a portal shows: applications with their
// names and grantable roles, groups with names and kinds, invitation domains, redirect prefixes
// and the hourly limits left; Graph is read once per policy version and short while.
import { readFile, writeFile } from 'node:fs/promises'
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import type { FastifyInstance } from 'fastify'
import type { DirectoryGroup } from '../../../src/graph/graph-gateway.js'
import { myPermissions, type MyPermissions } from '../../../src/operations/my-permissions.js'
import type { DirectoryCache } from '../../../src/plugins/directory-cache.js'
import { build } from '../../helper.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'

const { docuSign, jira } = SEED.apps
const { developers, marketing, financeAdmins, allPartners } = SEED.groups
const role = (id: string, value: string, displayName: string) => ({ id, value, displayName, description: `${displayName} role.` })

t.test('names, kinds, grantable roles, domains and limits; Graph read once', async (t) => {
  const policy = await sandboxPolicyWith(t, (p) => {
    p.limits = { invitationsPerHour: 50 }
    p.roles['Groups.ManageMembers']!.groups!.push({ id: financeAdmins, add: true, remove: true }, { id: allPartners, add: true, remove: true })
    // The policy may name roles by display name: resolved against DocuSign's roles.
    p.roles['Apps.AssignRoles']!.apps![0]!.grant = ['DocuSign.Sender', 'docusign viewer']
  })
  const { as, token, simulator } = await build(t, { GUESTGATE_POLICY_FILE: policy })
  const caller = await token(['Guests.Invite', 'Groups.ManageMembers', 'Apps.AssignRoles'])
  const permissions = async () => {
    const res = await as(caller, { method: 'GET', url: '/v1/me/permissions' })
    t.equal(res.statusCode, 200, res.body)
    return res.json<MyPermissions>()
  }

  const first = await permissions()
  t.same(first.apps, [
    { appId: docuSign.id, found: true, displayName: 'DocuSign',
      grant: [role(docuSign.roles.sender, 'DocuSign.Sender', 'DocuSign Sender'), role(docuSign.roles.viewer, 'DocuSign.Viewer', 'DocuSign Viewer')],
      revoke: [role(docuSign.roles.sender, 'DocuSign.Sender', 'DocuSign Sender'), role(docuSign.roles.viewer, 'DocuSign.Viewer', 'DocuSign Viewer')] },
    { appId: jira.id, found: true, displayName: 'Jira', grant: [role(jira.roles.user, 'User', 'User')], revoke: [role(jira.roles.user, 'User', 'User')] },
  ])
  const security = { found: true, kind: 'security', isDynamic: false, isAssignableToRole: false }
  t.same(first.groups, [
    { groupId: developers, displayName: 'Developers', ...security, add: true, remove: true },
    { groupId: marketing, displayName: 'Marketing', ...security, add: true, remove: true },
    { groupId: financeAdmins, displayName: 'Finance Admins', ...security, isAssignableToRole: true, add: false, remove: false },
    { groupId: allPartners, displayName: 'All Partners', ...security, isDynamic: true, add: false, remove: false },
  ], 'role-assignable and dynamic groups are listed but never manageable, whatever the file says')
  t.same(first.invitations, {
    allowedDomains: ['partner.example', 'fabrikam.example'],
    deniedDomains: [],
    redirectUrlPrefixes: ['https://myapps.microsoft.com/', 'https://portal.partner.example/'],
    maxPerHour: 20,
    limits: {
      requester: { limit: 20, used: 0, remaining: 20, retryAt: null },
      tenant: { limit: 50, used: 0, remaining: 50, retryAt: null },
    },
  })
  const directoryReads = () => simulator.calls.filter((c) => c.method === 'GET' && /\/(servicePrincipals|groups)\//.test(c.path)).length
  t.equal(directoryReads(), 6, 'the first call reads each application and group once')

  const invited = await as(caller, { method: 'POST', url: '/v1/invitations', payload: { email: 'limits@partner.example', sendEmail: false } })
  t.equal(invited.statusCode, 201)
  simulator.calls.length = 0
  const second = await permissions()
  t.equal(simulator.calls.length, 0, 'the second call reads nothing from Graph (cached for this tenant and policy version)')
  t.same(second.invitations!.limits, {
    requester: { limit: 20, used: 1, remaining: 19, retryAt: null },
    tenant: { limit: 50, used: 1, remaining: 49, retryAt: null },
  }, 'what is left this hour goes down with each invitation')
  t.same(second.apps, first.apps)

  const reader = await as(await token(['Audit.Read']), { method: 'GET', url: '/v1/me/permissions' })
  t.match(reader.json(), { invitations: null, groups: [], apps: [] }, 'a caller who may not invite, manage or grant gets no choices')
})

// The page is answered from the directory cache without a Graph read while it holds every object
// (a group Graph does not have included), and read again for a new policy version.
t.test('from the directory cache: missing groups stay missing, a new policy version reads Graph again', async (t) => {
  const missing = 'd0000000-0000-4000-8000-0000000000ff'
  const policy = await sandboxPolicyWith(t, (p) => {
    p.roles['Groups.ManageMembers']!.groups!.push({ id: missing, add: true, remove: true })
  })
  const { app, as, token, simulator } = await build(t, { GUESTGATE_POLICY_FILE: policy })
  const caller = await token(['Groups.ManageMembers'])
  const groups = async () => {
    const res = await as(caller, { method: 'GET', url: '/v1/me/permissions' })
    t.equal(res.statusCode, 200, res.body)
    return res.json<MyPermissions>().groups.map((g) => ({ groupId: g.groupId, found: g.found, displayName: g.displayName, add: g.add }))
  }
  const expected = [
    { groupId: developers, found: true, displayName: 'Developers', add: true },
    { groupId: marketing, found: true, displayName: 'Marketing', add: true },
    { groupId: missing, found: false, displayName: null, add: false },
  ]
  t.same(await groups(), expected)
  simulator.calls.length = 0
  t.same(await groups(), expected, 'the same page from the cache')
  t.same(await groups(), expected)
  t.equal(simulator.calls.length, 0, 'nothing read from Graph, not even the group it does not have')

  simulator.state.getGroup(developers).displayName = 'Developers (renamed)'
  t.same(await groups(), expected, 'a renamed group keeps its cached name for this policy version')
  await writeFile(policy, (await readFile(policy, 'utf8')).replace(/^version: .*$/m, 'version: my-permissions-test-2'))
  t.equal((await app.policies.reload()).ok, true)
  t.same(await groups(), [{ ...expected[0], displayName: 'Developers (renamed)' }, ...expected.slice(1)], 'the new version reads Graph again')
  t.equal(simulator.calls.filter((c) => c.method === 'GET' && /\/groups\//.test(c.path)).length, 3)
})

// The groups and applications parts are kept per permission summary until the first of their
// objects would go stale in the directory cache; the directory cache is played here, with the
// freshness it reports.
t.test('the page is kept until the first of its objects goes stale in the directory cache', async (t) => {
  const { app } = await build(t)
  const principal = { oid: '00000000-1111-4222-8333-444444444444', name: 'Ada', tenantId: app.config.tenantId, roles: ['Groups.ManageMembers', 'Apps.AssignRoles'] }
  const caller = app.callerFor(principal, { requestId: 'my-permissions-test' })
  const names: Record<string, string> = {}
  let freshFor = 60_000
  let peeks = 0
  const fresh = <T>(value: T) => ({ value, freshUntil: performance.now() + freshFor })
  const directoryCache: DirectoryCache = {
    group: async () => t.fail('no Graph read') as never,
    servicePrincipal: async () => t.fail('no Graph read') as never,
    cachedGroup: (_caller, id) => {
      peeks++
      const group = SEED.groups.developers === id || SEED.groups.marketing === id
        ? { id, displayName: names[id] ?? id, groupTypes: [], securityEnabled: true, mailEnabled: false, isDynamic: false, isAssignableToRole: false } as unknown as DirectoryGroup
        : null
      return fresh(group)
    },
    cachedServicePrincipal: (_caller, id) => {
      peeks++
      return fresh({ id, appId: id, displayName: names[id] ?? id, appRoles: [] })
    },
  }
  const page = async () => (await myPermissions({ policies: app.policies, directoryCache } as unknown as FastifyInstance, caller))
  const displayNames = async () => {
    const { groups, apps } = await page()
    return [...groups.map((g) => g.displayName), ...apps.map((a) => a.displayName)]
  }

  const first = await displayNames()
  t.equal(peeks, 4, 'two groups and two applications looked up')
  names[developers] = 'Developers (renamed)'
  t.same(await displayNames(), first, 'kept: the directory cache still holds the same objects')
  t.equal(peeks, 4, 'and is not asked again')
  const kept = await page()
  t.equal(await page(), kept, 'the same page object for every request while it is kept (its JSON is made once)')
  t.ok(Object.isFrozen(kept) && Object.isFrozen(kept.groups) && Object.isFrozen(kept.apps), 'and frozen: no answer can change it for the next')

  // Another summary (other roles) has its own page.
  freshFor = -1
  const other = app.callerFor({ ...principal, roles: ['Groups.ManageMembers'] }, { requestId: 'my-permissions-test-2' })
  const otherPage = () => myPermissions({ policies: app.policies, directoryCache } as unknown as FastifyInstance, other)
  t.equal((await otherPage()).groups[0]!.displayName, 'Developers (renamed)')
  t.equal(peeks, 6)
  t.equal((await otherPage()).groups[0]!.displayName, 'Developers (renamed)', 'built again: an object it shows went stale')
  t.equal(peeks, 8, 'so the directory cache is asked again')
})
