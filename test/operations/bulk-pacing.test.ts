// A bulk job against the simulator with Graph's write limits on, scaled down: the job uses at
// least 90% of guestgate's invitation budget (writes Graph accepted, against what the budget
// allows over the job's own elapsed time), under 1% of its Graph calls are answered 429, and no
// row is lost. The pace is set well below what a busy 2-core CI machine processes (about 19 rows
// a second measured while the suite ran), so the budget, not the machine, is what limits the job,
// and enough rows run at once that one is always waiting for the next token when it comes, even
// when each row takes seconds on a loaded machine (waiting rows cost nothing: they take turns at
// the budget). 1,000 rows take about 250 s, mostly waiting. The 10,000-row figures live in
// bench/bulk.ts.
import t from 'tap'
import { build } from '../helper.js'
import { sandboxPolicyWith } from '../helpers/policy-file.js'

const ROWS = 1000
/** guestgate's pace: 4 invitations a second, at most 2 at once after a quiet spell. */
const RATE = 4
const BURST = 2

// 250 s of pacing, plus the start-up of a busy machine.
t.setTimeout(10 * 60_000)

t.test('1,000 rows under scaled-down Graph limits: >= 90% of the budget used, < 1% answered 429, no row lost', async (t) => {
  const policy = await sandboxPolicyWith(t, (p) => { delete p.roles['Guests.Invite']!.invitations!.maxPerHour })
  const { simulator, token, as } = await build(t, {
    GUESTGATE_POLICY_FILE: policy,
    GUESTGATE_INVITATIONS_PER_MINUTE: String(RATE * 60), GUESTGATE_INVITATION_BURST: String(BURST),
    GUESTGATE_BULK_CONCURRENCY: '32', DATABASE_POOL_SIZE: '30',
  })
  // Graph's 3,000 writes per 150 s per app and tenant, scaled to 30 per 4.5 s (6.7 a second):
  // guestgate's pace stays 40% below it, and its burst plus 4.5 s of pace (20) below 30.
  simulator.setThrottling({ scale: 0.01, windowScale: 0.03 })
  const inviter = await token(['Guests.Invite'])
  const invitations = Array.from({ length: ROWS }, (_, i) => ({ email: `paced${i}@partner.example`, sendEmail: false }))
  const res = await as(inviter, { method: 'POST', url: '/v1/bulk/invitations', payload: { invitations } })
  t.equal(res.statusCode, 202)
  const { id } = res.json<{ id: string }>()
  const events = await as(inviter, { method: 'GET', url: `/v1/bulk/jobs/${id}/events` })
  t.match(events.body, /event: end\ndata: {"state":"completed"}/, 'the job completed')

  const job = (await as(inviter, { method: 'GET', url: `/v1/bulk/jobs/${id}` })).json<{ counts: Record<string, number>; startedAt: string; finishedAt: string }>()
  t.same(job.counts, { pending: 0, running: 0, succeeded: ROWS, failed: 0, cancelled: 0 }, 'no row lost')
  const writes = simulator.callsTo('POST', /\/invitations$/)
  const accepted = writes.filter((c) => c.status === 201).length
  const throttled = writes.filter((c) => c.status === 429).length
  t.equal(accepted, ROWS, 'one accepted invitation per row')
  const elapsedSeconds = (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000
  const allowed = BURST + RATE * elapsedSeconds
  const used = accepted / allowed
  t.ok(used >= 0.9, `budget used: ${(used * 100).toFixed(1)}% (${accepted} writes in ${elapsedSeconds.toFixed(1)} s, ${allowed.toFixed(0)} allowed)`)
  t.ok(throttled / writes.length < 0.01, `${throttled} of ${writes.length} Graph writes answered 429`)
})
