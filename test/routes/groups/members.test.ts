// GET /v1/groups/{groupId}/members lists guests only, to callers who may read guests or who
// manage that group in the policy file.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'
import { writePolicyFile } from '../../helpers/policy-file.js'
import type { MemberPage, Problem } from '../../helpers/replies.js'

const { marketing: MARKETING, developers: DEVELOPERS, financeAdmins: FINANCE_ADMINS } = SEED.groups
const MEMBER = SEED.users.adele
const GUEST = SEED.users.existingGuest

// Issue 9, finding 9: Groups.ManageMembers could list member (non-guest) users with mail and UPN,
// for any group (?guestsOnly=false).
t.test('issue 9 #9: members of the directory are never listed, whoever asks', async (t) => {
  const { as, token, simulator } = await build(t)
  simulator.state.addMember(MARKETING, MEMBER.id)
  // Graph refuses guestgate's own credential there; an administrator put the employee in.
  simulator.state.memberships.get(FINANCE_ADMINS)!.add(MEMBER.id)
  const manager = await token(['Groups.ManageMembers'])
  const everyone = await token(['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read'])

  for (const caller of [manager, everyone]) {
    const listed = await as(caller, { method: 'GET', url: `/v1/groups/${MARKETING}/members` })
    t.equal(listed.statusCode, 200, listed.body)
    t.same(listed.json<MemberPage>().items.map((u) => u.id), [GUEST.id], 'the guest, not the employee')
    t.notMatch(listed.body, new RegExp(MEMBER.mail.split('@')[0]!), 'no member mail or UPN in the answer')

    const asked = await as(caller, { method: 'GET', url: `/v1/groups/${MARKETING}/members?guestsOnly=false` })
    t.equal(asked.statusCode, 400, 'asking for members is refused')
    t.match(asked.json(), { errors: [{ field: 'query/guestsOnly' }] })
    t.equal((await as(caller, { method: 'GET', url: `/v1/groups/${MARKETING}/members?guestsOnly=true` })).statusCode, 200, 'guestsOnly=true still works')
  }
  const privileged = await as(manager, { method: 'GET', url: `/v1/groups/${FINANCE_ADMINS}/members` })
  t.same(privileged.json<MemberPage>().items, [], 'a role-assignable group: guests only too (it has none)')
})

t.test('which groups: a reader of guests may list any group\'s guests; a manager without guest reading only its own groups', async (t) => {
  const file = await writePolicyFile([
    'version: "members-1"',
    'roles:',
    '  Groups.ManageMembers:',
    `    groups: [ { id: ${DEVELOPERS}, name: Developers, add: true, remove: true } ]`,
    '  Audit.Read:',
    '    guests: { read: true }',
    '    audit: { read: true }',
  ])
  const { as, token, databaseUrl } = await build(t, { GUESTGATE_POLICY_FILE: file })
  const manager = await token(['Groups.ManageMembers'])
  const reader = await token(['Audit.Read'])

  t.equal((await as(manager, { method: 'GET', url: `/v1/groups/${DEVELOPERS}/members` })).statusCode, 200, 'its own group')
  const other = await as(manager, { method: 'GET', url: `/v1/groups/${MARKETING}/members` })
  t.equal(other.statusCode, 403, 'another group')
  t.match(other.json(), { rule: 'groups.not-managed', reason: `Groups.ManageMembers may list the guests of Developers, not ${MARKETING}.` },
    'decided before any Graph lookup, so the group is named by its id')
  const rows = await auditRows(databaseUrl, 'operation_id = $1', [other.json<Problem>().operationId])
  t.match(rows, [{ action: 'groupMembership.read', decision: 'denied', target_id: MARKETING }], 'the refusal is audited')

  t.equal((await as(reader, { method: 'GET', url: `/v1/groups/${MARKETING}/members` })).statusCode, 200, 'a reader of guests: any group')
  const none = await as(await token(['Guests.Invite']), { method: 'GET', url: `/v1/groups/${MARKETING}/members` })
  t.equal(none.statusCode, 403)
  t.equal(none.json<Problem>().rule, 'role.missing')

  const whatIf = await as(manager, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'read', subject: 'GroupMembership', target: { groupId: MARKETING } } })
  t.match(whatIf.json(), { allowed: false, rule: 'groups.not-managed' }, 'the what-if asks the same question')
})

t.test('a mail-enabled security group or a distribution list: its members are refused by the policy before Graph would refuse them', async (t) => {
  // Graph's groups overview: "Mail-enabled and distribution groups are read-only". Before: the
  // policy allowed the change, and the write failed at Graph (422 graph_rejected, a failed audit row).
  const { as, token, simulator } = await build(t)
  simulator.state.groups.get(DEVELOPERS)!.mailEnabled = true
  const manager = await token(['Groups.ManageMembers'])
  const writes = () => simulator.calls.filter((c) => c.method !== 'GET').length
  const before = writes()
  const add = await as(manager, { method: 'PUT', url: `/v1/groups/${DEVELOPERS}/members/${GUEST.id}` })
  t.equal(add.statusCode, 403, add.body)
  t.match(add.json<Problem>(), { code: 'policy_denied', rule: 'groups.mail-enabled' })
  t.equal(writes(), before, 'nothing sent to Graph')
  const page = await as(manager, { method: 'GET', url: '/v1/me/permissions' })
  t.match(page.json<{ groups: Array<{ groupId: string; add: boolean; remove: boolean }> }>().groups.find((g) => g.groupId === DEVELOPERS), { add: false, remove: false }, 'the permissions page agrees')
})
