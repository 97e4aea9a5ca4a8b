// Guest lifecycle in the simulator (issue 14): sponsors, accountEnabled, revokeSignInSessions,
// signInActivity (and its licence), and the control calls that stand for the guest's own actions.
import t from 'tap'
import { SEED } from '../../../../src/graph/simulator/seed.js'
import { inviteGuest, startSimulator, type GraphCollection, type GraphErrorJson } from '../simulator-client.js'

const { adele, existingGuest } = SEED.users
const q = encodeURIComponent
const ref = (set: string, id: string) => ({ '@odata.id': `https://graph.microsoft.com/v1.0/${set}/${id}` })

t.test('sponsors: users or groups by reference, listed with their type, at most five, removed with /$ref', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'sponsored@partner.example')
  const sponsors = `/v1.0/users/${guest}/sponsors`
  t.same((await graph.request<GraphCollection>('GET', sponsors)).body.value, [], 'an app-only inviter is not stamped as sponsor (SILENT in the docs)')

  t.equal((await graph.request('POST', `${sponsors}/$ref`, { body: ref('users', adele.id) })).status, 204)
  t.equal((await graph.request('POST', `${sponsors}/$ref`, { body: ref('groups', SEED.groups.developers) })).status, 204)
  const listed = await graph.request<GraphCollection>('GET', `${sponsors}?$select=id,displayName,mail`)
  t.same(listed.body.value, [
    { '@odata.type': '#microsoft.graph.user', id: adele.id, displayName: 'Adele Vance', mail: adele.mail },
    { '@odata.type': '#microsoft.graph.group', id: SEED.groups.developers, displayName: 'Developers', mail: null },
  ])
  const twice = await graph.request<GraphErrorJson>('POST', `${sponsors}/$ref`, { body: ref('directoryObjects', adele.id) })
  t.equal(twice.status, 400)
  t.match(twice.body.error.message, /already exist.*'sponsors'/)
  t.equal((await graph.request('POST', `${sponsors}/$ref`, { body: ref('users', 'f0000000-0000-4000-8000-0000000000ff') })).status, 404, 'the sponsor must exist')

  for (const id of [existingGuest.id, SEED.groups.marketing, SEED.groups.financeAdmins]) {
    t.equal((await graph.request('POST', `${sponsors}/$ref`, { body: ref('directoryObjects', id) })).status, 204)
  }
  const sixth = await graph.request<GraphErrorJson>('POST', `${sponsors}/$ref`, { body: ref('groups', SEED.groups.allPartners) })
  t.equal(sixth.status, 400, 'five at most')
  t.match(sixth.body.error.message, /at most 5/)

  t.equal((await graph.request('DELETE', `${sponsors}/${SEED.groups.marketing}/$ref`)).status, 204)
  const notSponsor = await graph.request<GraphErrorJson>('DELETE', `${sponsors}/${SEED.groups.marketing}/$ref`)
  t.equal(notSponsor.status, 400)
  t.match(notSponsor.body.error.message, /do not exist.*'sponsors'/)
  t.equal((await graph.request<GraphCollection>('GET', sponsors)).body.value.length, 4)
})

t.test('DELETE of a sponsor WITHOUT /$ref deletes the sponsor object itself (the documented danger)', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'danger@partner.example')
  await graph.request('POST', `/v1.0/users/${guest}/sponsors/$ref`, { body: ref('users', adele.id) })
  await graph.request('POST', `/v1.0/users/${guest}/sponsors/$ref`, { body: ref('groups', SEED.groups.developers) })
  t.equal((await graph.request('DELETE', `/v1.0/users/${guest}/sponsors/${SEED.groups.developers}`)).status, 403, 'a group: the app may not delete groups')
  t.equal((await graph.request('DELETE', `/v1.0/users/${guest}/sponsors/${adele.id}`)).status, 204)
  t.equal((await graph.request('GET', `/v1.0/users/${adele.id}`)).status, 404, 'Adele herself is gone')
})

t.test('invitedUserSponsors on POST /invitations: set on the new guest, five at most, each must exist', async (t) => {
  const graph = await startSimulator(t)
  const invite = (email: string, ids: string[]) => graph.request<{ invitedUser: { id: string } }>('POST', '/v1.0/invitations', {
    body: { invitedUserEmailAddress: email, inviteRedirectUrl: 'https://myapps.microsoft.com', invitedUserSponsors: ids.map((id) => ({ id })) },
  })
  const created = await invite('with-sponsors@partner.example', [adele.id, SEED.groups.marketing])
  t.equal(created.status, 201)
  const listed = await graph.request<GraphCollection<{ id: string }>>('GET', `/v1.0/users/${created.body.invitedUser.id}/sponsors?$select=id`)
  t.same(listed.body.value.map((s: { id: string }) => s.id), [adele.id, SEED.groups.marketing])

  const six = [adele.id, existingGuest.id, ...Object.values(SEED.groups)].slice(0, 6)
  t.equal((await invite('six@partner.example', six)).status, 400)
  t.equal((await invite('ghost@partner.example', ['f0000000-0000-4000-8000-0000000000ff'])).status, 404)
  t.notOk([...graph.sim.state.users.values()].some((u) => u.mail === 'six@partner.example' || u.mail === 'ghost@partner.example'), 'nothing created')
})

t.test('PATCH accountEnabled, and revokeSignInSessions', async (t) => {
  const graph = await startSimulator(t)
  const disabled = await graph.request('PATCH', `/v1.0/users/${existingGuest.id}`, { body: { accountEnabled: false } })
  t.equal(disabled.status, 204)
  t.equal(disabled.body, undefined)
  t.same((await graph.request('GET', `/v1.0/users/${existingGuest.id}?$select=accountEnabled`)).body, { id: existingGuest.id, accountEnabled: false })
  t.equal((await graph.request('PATCH', `/v1.0/users/${existingGuest.id}`, { body: { accountEnabled: 'no' } })).status, 400)
  t.equal((await graph.request('PATCH', `/v1.0/users/${existingGuest.id}`, { body: { favouriteColour: 'red' } })).status, 400)
  t.equal((await graph.request('PATCH', `/v1.0/users/${existingGuest.id}`, { body: { displayName: 'x' } })).status, 400, 'not modelled: refused, not ignored')
  t.equal((await graph.request('PATCH', '/v1.0/users/f0000000-0000-4000-8000-0000000000ff', { body: { accountEnabled: true } })).status, 404)

  const revoked = await graph.request('POST', `/v1.0/users/${existingGuest.id}/revokeSignInSessions`)
  t.equal(revoked.status, 200)
  t.same(revoked.body, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean', value: true })
  t.match(graph.sim.state.users.get(existingGuest.id)?.signInSessionsValidFromDateTime, /^\d{4}-/)
})

t.test('signInActivity: only on $select; filters on its dates alone; 403 without the licence; pages of 500 at most', async (t) => {
  const graph = await startSimulator(t)
  const plain = await graph.request('GET', `/v1.0/users/${existingGuest.id}?$select=id,displayName`)
  t.notOk('signInActivity' in plain.body, 'not without $select')
  const selected = await graph.request('GET', `/v1.0/users/${existingGuest.id}?$select=id,signInActivity`)
  t.match(selected.body.signInActivity, { lastSignInDateTime: '2024-01-16T10:30:00Z', lastSuccessfulSignInDateTime: '2024-01-16T10:30:00Z' })

  const fresh = await inviteGuest(graph, 'never@partner.example')
  const before = `/v1.0/users?$filter=${q('signInActivity/lastSuccessfulSignInDateTime le 2024-03-01T00:00:00Z')}&$select=id,userType,signInActivity`
  t.same((await graph.request<GraphCollection<{ id: string }>>('GET', before)).body.value.map((u) => u.id), [existingGuest.id], 'never signed in: no signInActivity, not matched')
  const after = `/v1.0/users?$filter=${q('signInActivity/lastSignInDateTime ge 2024-03-01T00:00:00Z')}&$select=id`
  t.same((await graph.request<GraphCollection<{ id: string }>>('GET', after)).body.value.map((u) => u.id), [adele.id])
  const mixed = await graph.request<GraphErrorJson>('GET', `/v1.0/users?$filter=${q("userType eq 'Guest' and signInActivity/lastSignInDateTime le 2025-01-01T00:00:00Z")}`)
  t.equal(mixed.status, 400, 'not with any other filterable property')
  t.equal(mixed.body.error.code, 'Request_UnsupportedQuery')
  t.equal((await graph.request('GET', `/v1.0/users?$filter=${q('signInActivity/lastSignInDateTime le yesterday')}`)).status, 400)

  await graph.request('PUT', `/_simulator/users/${fresh}/sign-in-activity`, { anonymous: true, body: { lastSignInDateTime: '2023-05-01T12:00:00Z', lastSuccessfulSignInDateTime: '2023-05-01T12:00:00Z' } })
  t.same((await graph.request<GraphCollection<{ id: string }>>('GET', before)).body.value.map((u) => u.id).sort(), [existingGuest.id, fresh].sort(), 'set through the control API')

  const template = graph.sim.state.users.get(existingGuest.id)
  for (let i = 0; i < 510; i++) {
    const id = `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`
    graph.sim.state.users.set(id, { ...structuredClone(template!), id, mail: `bulk${i}@partner.example` })
  }
  const capped = await graph.request<GraphCollection>('GET', '/v1.0/users?$select=id,signInActivity&$top=999')
  t.equal(capped.status, 200, '$top above 500 is not refused')
  t.equal(capped.body.value.length, 500, 'a page holds 500 at most')
  t.type(capped.body['@odata.nextLink'], 'string')
  t.equal((await graph.request<GraphCollection>('GET', '/v1.0/users?$select=id&$top=999')).body.value.length, 513, 'without signInActivity $top 999 holds')

  t.equal((await graph.request('POST', '/_simulator/licence', { anonymous: true, body: { premium: false } })).status, 204)
  for (const path of [`/v1.0/users/${existingGuest.id}?$select=signInActivity`, before]) {
    const refused = await graph.request<GraphErrorJson>('GET', path)
    t.equal(refused.status, 403, path)
    t.match(refused.body.error, { code: 'Authentication_RequestFromNonPremiumTenantOrB2CTenant', message: "Neither tenant is B2C or tenant doesn't have premium license" })
  }
  t.equal((await graph.request('GET', `/v1.0/users/${existingGuest.id}?$select=id,mail`)).status, 200, 'other reads are unaffected')
})

t.test('the control call that redeems an invitation: Accepted, with a sign-in time; only once, only when enabled', async (t) => {
  const graph = await startSimulator(t)
  const guest = await inviteGuest(graph, 'redeemer@partner.example')
  const redeemed = await graph.request('POST', `/_simulator/users/${guest}/redeem`, { anonymous: true })
  t.equal(redeemed.status, 200)
  t.match(redeemed.body, { id: guest, externalUserState: 'Accepted', signInActivity: { lastSignInDateTime: /^\d{4}-/, lastSuccessfulSignInDateTime: /^\d{4}-/ } })
  const user = await graph.request('GET', `/v1.0/users/${guest}?$select=externalUserState,externalUserStateChangeDateTime,signInActivity`)
  t.match(user.body, { externalUserState: 'Accepted', signInActivity: { lastSignInRequestId: /^[0-9a-f-]{36}$/ } })
  t.equal((await graph.request('POST', `/_simulator/users/${guest}/redeem`, { anonymous: true })).status, 409, 'nothing pending any more')

  const other = await inviteGuest(graph, 'locked@partner.example')
  await graph.request('PATCH', `/v1.0/users/${other}`, { body: { accountEnabled: false } })
  t.equal((await graph.request('POST', `/_simulator/users/${other}/redeem`, { anonymous: true })).status, 409, 'a disabled account cannot sign in')
  t.equal((await graph.request('POST', '/_simulator/users/f0000000-0000-4000-8000-0000000000ff/redeem', { anonymous: true })).status, 404)
})
