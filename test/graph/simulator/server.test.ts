// The simulator as its own process: listens where it says, speaks Graph and the control API
// over HTTP, and stops cleanly on SIGTERM.
import t from 'tap'
import type { RecordedCall } from '../../../src/graph/simulator/graph-simulator.js'
import { SEED } from '../../../src/graph/simulator/seed.js'
import type { DirectorySnapshot } from '../../../src/graph/simulator/state.js'
import { startSimulatorProcess } from '../../helpers/simulator-process.js'

t.test('npm run simulator: Graph and /_simulator over HTTP from another process, exit 0 on SIGTERM', async (t) => {
  const simulator = await startSimulatorProcess(t)
  t.match(simulator.output(), /Graph simulator listening on http:\/\/127\.0\.0\.1:\d+\/v1\.0/)
  const graph = (method: string, path: string, body?: unknown) => fetch(`${simulator.baseUrl}${path}`, {
    method,
    headers: { authorization: 'Bearer x', ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  const control = (method: string, path: string, body?: unknown) => fetch(`${simulator.origin}/_simulator${path}`, {
    method,
    ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  })

  const invited = await graph('POST', '/invitations', { invitedUserEmailAddress: 'process@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com' })
  t.equal(invited.status, 201)
  const guestId = ((await invited.json()) as { invitedUser: { id: string } }).invitedUser.id

  t.equal((await control('POST', '/faults', { method: 'POST', path: '/members/$ref', afterApply: { status: 502 } })).status, 204)
  const added = await graph('POST', `/groups/${SEED.groups.developers}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${guestId}` })
  t.equal(added.status, 502, 'the control API reaches the process')

  const state = (await (await control('GET', '/state')).json()) as DirectorySnapshot
  t.ok(state.users.some((user) => user.id === guestId))
  t.ok(state.memberships[SEED.groups.developers]!.includes(guestId), 'the 502 came after the member was added')
  const calls = (await (await control('GET', '/calls')).json()) as RecordedCall[]
  t.same(calls.map((call) => [call.method, call.status]), [['POST', 201], ['POST', 502]])

  t.equal(await simulator.stop(), 0, 'clean exit')
})

t.test('a bad PORT stops the start with a message', async (t) => {
  await t.rejects(startSimulatorProcess(t, { PORT: 'eighty' }), /PORT/)
})
