// The graph plugin's wiring: GRAPH_TIMEOUT_MS reaches the gateway, and the sandbox's embedded
// simulator keeps its directory in GUESTGATE_DATA_DIR across a restart.
import { mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { serverOptions } from '../../src/server-options.js'
import { build } from '../helper.js'
import { createTestDatabase } from '../helpers/database.js'
import type { GuestDetail, InvitationReply } from '../helpers/replies.js'

t.test('GRAPH_TIMEOUT_MS: a Graph call that gets no answer ends at the deadline, sent once', async (t) => {
  // Long enough that a busy machine sends the request well before it; the hang outlasts it anyway.
  const { as, token, simulator } = await build(t, { GRAPH_TIMEOUT_MS: '3000' })
  simulator.faults.inject({ method: 'POST', path: '/invitations', afterApply: { hang: true } })
  const res = await as(await token(['Guests.Invite']), { method: 'POST', url: '/v1/invitations', payload: { email: 'slow@partner.example', sendEmail: false } })
  t.ok(res.statusCode >= 500, `a failure the caller sees (${res.statusCode})`)
  t.equal(simulator.callsTo('POST', /\/invitations$/).length, 1, 'never sent twice')
  t.ok([...simulator.state.users.values()].some((u) => u.mail === 'slow@partner.example'), 'Graph applied it: the caller must settle, not resend')
})

async function sandbox(t: Test, dataDir: string, databaseUrl: string) {
  const config = loadConfig({ GUESTGATE_DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', GRAPH_RETRY_BASE_DELAY_MS: '5' })
  const app = Fastify(serverOptions(config, false))
  await app.register(buildApp, { config })
  await app.ready()
  let closed = false
  t.teardown(() => (closed ? undefined : app.close()))
  const token = async (roles: string[]) => (await app.inject({ method: 'POST', url: '/v1/sandbox/tokens', payload: { roles } })).json<{ accessToken: string }>().accessToken
  return { app, token, close: async () => { closed = true; await app.close() } }
}

t.test('sandbox: a restart keeps the guests of the embedded simulator (GUESTGATE_DATA_DIR/graph-simulator.json)', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'guestgate-sandbox-'))
  const database = await createTestDatabase(t)
  const first = await sandbox(t, dataDir, database.connectionString)
  t.equal(first.app.config.mode, 'sandbox')
  const inviter = await first.token(['Guests.Invite'])
  const invited = await first.app.inject({ method: 'POST', url: '/v1/invitations', headers: { authorization: `Bearer ${inviter}` }, payload: { email: 'stays@partner.example', sendEmail: false } })
  t.equal(invited.statusCode, 201, invited.body)
  t.ok((await stat(path.join(dataDir, 'graph-simulator.json'))).isFile())
  await first.close()

  const second = await sandbox(t, dataDir, database.connectionString)
  const reader = await second.token(['Guests.Invite'])
  const guest = await second.app.inject({ method: 'GET', url: `/v1/guests/${invited.json<InvitationReply>().id}`, headers: { authorization: `Bearer ${reader}` } })
  t.equal(guest.statusCode, 200, 'the guest the audit log names still exists')
  t.equal(guest.json<GuestDetail>().email, 'stays@partner.example')
})
