// Sponsors (issue 14, point 1) through HTTP, the real Graph SDK and the simulator: named at
// invitation (by default the requester, when it is a user), listed, added and removed, each
// change an audited $ref write; who may change them is the policy's guests.manageSponsors.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import { build } from '../../helper.js'
import { auditRows } from '../../helpers/audit-rows.js'

const { adele, existingGuest } = SEED.users
const { developers, marketing, financeAdmins, allPartners } = SEED.groups
const UNKNOWN = '0f000000-0000-4000-8000-00000000abcd'

interface Part { kind: string; target: string; status: string; operationId?: string }

t.test('sponsors at invitation, then listed, added and removed under the policy', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const sponsorsOf = (id: string) => simulator.state.sponsors.get(id) ?? []
  const usersBefore = () => simulator.state.users.size

  // Adele, a user of the directory, invites with her own token: she is the sponsor by default.
  const adeleInviter = await token(['Guests.Invite'], { oid: adele.id, name: 'Adele' })
  const byDefault = await as(adeleInviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'default@partner.example', sendEmail: false } })
  t.equal(byDefault.statusCode, 201, byDefault.body)
  const guest = byDefault.json<{ id: string; operationId: string; outcome: string; parts: Part[] }>()
  t.match(guest.parts, [{ kind: 'invitation', status: 'succeeded' }, { kind: 'sponsor', target: adele.id, status: 'succeeded' }])
  t.same(sponsorsOf(guest.id), [adele.id], 'Graph holds the requester as sponsor')
  const sponsorRows = await auditRows(databaseUrl, `action = 'guest.addSponsor' AND operation_id = $1`, [guest.operationId])
  t.same(sponsorRows.map((r) => r.status), ['intent', 'succeeded'], 'the sponsor write has its intent and outcome rows under the invitation\'s operation')

  // An application's token (its oid is no user of the directory) names no one by default.
  const app = await token(['Guests.Invite'])
  const noDefault = (await as(app, { method: 'POST', url: '/v1/invitations', payload: { email: 'nodefault@partner.example', sendEmail: false } })).json<{ id: string; parts: Part[] }>()
  t.same(noDefault.parts.map((p) => p.kind), ['invitation'])
  t.same(sponsorsOf(noDefault.id), [])

  // Naming others needs guests.manageSponsors: an inviter without it is refused before anything is sent.
  const before = usersBefore()
  const refused = await as(adeleInviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'refused@partner.example', sendEmail: false, sponsors: [developers] } })
  t.equal(refused.statusCode, 403, refused.body)
  t.match(refused.json(), { rule: 'role.missing' })
  t.equal(usersBefore(), before, 'nobody was invited')
  t.equal((await auditRows(databaseUrl, `status = 'denied' AND request_id = $1`, [refused.headers['x-request-id']])).length, 1, 'the refusal is audited')

  // A manager names a group and a user explicitly.
  const manager = await token(['Guests.Manage'])
  const explicit = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'explicit@partner.example', sendEmail: false, sponsors: [developers, adele.id] } })
  t.equal(explicit.statusCode, 201, explicit.body)
  const explicitGuest = explicit.json<{ id: string; outcome: string; parts: Part[] }>()
  t.equal(explicitGuest.outcome, 'complete')
  t.same(explicitGuest.parts.filter((p) => p.kind === 'sponsor').map((p) => [p.target, p.status]), [[developers, 'succeeded'], [adele.id, 'succeeded']])
  t.same(sponsorsOf(explicitGuest.id), [developers, adele.id])

  // More than five: 400 naming the field; an unknown id: 422 naming its place; nothing invited.
  const six = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'six@partner.example', sponsors: [developers, marketing, financeAdmins, allPartners, adele.id, existingGuest.id] } })
  t.equal(six.statusCode, 400, six.body)
  t.match(six.json(), { errors: [{ field: 'body/sponsors' }] })
  const unknown = await as(manager, { method: 'POST', url: '/v1/invitations', payload: { email: 'unknown@partner.example', sendEmail: false, sponsors: [adele.id, UNKNOWN] } })
  t.equal(unknown.statusCode, 422, unknown.body)
  t.match(unknown.json(), { code: 'sponsor_not_found', errors: [{ field: 'body/sponsors/1' }] })
  t.equal(usersBefore(), before + 1, 'only the explicit invitation created a user')

  // Listed, and part of the guest.
  const listed = await as(app, { method: 'GET', url: `/v1/guests/${explicitGuest.id}/sponsors` })
  t.equal(listed.statusCode, 200, listed.body)
  t.same(listed.json(), { items: [
    { id: developers, type: 'group', displayName: 'Developers', mail: null },
    { id: adele.id, type: 'user', displayName: 'Adele Vance', mail: adele.mail },
  ] })
  const shown = (await as(app, { method: 'GET', url: `/v1/guests/${explicitGuest.id}` })).json<{ accountEnabled: boolean; sponsors: Array<{ id: string }> }>()
  t.equal(shown.accountEnabled, true)
  t.same(shown.sponsors.map((s) => s.id), [developers, adele.id])

  // Added and removed, each audited; again is unchanged.
  const path = `/v1/guests/${explicitGuest.id}/sponsors`
  const added = await as(manager, { method: 'POST', url: path, payload: { sponsorId: marketing } })
  t.equal(added.statusCode, 200, added.body)
  t.match(added.json(), { guestId: explicitGuest.id, sponsor: { id: marketing, type: 'group', displayName: 'Marketing' }, changed: true })
  t.match((await as(manager, { method: 'POST', url: path, payload: { sponsorId: marketing } })).json(), { changed: false })
  t.same(sponsorsOf(explicitGuest.id), [developers, adele.id, marketing])
  const removed = await as(manager, { method: 'DELETE', url: `${path}/${adele.id}` })
  t.equal(removed.statusCode, 200, removed.body)
  t.match(removed.json(), { sponsor: { id: adele.id }, changed: true })
  t.match((await as(manager, { method: 'DELETE', url: `${path}/${adele.id}` })).json(), { changed: false }, 'not a sponsor: unchanged')
  t.same(sponsorsOf(explicitGuest.id), [developers, marketing])
  t.ok(simulator.state.users.has(adele.id), 'the sponsor\'s own user object is never touched')
  const removal = await auditRows(databaseUrl, `action = 'guest.removeSponsor' AND operation_id = $1`, [removed.json<{ operationId: string }>().operationId])
  t.same(removal.map((r) => r.status), ['intent', 'succeeded'])
  t.equal(simulator.calls.filter((c) => c.method === 'DELETE' && c.path.includes('/sponsors/') && !c.path.endsWith('/$ref')).length, 0, 'only ever through /$ref')

  // Bad input and the limits of Entra.
  t.match((await as(manager, { method: 'POST', url: path, payload: { sponsorId: UNKNOWN } })).json(), { code: 'sponsor_not_found', errors: [{ field: 'body/sponsorId' }] })
  t.equal((await as(manager, { method: 'POST', url: path, payload: { sponsorId: explicitGuest.id } })).statusCode, 422, 'not its own sponsor')
  for (const id of [financeAdmins, allPartners, adele.id]) t.equal((await as(manager, { method: 'POST', url: path, payload: { sponsorId: id } })).statusCode, 200)
  const sixth = await as(manager, { method: 'POST', url: path, payload: { sponsorId: existingGuest.id } })
  t.equal(sixth.statusCode, 409, sixth.body)
  t.match(sixth.json(), { code: 'too_many_sponsors' })
  t.equal(sponsorsOf(explicitGuest.id).length, 5)

  // Who may change them is the policy's: an inviter may read but not change, and the refusal is audited.
  const denied = await as(adeleInviter, { method: 'POST', url: path, payload: { sponsorId: existingGuest.id } })
  t.equal(denied.statusCode, 403, denied.body)
  t.match(denied.json(), { rule: 'role.missing' })
  const deniedRows = await auditRows(databaseUrl, `status = 'denied' AND request_id = $1`, [denied.headers['x-request-id']])
  t.equal(deniedRows.length, 1, 'the denial is audited')
  t.equal((await as(adeleInviter, { method: 'DELETE', url: `${path}/${developers}` })).statusCode, 403)
  t.same(sponsorsOf(explicitGuest.id).length, 5, 'nothing changed')

  // The what-if answers the same question.
  const ask = async (caller: string) => (await as(caller, { method: 'POST', url: '/v1/authorization/check', payload: { action: 'manageSponsors', target: { guestId: explicitGuest.id } } })).json<{ allowed: boolean; rule: string }>()
  t.match(await ask(manager), { allowed: true, rule: 'guests.manage-sponsors:Guests.Manage' })
  t.match(await ask(adeleInviter), { allowed: false, rule: 'role.missing' })
})
