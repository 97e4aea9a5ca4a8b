// The sandbox directory on disk: one simulator instance writes it, the next one on the same file
// starts from it. Written atomically, only after changes.
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { buildGraphSimulator } from '../../../src/graph/simulator/graph-simulator.js'
import { SEED } from '../../../src/graph/simulator/seed.js'

async function instance(t: Test, stateFile: string) {
  const app = await buildGraphSimulator({ stateFile })
  let closed = false
  t.teardown(() => (closed ? undefined : app.close()))
  const graph = (method: string, url: string, payload?: object) =>
    app.inject({ method: method as 'GET', url, headers: { authorization: 'Bearer x' }, ...(payload ? { payload } : {}) })
  return { app, graph, close: async () => { closed = true; await app.close() } }
}

const tempFile = async () => path.join(await mkdtemp(path.join(tmpdir(), 'guestgate-simulator-')), 'sandbox', 'graph-simulator.json')

t.test('two instances on one file: the second starts where the first stopped', async (t) => {
  const file = await tempFile()
  const first = await instance(t, file)
  t.equal((await first.graph('GET', '/v1.0/users')).statusCode, 200)
  await t.rejects(stat(file), { code: 'ENOENT' }, 'reads alone write nothing')

  const invited = (await first.graph('POST', '/v1.0/invitations', { invitedUserEmailAddress: 'kept@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com', sendInvitationMessage: true })).json<{ invitedUser: { id: string } }>()
  const guest = invited.invitedUser.id
  t.equal((await first.graph('POST', `/v1.0/groups/${SEED.groups.developers}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${guest}` })).statusCode, 204)
  t.equal((await first.graph('POST', `/v1.0/users/${guest}/sponsors/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/users/${SEED.users.adele.id}` })).statusCode, 204)
  t.equal((await first.graph('POST', `/v1.0/servicePrincipals/${SEED.apps.docuSign.id}/appRoleAssignedTo`, { principalId: guest, resourceId: SEED.apps.docuSign.id, appRoleId: SEED.apps.docuSign.roles.sender })).statusCode, 201)
  t.equal((await first.app.inject({ method: 'POST', url: `/_simulator/users/${guest}/redeem` })).statusCode, 200)
  const before = first.app.simulator.state.snapshot()
  await first.close()

  const second = await instance(t, file)
  t.same(second.app.simulator.state.snapshot(), before, 'everything: users, memberships, assignments, sponsors, invitations, e-mails')
  const user = (await second.graph('GET', `/v1.0/users/${guest}?$select=id,externalUserState`)).json<unknown>()
  t.same(user, { id: guest, externalUserState: 'Accepted' })
  t.same((await second.graph('GET', `/v1.0/users/${guest}/memberOf/microsoft.graph.group?$select=id`)).json<{ value: Array<{ id: string }> }>().value.map((g) => g.id), [SEED.groups.developers, SEED.groups.allPartners])
  t.equal((await second.graph('DELETE', `/v1.0/users/${guest}`)).statusCode, 204)
  await second.close()

  const third = await instance(t, file)
  t.equal((await third.graph('GET', `/v1.0/users/${guest}`)).statusCode, 404, 'the deletion was kept too')
  t.notOk([...third.app.simulator.state.sponsors.values()].flat().includes(guest))
  t.same((await readdir(path.dirname(file))).sort(), ['graph-simulator.json'], 'no temporary file is left')
  JSON.parse(await readFile(file, 'utf8'))
})

t.test('a failed write changes nothing on disk; a reset writes the seed', async (t) => {
  const file = await tempFile()
  const sim = await instance(t, file)
  await sim.graph('POST', '/v1.0/invitations', { invitedUserEmailAddress: 'one@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com' })
  const written = await stat(file)
  t.equal((await sim.graph('POST', '/v1.0/invitations', { invitedUserEmailAddress: 'bad+tag@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com' })).statusCode, 400)
  t.equal((await stat(file)).mtimeMs, written.mtimeMs, 'not rewritten')
  t.equal((await sim.app.inject({ method: 'POST', url: '/_simulator/reset' })).statusCode, 204)
  t.notOk((await readFile(file, 'utf8')).includes('one@partner.example'))
})

t.test('a file that is not a state file stops the start, naming the file', async (t) => {
  const file = await tempFile()
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, '{"users": "nope"}')
  await t.rejects(buildGraphSimulator({ stateFile: file }), { name: 'StateFileError', message: new RegExp(`${file.replaceAll('.', '\\.')} is not a Graph simulator state file`) })
  await writeFile(file, 'not json')
  await t.rejects(buildGraphSimulator({ stateFile: file }), { message: /is not JSON/ })
})
