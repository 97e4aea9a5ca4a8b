// The gateway's lifecycle calls (issue 14) through the real SDK against the simulator.
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createStaticCredential } from '../../src/graph/graph-credential.js'
import { GraphRequestError, isPremiumLicenceMissing } from '../../src/graph/graph-gateway.js'
import { createMsGraphGateway } from '../../src/graph/ms-graph-gateway.js'
import { buildGraphSimulator } from '../../src/graph/simulator/graph-simulator.js'
import { SEED } from '../../src/graph/simulator/seed.js'

const ctx = { correlationId: 'c0a1b2c3-0000-4000-8000-00000000abcd' }
const { adele, existingGuest } = SEED.users

async function setup(t: Test) {
  const sim = await buildGraphSimulator()
  await sim.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => sim.close())
  const { port } = sim.server.address() as AddressInfo
  const gateway = createMsGraphGateway({ baseUrl: `http://127.0.0.1:${port}/v1.0`, credential: createStaticCredential('t'), retry: { baseDelayMs: 1 } })
  return { gateway, simulator: sim.simulator }
}

const invite = (gateway: Awaited<ReturnType<typeof setup>>['gateway'], email: string, sponsorIds?: string[]) =>
  gateway.invite({ invitedUserEmailAddress: email, inviteRedirectUrl: 'https://myapps.microsoft.com', sendInvitationMessage: false, ...(sponsorIds ? { sponsorIds } : {}) }, ctx)

t.test('invite with sponsors; list, add (idempotent), remove (idempotent, always /$ref)', async (t) => {
  const { gateway, simulator } = await setup(t)
  const { value: invitation } = await invite(gateway, 'sponsored@partner.example', [adele.id])
  const guest = invitation.invitedUserId
  t.same((await gateway.listSponsors(guest, ctx)).value, [{ id: adele.id, type: 'user', displayName: 'Adele Vance', mail: adele.mail }])

  t.same((await gateway.addSponsor(guest, { id: SEED.groups.developers, type: 'group' }, ctx)).value, { changed: true, value: undefined })
  const again = await gateway.addSponsor(guest, { id: SEED.groups.developers, type: 'group' }, ctx)
  t.same(again.value, { changed: false, value: undefined })
  t.equal(again.status, 400)
  t.same((await gateway.listSponsors(guest, ctx)).value.map((s) => s.type), ['user', 'group'])

  t.same((await gateway.removeSponsor(guest, adele.id, ctx)).value, { changed: true, value: undefined })
  t.same((await gateway.removeSponsor(guest, adele.id, ctx)).value, { changed: false, value: undefined })
  t.ok(simulator.state.users.has(adele.id), 'the sponsor herself is untouched')
  t.same(simulator.callsTo('DELETE', /\/sponsors\//).map((c) => c.path.endsWith('/$ref')), [true, true], 'never without /$ref')
  const missing = await gateway.removeSponsor('f0000000-0000-4000-8000-0000000000ff', adele.id, ctx).then(() => undefined, (e: unknown) => e)
  t.match(missing, { status: 404 }, 'a missing user is an error')

  for (const id of [existingGuest.id, SEED.groups.marketing, SEED.groups.allPartners, SEED.groups.financeAdmins]) {
    await gateway.addSponsor(guest, { id, type: id.startsWith('d') ? 'group' : 'user' }, ctx)
  }
  const sixth = await gateway.addSponsor(guest, { id: adele.id, type: 'user' }, ctx).then(() => undefined, (e: unknown) => e)
  t.match(sixth, { status: 400 }, 'five at most')
})

t.test('setAccountEnabled and revokeSignInSessions', async (t) => {
  const { gateway, simulator } = await setup(t)
  const disabled = await gateway.setAccountEnabled(existingGuest.id, false, ctx)
  t.equal(disabled.status, 204)
  t.equal((await gateway.getUser(existingGuest.id, ctx)).value.accountEnabled, false)
  t.same(simulator.callsTo('PATCH', /\/users\//).map((c) => c.status), [204])
  await gateway.setAccountEnabled(existingGuest.id, true, ctx)
  t.equal((await gateway.getUser(existingGuest.id, ctx)).value.accountEnabled, true)

  const revoked = await gateway.revokeSignInSessions(existingGuest.id, ctx)
  t.same(revoked.value, { changed: true, value: undefined })
  t.equal(revoked.status, 200)
  t.ok(simulator.state.users.get(existingGuest.id)?.signInSessionsValidFromDateTime)
})

t.test('guests with sign-in activity, paged; redeemed guests show a sign-in; no licence is its own error', async (t) => {
  const { gateway, simulator } = await setup(t)
  const { value: invitation } = await invite(gateway, 'new@partner.example')
  simulator.state.redeem(invitation.invitedUserId)
  await invite(gateway, 'pending@partner.example')

  const seen = []
  let pageToken: string | undefined
  do {
    const page = await gateway.listGuestsWithSignInActivity({ top: 2, ...(pageToken ? { pageToken } : {}) }, ctx)
    seen.push(...page.value.items)
    pageToken = page.value.nextPageToken
  } while (pageToken)
  t.same(seen.map((g) => [g.mail, g.externalUserState, g.signInActivity?.lastSuccessfulSignInDateTime ? 'signed in' : 'never']).sort(), [
    ['existing@fabrikam.example', 'Accepted', 'signed in'],
    ['new@partner.example', 'Accepted', 'signed in'],
    ['pending@partner.example', 'PendingAcceptance', 'never'],
  ])
  const query = new URLSearchParams(simulator.callsTo('GET', /\/users$/)[0]?.query)
  t.equal(query.get('$filter'), "userType eq 'Guest'")
  t.match(query.get('$select'), /,signInActivity$/)
  t.equal((await gateway.listGuestsWithSignInActivity({ top: 999 }, ctx)).value.items.length, 3)
  t.equal(new URLSearchParams(simulator.calls.at(-1)?.query).get('$top'), '500', 'never more than 500 per page')

  simulator.state.premiumLicence = false
  const error = await gateway.listGuestsWithSignInActivity({ top: 10 }, ctx).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof GraphRequestError)
  t.equal(isPremiumLicenceMissing(error), true)
  t.equal(isPremiumLicenceMissing(new GraphRequestError(403, 'Authorization_RequestDenied', 'Insufficient privileges')), false)
  t.equal((await gateway.listGuests({ top: 10, state: 'PendingAcceptance' }, ctx)).value.items.length, 1, 'pending guests need no licence')
})
