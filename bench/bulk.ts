// A bulk invitation job of BENCH_ROWS rows (default 10,000) against the Graph simulator with
// Graph's write limits on, scaled down (Graph's 3,000 writes per 150 s per app and tenant, at
// 1% of the count and BENCH_WINDOW_SCALE of the period), guestgate paced at BENCH_RATE
// invitations a second (a fifth below the scaled limit). The app runs in this process on its
// own database, over a real port: the job is submitted as CSV and followed on its event stream.
// Prints: achieved rate / allowed rate (writes Graph accepted against what the budget allows
// over the job's own elapsed time), the share of Graph writes answered 429, the process's peak
// RSS, the time from submission to the first progress event. Asserts nothing.
//
//   npm run bench:bulk            (BENCH_ROWS, BENCH_RATE, BENCH_CONCURRENCY)
import { build } from '../test/helper.js'
import { sandboxPolicyWith } from '../test/helpers/policy-file.js'

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000)
const RATE = Number(process.env.BENCH_RATE ?? 30)
const BURST = 2
const CONCURRENCY = process.env.BENCH_CONCURRENCY ?? '16'

const cleanups: Array<() => unknown> = []
const teardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }

let peakRss = process.memoryUsage().rss
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss) }, 100)

try {
  const policy = await sandboxPolicyWith(teardown, (p) => { delete p.roles['Guests.Invite']!.invitations!.maxPerHour })
  const { app, simulator, token } = await build(teardown, {
    GUESTGATE_POLICY_FILE: policy,
    GUESTGATE_INVITATIONS_PER_MINUTE: String(RATE * 60), GUESTGATE_INVITATION_BURST: String(BURST),
    GUESTGATE_BULK_CONCURRENCY: CONCURRENCY, DATABASE_POOL_SIZE: String(Number(CONCURRENCY) + 10),
  })
  // 30 writes per window; the window sized so that the limit is RATE * 1.25 a second.
  const windowSeconds = 30 / (RATE * 1.25)
  simulator.setThrottling({ scale: 0.01, windowScale: windowSeconds / 150 })
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const bearer = await token(['Guests.Invite'])
  const csv = ['version:v1.0', 'Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required,Send invitation message (true or false) [sendEmail],Customized invitation message [customizedMessageBody]',
    ...Array.from({ length: ROWS }, (_, i) => `bench${i}@partner.example,https://myapps.microsoft.com/,FALSE,`)].join('\r\n')

  const submitted = performance.now()
  const res = await fetch(`${base}/v1/bulk/invitations`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'text/csv' }, body: csv })
  if (res.status !== 202) throw new Error(`submission: ${res.status} ${await res.text()}`)
  const answeredMs = performance.now() - submitted
  const { id } = await res.json() as { id: string }
  const stream = await fetch(`${base}/v1/bulk/jobs/${id}/events`, { headers: { authorization: `Bearer ${bearer}` } })
  const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
  let firstEventMs: number | null = null
  let firstRowEventMs: number | null = null
  let events = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    for (const data of value.matchAll(/event: progress\ndata: (.*)\n/g)) {
      events++
      firstEventMs ??= performance.now() - submitted
      const view = JSON.parse(data[1]!) as { counts: { succeeded: number; failed: number } }
      if (firstRowEventMs === null && view.counts.succeeded + view.counts.failed > 0) firstRowEventMs = performance.now() - submitted
    }
  }
  const job = await (await fetch(`${base}/v1/bulk/jobs/${id}`, { headers: { authorization: `Bearer ${bearer}` } })).json() as
    { counts: Record<string, number>; startedAt: string; finishedAt: string; ratePerMinute: number }
  const writes = simulator.callsTo('POST', /\/invitations$/)
  const accepted = writes.filter((c) => c.status === 201).length
  const throttled = writes.filter((c) => c.status === 429).length
  const elapsed = (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000
  const allowed = BURST + RATE * elapsed
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  console.log(JSON.stringify({ rows: ROWS, rate: RATE, concurrency: Number(CONCURRENCY), counts: job.counts }))
  console.log(`| rows | pace (/s) | elapsed (s) | achieved / allowed | 429 share | peak RSS | 202 answered | first progress event | first row event | events |`)
  console.log(`|---|---|---|---|---|---|---|---|---|---|`)
  console.log(`| ${ROWS} | ${RATE} | ${elapsed.toFixed(1)} | ${(accepted / elapsed).toFixed(1)} / ${RATE} = ${((accepted / allowed) * 100).toFixed(1)} % | ${throttled} of ${writes.length} (${((throttled / Math.max(writes.length, 1)) * 100).toFixed(2)} %) | ${(peakRss / 2 ** 20).toFixed(0)} MiB | ${answeredMs.toFixed(0)} ms | ${firstEventMs?.toFixed(0)} ms | ${firstRowEventMs?.toFixed(0)} ms | ${events} |`)
} finally {
  clearInterval(sampler)
  for (const fn of cleanups.reverse()) await fn()
}
