// guestgate's own address check and the simulator's POST /invitations use one rule: for every
// address, guestgate refuses it up front exactly when Graph would refuse it.
import t from 'tap'
import { invitableEmailProblem } from '../../src/graph/invitable-email.js'
import { invitableEmail } from '../../src/schemas/email-address.js'
import { startSimulator, type GraphErrorJson } from './simulator/simulator-client.js'

const addresses: Array<[string, boolean]> = [
  ['jane@partner.example', true],
  ['Jane.Doe@Partner.Example', true],
  ["o'brien@partner.example", true],
  ['a_b-c!d#e^f~g@sub.partner.example', true],
  ['jane+tag@partner.example', false],
  ['jane&co@partner.example', false],
  ['jane*x@partner.example', false],
  ['jane/x@partner.example', false],
  ['jane=x@partner.example', false],
  ['jane?x@partner.example', false],
  ['jane{x}@partner.example', false],
  ['jane|x@partner.example', false],
  ['jane$x@partner.example', false],
  ['jane%x@partner.example', false],
  ['ja(ne)@partner.example', false],
  ['"jane"@partner.example', false],
  ['.jane@partner.example', false],
  ['jane.@partner.example', false],
  ['ja..ne@partner.example', false],
  ['jane@partner', false],
  ['jane@-partner.example', false],
  ['a@b@partner.example', false],
  [`${'a'.repeat(65)}@partner.example`, false],
  ['jane-at-partner.example', false],
]

t.test('one rule: guestgate refuses an address exactly when the simulator (as Graph) refuses it', async (t) => {
  const graph = await startSimulator(t)
  for (const [address, invitable] of addresses) {
    t.equal(invitableEmailProblem(address) === null, invitable, `guestgate: ${address}`)
    if (!invitable) {
      const refused = (() => { try { return invitableEmail(address, 'body/email') } catch (error) { return error } })()
      t.match(refused, { status: 400, extras: { errors: [{ field: 'body/email' }] } }, `a 400 naming the field: ${address}`)
    }
    const answer = await graph.request<GraphErrorJson>('POST', '/v1.0/invitations', { body: { invitedUserEmailAddress: address, inviteRedirectUrl: 'https://myapps.microsoft.com' } })
    t.equal(answer.status, invitable ? 201 : 400, `simulator: ${address}`)
    if (!invitable) t.equal(answer.body.error.message, 'The Primary SMTP Address is an invalid value')
  }
})
