// kill -9 of guestgate during 50 concurrent invitations, with Graph (the simulator) in its own
// process that lives on: after a restart and a reconciler pass, no intent is left without an
// outcome, and every invitation's audited outcome says what the directory really holds.
import t from 'tap'
import { auditRows, type AuditRow } from '../helpers/audit-rows.js'
import { createTestDatabase } from '../helpers/database.js'
import { sandboxPolicyWith } from '../helpers/policy-file.js'
import { startEntryPoint } from '../helpers/processes.js'

const SERVER = 'src/server.ts'
const SIMULATOR = 'src/graph/simulator/server.ts'

t.test('kill -9 during 50 concurrent invitations: after restart and one reconciler pass, the audit log equals the directory', async (t) => {
  const database = await createTestDatabase(t)
  const simulator = startEntryPoint(t, SIMULATOR, { PORT: '0' })
  const graphUrl = await simulator.waitFor(/listening on (http:\/\/\S+\/v1\.0)/)
  const graphOrigin = new URL(graphUrl).origin
  // Invitations take a while at Graph, so the kill finds some sent, some waiting, some done.
  const fault = await fetch(`${graphOrigin}/_simulator/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'POST', path: '/invitations', latencyMs: 250, times: 'Infinity' }),
  })
  t.equal(fault.status, 204)

  // No hourly limit: no limit lock, so all 50 invitations are under way at once.
  const policy = await sandboxPolicyWith(t, (p) => { delete p.roles['Guests.Invite']!.invitations!.maxPerHour })
  const env = {
    GUESTGATE_MODE: 'sandbox', PORT: '0', DATABASE_URL: database.connectionString, GRAPH_BASE_URL: graphUrl,
    GUESTGATE_POLICY_FILE: policy, GRAPH_TIMEOUT_MS: '3000', GUESTGATE_RECONCILE_AFTER_SECONDS: '4',
    GUESTGATE_RECONCILE_INTERVAL_SECONDS: '1', LOG_LEVEL: 'info',
    // Every invitation gets its connection at once: all 50 are under way when the kill comes.
    DATABASE_POOL_SIZE: '60',
    GUESTGATE_INVITATIONS_PER_MINUTE: '60000', GUESTGATE_INVITATION_BURST: '1000',
  }
  const first = startEntryPoint(t, SERVER, env)
  const base = await first.waitFor(/Docs: (http:\/\/127\.0\.0\.1:\d+)\/docs/)
  const mint = await fetch(`${base}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Invite'] }) })
  const { accessToken } = await mint.json() as { accessToken: string }

  const emails = Array.from({ length: 50 }, (_, i) => `crash${i}@partner.example`)
  const requests = emails.map((email) => fetch(`${base}/v1/invitations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ email, sendEmail: false }),
  }).then((r) => r.status, () => 'dropped' as const))
  // The kill comes when a fifth of them have their answer: others are at Graph, others not yet sent.
  let answeredBeforeKill = 0
  await new Promise<void>((resolve) => { for (const r of requests) void r.then(() => { if (++answeredBeforeKill === 10) resolve() }) })
  await first.kill9()
  const answered = await Promise.all(requests)
  t.ok(answered.includes('dropped'), `the kill cut requests in flight (${answered.filter((a) => a === 'dropped').length} dropped)`)
  const atKill = await auditRows(database.connectionString, `action = 'invitation.invite'`)
  const openAtKill = atKill.filter((i) => i.status === 'intent' && !atKill.some((o) => o.correlation_id === i.correlation_id && o.status !== 'intent'))
  t.ok(openAtKill.length > 0, `${openAtKill.length} intents had no outcome when the process died`)

  const second = startEntryPoint(t, SERVER, env)
  await second.waitFor(/Docs: (http:\/\/127\.0\.0\.1:\d+)\/docs/)
  await second.waitFor(/("unsettled":0,[^\n]*"msg":"reconciler pass finished")/)
  await second.stop()

  const rows = await auditRows(database.connectionString, `action = 'invitation.invite'`)
  const intents = rows.filter((r) => r.status === 'intent')
  t.ok(intents.length > 0, `${intents.length} invitations reached their intent row`)
  const outcomeOf = (intent: AuditRow) => rows.filter((r) => r.correlation_id === intent.correlation_id && r.status !== 'intent')
  t.same(intents.filter((i) => outcomeOf(i).length !== 1), [], 'every intent has exactly one outcome')

  const state = await (await fetch(`${graphOrigin}/_simulator/state`)).json() as { users: Array<{ mail: string | null }> }
  const inDirectory = new Set(state.users.map((u) => u.mail?.toLowerCase()))
  for (const intent of intents) {
    const email = (intent.request_summary.params as { email: string }).email
    const outcome = outcomeOf(intent)[0]!
    const settledEffect = (outcome.request_summary.settlement as { effect?: string } | undefined)?.effect
    const auditedAsMade = outcome.status === 'succeeded' || (outcome.status === 'reconciled' && settledEffect === 'present')
    t.equal(auditedAsMade, inDirectory.has(email), `${email}: audited ${outcome.status}${settledEffect ? ` (${settledEffect})` : ''}, directory ${inDirectory.has(email) ? 'has' : 'lacks'} the guest`)
  }
  const invitedTwice = emails.filter((email) => state.users.filter((u) => u.mail?.toLowerCase() === email).length > 1)
  t.same(invitedTwice, [], 'no address was invited twice')
})
