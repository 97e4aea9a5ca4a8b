import t from 'tap'
import type { Principal } from '../../src/auth/principal.js'
import { createAbilityCache, subjectOf } from '../../src/policies/ability.js'
import { loadPolicyFile, parsePolicyDocument } from '../../src/policies/policy-file.js'
import { createPolicyEngine } from '../../src/policies/policy-engine.js'
import { repoFile } from '../helpers/repo.js'

const TENANT = 'c0ffee00-0000-4000-8000-000000000001'
const env = { tenantId: TENANT, ownApplicationId: 'b0000000-0000-4000-8000-000000000004' }
const sandbox = await loadPolicyFile(repoFile('config/policy.sandbox.yaml'))
const principal = (roles: string[], extra: Partial<Principal> = {}): Principal => ({
  oid: 'f0000000-0000-4000-8000-000000000001',
  name: 'Adele Vance',
  tenantId: TENANT,
  roles,
  ...extra,
})

t.test('same roles, tenant and version: the same ability object', async (t) => {
  const engine = createPolicyEngine(sandbox, env)
  const first = engine.ability(principal(['Guests.Invite', 'Audit.Read']))
  t.equal(engine.ability(principal(['Audit.Read', 'Guests.Invite'])), first, 'role order does not matter')
  t.equal(engine.ability(principal(['Audit.Read', 'Guests.Invite', 'Audit.Read'])), first, 'duplicates do not matter')
  t.equal(engine.ability(principal(['Guests.Invite', 'Audit.Read'], { oid: 'someone-else', name: 'Other' })), first, 'who it is does not matter')
  t.equal(engine.ability(principal(['Guests.Invite', 'Audit.Read', 'Not.A.Role'])), first, 'roles the policy ignores do not matter')
  t.equal(engine.ability(principal(['Guests.Invite', 'Audit.Read'], { tenantId: TENANT.toUpperCase() })), first, 'tenant id case does not matter')
})

t.test('other roles or another tenant: another ability', async (t) => {
  const engine = createPolicyEngine(sandbox, env)
  const invite = engine.ability(principal(['Guests.Invite']))
  t.not(engine.ability(principal(['Guests.Manage'])), invite)
  t.not(engine.ability(principal(['Guests.Invite', 'Guests.Manage'])), invite)
  const foreign = engine.ability(principal(['Guests.Invite'], { tenantId: '0badc0de-0000-4000-8000-000000000001' }))
  t.not(foreign, invite)
  t.equal(foreign.can('read', 'Guest'), false, 'a foreign token gets nothing')
  t.equal(invite.can('read', 'Guest'), true)
})

t.test('a new policy version: new abilities that follow the new file', async (t) => {
  const before = createPolicyEngine(sandbox, env)
  const next = parsePolicyDocument(
    'version: "2026-11-28.1"\nroles:\n  Groups.ManageMembers:\n    groups: [{ id: d0000000-0000-4000-8000-000000000002, add: true }]\n',
    'next.yaml',
  )
  const after = createPolicyEngine(next, env)
  const manager = principal(['Groups.ManageMembers'])
  const developers = subjectOf({ type: 'GroupMembership', groupId: 'd0000000-0000-4000-8000-000000000001' })

  t.not(after.ability(manager), before.ability(manager))
  t.equal(before.ability(manager).can('addMember', developers), true)
  t.equal(after.ability(manager).can('addMember', developers), false)
})

t.test('the cache is bounded: tenant ids come from tokens', async (t) => {
  const cache = createAbilityCache(sandbox, env, 2)
  const tenants = ['t1', 't2', 't3'].map((tenantId) => principal(['Audit.Read'], { tenantId }))
  const first = cache.get(tenants[0]!)
  cache.get(tenants[1]!)
  cache.get(tenants[2]!)
  t.equal(cache.size, 2)
  t.not(cache.get(tenants[0]!), first, 'the oldest entry was dropped and built again')
})
