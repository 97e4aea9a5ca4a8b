// kill -9 of the process running a bulk job half-way, with Graph (the simulator) in its own
// process that lives on: after a restart the job completes, every row succeeded, and each
// address got exactly one Graph invitation (rows at Graph when the process died are resumed
// from the audit log and a read of Graph, never sent again).
import pg from 'pg'
import t from 'tap'
import { createTestDatabase } from '../helpers/database.js'
import { sandboxPolicyWith } from '../helpers/policy-file.js'
import { startEntryPoint } from '../helpers/processes.js'

const SERVER = 'src/server.ts'
const SIMULATOR = 'src/graph/simulator/server.ts'
const ROWS = 60
const SUBMITTER = '5b000000-0000-4000-8000-0000000000b1'

interface JobView { state: string; counts: Record<string, number> }

/** Reads a job's Server-Sent Events until `until` accepts one (or the stream ends). */
async function follow(url: string, token: string, until: (view: JobView) => boolean): Promise<JobView | null> {
  const controller = new AbortController()
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal })
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let text = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return null
      text += value
      let end: number
      while ((end = text.indexOf('\n\n')) >= 0) {
        const event = text.slice(0, end)
        text = text.slice(end + 2)
        const data = /^event: progress\ndata: (.*)$/m.exec(event)?.[1]
        if (data) {
          const view = JSON.parse(data) as JobView
          if (until(view)) return view
        }
      }
    }
  } finally {
    controller.abort()
  }
}

t.test('kill -9 half-way through a bulk job: after a restart it completes with one invitation per row', async (t) => {
  const database = await createTestDatabase(t)
  const simulator = startEntryPoint(t, SIMULATOR, { PORT: '0' })
  const graphUrl = await simulator.waitFor(/listening on (http:\/\/\S+\/v1\.0)/)
  const graphOrigin = new URL(graphUrl).origin
  // Invitations take a while at Graph, so the kill finds rows at Graph, rows done and rows waiting.
  const fault = await fetch(`${graphOrigin}/_simulator/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'POST', path: '/invitations', latencyMs: 150, times: 'Infinity' }),
  })
  t.equal(fault.status, 204)
  const policy = await sandboxPolicyWith(t, (p) => { delete p.roles['Guests.Invite']!.invitations!.maxPerHour })
  const env = {
    GUESTGATE_MODE: 'sandbox', PORT: '0', DATABASE_URL: database.connectionString, GRAPH_BASE_URL: graphUrl,
    GUESTGATE_POLICY_FILE: policy, LOG_LEVEL: 'info',
    GUESTGATE_INVITATIONS_PER_MINUTE: '60000', GUESTGATE_INVITATION_BURST: '1000',
    // Rows of the dead process are handed out again 2 s after they started.
    GUESTGATE_BULK_CONCURRENCY: '4', GUESTGATE_BULK_ROW_TIMEOUT_SECONDS: '2', GUESTGATE_QUEUE_MAINTENANCE_SECONDS: '1',
  }
  const first = startEntryPoint(t, SERVER, env)
  const base = await first.waitFor(/Docs: (http:\/\/127\.0\.0\.1:\d+)\/docs/)
  // The sandbox issuer's key is the process's own: the same caller gets a token from each.
  const mint = async (origin: string) => {
    const res = await fetch(`${origin}/v1/sandbox/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roles: ['Guests.Invite'], oid: SUBMITTER }) })
    return (await res.json() as { accessToken: string }).accessToken
  }
  const accessToken = await mint(base)

  const emails = Array.from({ length: ROWS }, (_, i) => `bulkcrash${i}@partner.example`)
  const submitted = await fetch(`${base}/v1/bulk/invitations`, {
    method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ invitations: emails.map((email) => ({ email, sendEmail: false })) }),
  })
  t.equal(submitted.status, 202)
  const job = await submitted.json() as { id: string }
  const events = `/v1/bulk/jobs/${job.id}/events`

  const atKill = await follow(`${base}${events}`, accessToken, (view) => view.counts.succeeded! >= ROWS / 4)
  await first.kill9()
  t.ok(atKill && atKill.counts.succeeded! < ROWS, `killed with ${atKill?.counts.succeeded} of ${ROWS} rows done`)

  const second = startEntryPoint(t, SERVER, env)
  const base2 = await second.waitFor(/Docs: (http:\/\/127\.0\.0\.1:\d+)\/docs/)
  const token2 = await mint(base2)
  const end = await follow(`${base2}${events}`, token2, (view) => view.state === 'completed')
  t.match(end, { state: 'completed', counts: { succeeded: ROWS, failed: 0, pending: 0, running: 0 } }, 'the job completed, every row succeeded')

  const results = await fetch(`${base2}/v1/bulk/jobs/${job.id}/results?format=ndjson`, { headers: { authorization: `Bearer ${token2}` } })
  const rows = (await results.text()).trim().split('\n').map((line) => JSON.parse(line) as { email: string; status: string; guestId: string | null })
  t.same(rows.filter((r) => r.status !== 'succeeded' || !r.guestId), [], 'every row has its guest')
  await second.stop()

  const calls = await (await fetch(`${graphOrigin}/_simulator/calls`)).json() as Array<{ method: string; path: string; status: number; body?: { invitedUserEmailAddress?: string } }>
  const invitations = calls.filter((c) => c.method === 'POST' && c.path.endsWith('/invitations'))
  const state = await (await fetch(`${graphOrigin}/_simulator/state`)).json() as { users: Array<{ mail: string | null }> }
  const notOnce = emails.filter((email) => state.users.filter((u) => u.mail?.toLowerCase() === email).length !== 1)
  t.same(notOnce, [], 'each address is in the directory once')
  t.equal(invitations.length, ROWS, 'exactly one Graph invitation per row')
  const db = new pg.Client({ connectionString: database.connectionString })
  await db.connect()
  const { rows: [resumed] } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM bulk_job_rows WHERE attempts > 1')
  await db.end()
  t.ok(resumed!.n > 0, `${resumed!.n} rows under way at the kill were resumed by the second process`)
})
