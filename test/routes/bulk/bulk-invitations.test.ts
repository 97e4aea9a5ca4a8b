// The Entra admin center's bulk invite template with 500 rows (invalid, denied by policy,
// duplicated, already in the directory, and valid): the dry run answers each row's decision and
// changes nothing; the job then gives every row the answer the single route would, with exactly
// one Graph invitation per valid row, its progress as Server-Sent Events and its results as
// CSV and NDJSON.
import { createHash } from 'node:crypto'
import t from 'tap'
import { build } from '../../helper.js'
import { sandboxPolicyWith } from '../../helpers/policy-file.js'

interface Expected { email: string; status: 'succeeded' | 'failed'; code?: string; field?: string }

const ROWS = Number(process.env.BULK_TEST_ROWS ?? 500)
const HEADER = 'Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required,Send invitation message (true or false) [sendEmail],Customized invitation message [customizedMessageBody]'

/** 500 rows: 380 valid, 40 invalid (four kinds), 40 denied (domain, redirect URL), 20 duplicates, 20 existing users. */
function template() {
  const lines = ['version:v1.0', HEADER, 'Example: Istokes@fabrikam.com, https://myapplications.microsoft.com, TRUE, Welcome']
  const expected: Expected[] = []
  const existing: string[] = []
  const add = (cells: string[], e: Expected) => { lines.push(cells.join(',')); expected.push(e) }
  for (let i = 0; i < ROWS; i++) {
    const kind = i % 25
    if (kind === 1 && i < 100) add([`bad${i}`, 'https://myapps.microsoft.com/', 'FALSE', ''], { email: `bad${i}`, status: 'failed', code: 'validation_failed', field: 'inviteeEmail' })
    else if (kind === 1) add([`plus+${i}@partner.example`, '', 'FALSE', ''], { email: `plus+${i}@partner.example`, status: 'failed', code: 'validation_failed', field: 'inviteeEmail' })
    else if (kind === 2 && i < 250) add([`msg${i}@partner.example`, '', 'FALSE', 'Welcome aboard'], { email: `msg${i}@partner.example`, status: 'failed', code: 'message_not_delivered', field: 'customizedMessageBody' })
    else if (kind === 2) add([`flag${i}@partner.example`, '', 'maybe', ''], { email: `flag${i}@partner.example`, status: 'failed', code: 'validation_failed', field: 'sendEmail' })
    else if (kind === 3) add([`eve${i}@evil.example`, '', 'FALSE', ''], { email: `eve${i}@evil.example`, status: 'failed', code: 'policy_denied' })
    else if (kind === 4) add([`USER${i - 4}@partner.example`, '', 'FALSE', ''], { email: `USER${i - 4}@partner.example`, status: 'failed', code: 'duplicate_email', field: 'inviteeEmail' })
    else if (kind === 5 && i >= 25) {
      existing.push(`old${i}@partner.example`)
      add([`old${i}@partner.example`, '', 'FALSE', ''], { email: `old${i}@partner.example`, status: 'failed', code: 'user_exists' })
    } else if (kind === 6) add([`user${i}@fabrikam.example`, 'https://evil.example/', 'FALSE', ''], { email: `user${i}@fabrikam.example`, status: 'failed', code: 'policy_denied' })
    else add([`user${i}@partner.example`, 'https://myapps.microsoft.com/', 'FALSE', ''], { email: `user${i}@partner.example`, status: 'succeeded' })
  }
  return { csv: `${lines.join('\r\n')}\r\n`, expected, existing }
}

t.test('the admin center template, 500 rows: dry run changes nothing; the job answers every row as the single route would', async (t) => {
  // No hourly limit: 430 invitations by one requester (the limit has its own tests).
  const policy = await sandboxPolicyWith(t, (p) => { delete p.roles['Guests.Invite']!.invitations!.maxPerHour })
  const { app, simulator, token, as } = await build(t, { GUESTGATE_POLICY_FILE: policy, GUESTGATE_BULK_CONCURRENCY: '4' })
  const inviter = await token(['Guests.Invite'])
  const { csv, expected, existing } = template()
  t.equal(expected.length, ROWS)
  for (const email of existing) {
    const res = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })
    t.equal(res.statusCode, 201, `${email} exists before the file`)
  }
  const usersBefore = simulator.state.snapshot()
  const callsBefore = simulator.calls.length

  const post = (url: string) => as(inviter, { method: 'POST', url, payload: csv, headers: { 'content-type': 'text/csv' } })

  await t.test('dry run: each row\'s decision, nothing written', async (t) => {
    const res = await post('/v1/bulk/invitations?dryRun=true')
    t.equal(res.statusCode, 200, res.body.slice(0, 500))
    const body = res.json<{ wouldAnswer: { status: number; body: { rows: Array<{ row: number; email: string; status: string; errorCode: string | null; errorField: string | null; decisions: unknown[]; graphCalls: Array<{ method: string; path: string }> }> } } }>()
    t.equal(body.wouldAnswer.status, 202)
    const rows = body.wouldAnswer.body.rows
    t.equal(rows.length, ROWS)
    const wrong = rows.filter((r, i) => {
      const e = expected[i]!
      return r.row !== i + 1 || (e.status === 'succeeded' ? r.status !== 'would-invite' || r.graphCalls[0]?.path !== '/v1.0/invitations' : r.status !== 'failed' || r.errorCode !== e.code || (e.field !== undefined && r.errorField !== e.field))
    })
    t.same(wrong.slice(0, 3), [], 'every row has its expected decision')
    t.same(simulator.state.snapshot(), usersBefore, 'the directory is unchanged')
    t.equal(simulator.callsTo('POST', /^\/v1\.0\/invitations/).length, existing.length, 'no invitation was sent')
    t.equal(await app.prisma.bulkJob.count(), 0, 'no job was created')
    const audited = await app.prisma.auditEvent.findMany({ where: { status: 'dry-run' } })
    t.equal(audited.length, 1, 'one dry-run audit row')
    t.match(audited[0]!.requestSummary, { fileSha256: createHash('sha256').update(csv).digest('hex'), rows: ROWS, dryRun: true })
    t.ok(simulator.calls.length > callsBefore, 'the dry run read Graph (existing users)')
  })

  await t.test('the job', async (t) => {
    const res = await post('/v1/bulk/invitations')
    t.equal(res.statusCode, 202, res.body.slice(0, 500))
    const job = res.json<{ id: string; state: string; rowCount: number; links: { events: string; results: string } }>()
    t.equal(res.headers.location, `/v1/bulk/jobs/${job.id}`)
    t.equal(job.rowCount, ROWS)

    // The event stream ends when the job does: no polling.
    const events = await as(inviter, { method: 'GET', url: job.links.events })
    t.equal(events.statusCode, 200)
    t.match(events.headers['content-type'], /text\/event-stream/)
    const progress = [...events.body.matchAll(/event: progress\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!) as { state: string; counts: Record<string, number> })
    t.ok(progress.length >= 1, `${progress.length} progress events`)
    t.match(events.body, /event: end\ndata: {"state":"completed"}/)
    const last = progress.at(-1)!
    const valid = expected.filter((e) => e.status === 'succeeded').length
    t.same(last.counts, { pending: 0, running: 0, succeeded: valid, failed: ROWS - valid, cancelled: 0 })

    const view = (await as(inviter, { method: 'GET', url: `/v1/bulk/jobs/${job.id}` })).json<{ state: string; ratePerMinute: number | null; eta: string | null }>()
    t.equal(view.state, 'completed')
    t.ok(view.ratePerMinute! > 0, 'a rate')
    t.equal(view.eta, null, 'nothing left')

    const ndjson = await as(inviter, { method: 'GET', url: `${job.links.results}?format=ndjson` })
    t.equal(ndjson.statusCode, 200)
    const results = ndjson.body.trim().split('\n').map((l) => JSON.parse(l) as { row: number; email: string; status: string; guestId: string | null; redeemUrl: string | null; errorCode: string | null; errorField: string | null })
    t.equal(results.length, ROWS)
    const wrong = results.filter((r, i) => {
      const e = expected[i]!
      if (r.row !== i + 1 || r.email !== e.email || r.status !== e.status) return true
      if (e.status === 'succeeded') return !r.guestId || !r.redeemUrl?.startsWith('https://')
      return r.errorCode !== e.code || (e.field !== undefined && r.errorField !== e.field)
    })
    t.same(wrong.slice(0, 3), [], 'every row has its expected result')

    const state = simulator.state.snapshot() as { users: Array<{ mail: string | null }> }
    const mails = state.users.map((u) => u.mail?.toLowerCase())
    const notOnce = expected.filter((e) => e.status === 'succeeded' && mails.filter((m) => m === e.email.toLowerCase()).length !== 1)
    t.same(notOnce, [], 'each valid row\'s guest exists once')
    t.equal(simulator.callsTo('POST', /^\/v1\.0\/invitations/).filter((c) => c.status === 201).length, existing.length + valid, 'one Graph invitation per valid row')
    t.notOk(mails.some((m) => m?.endsWith('evil.example')), 'no denied address was invited')

    const csvResults = await as(inviter, { method: 'GET', url: `${job.links.results}?format=csv` })
    const lines = csvResults.body.trim().split(/\r?\n/)
    t.match(lines[0], /^Email address to invite \[inviteeEmail\],Redirection url \[inviteRedirectURL\],Send invitation message \(true or false\) \[sendEmail\],/)
    t.equal(lines.length, ROWS + 1)

    const audit = await app.prisma.auditEvent.findMany({ where: { action: 'bulkJob.submit' } })
    t.equal(audit.length, 1, 'the job is audited')
    t.match(audit[0], { targetId: job.id, requestSummary: { fileSha256: createHash('sha256').update(csv).digest('hex'), rows: ROWS, dryRun: false } })
    const denials = await app.prisma.auditEvent.count({ where: { action: 'invitation.invite', status: 'denied' } })
    t.equal(denials, expected.filter((e) => e.code === 'policy_denied').length, 'each denied row is audited as the single route\'s denial')
    const intents = await app.prisma.auditEvent.count({ where: { action: 'invitation.invite', status: 'intent', requestSummary: { path: ['idempotencyKey'], string_starts_with: `bulk:${job.id}:` } } })
    t.equal(intents, valid, 'each valid row wrote its intent under its own key')

    const other = await token(['Guests.Invite'], { oid: '00000000-0000-4000-8000-00000000abcd', name: 'Someone Else' })
    t.equal((await as(other, { method: 'GET', url: `/v1/bulk/jobs/${job.id}` })).statusCode, 404, 'another caller does not see the job')
  })
})

t.test('JSON rows, a bad file, cancellation', async (t) => {
  const { token, as, app } = await build(t, { GUESTGATE_INVITATIONS_PER_MINUTE: '6', GUESTGATE_INVITATION_BURST: '1' })
  const inviter = await token(['Guests.Invite'])
  const bad = await as(inviter, { method: 'POST', url: '/v1/bulk/invitations', payload: 'email\nx@partner.example\n', headers: { 'content-type': 'text/csv' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'validation_failed', errors: [{ field: 'body/line 1' }] })
  const auditor = await token(['Audit.Read'])
  const refused = await as(auditor, { method: 'POST', url: '/v1/bulk/invitations', payload: { invitations: [{ email: 'a@partner.example' }] } })
  t.equal(refused.statusCode, 403, 'submitting needs the right to invite')

  // Six invitations a minute: the job is still running when it is cancelled.
  const invitations = Array.from({ length: 5 }, (_, i) => ({ email: `slow${i}@partner.example`, sendEmail: false }))
  const res = await as(inviter, { method: 'POST', url: '/v1/bulk/invitations', payload: { invitations: [...invitations, { email: 'slow0@partner.example' }, { email: 'x@partner.example', message: 'hi' }] } })
  t.equal(res.statusCode, 202)
  const job = res.json<{ id: string; counts: Record<string, number> }>()
  t.same(job.counts, { pending: 5, running: 0, succeeded: 0, failed: 2, cancelled: 0 })
  const cancelled = await as(inviter, { method: 'POST', url: `/v1/bulk/jobs/${job.id}/cancel` })
  t.equal(cancelled.statusCode, 200)
  const after = cancelled.json<{ state: string; counts: Record<string, number> }>()
  t.equal(after.state, 'cancelled')
  t.ok(after.counts.cancelled! >= 3, `${after.counts.cancelled} rows cancelled before they ran`)
  const events = await as(inviter, { method: 'GET', url: `/v1/bulk/jobs/${job.id}/events` })
  t.match(events.body, /event: end\ndata: {"state":"cancelled"}/)
  const results = (await as(inviter, { method: 'GET', url: `/v1/bulk/jobs/${job.id}/results?format=ndjson` })).body.trim().split('\n').map((l) => JSON.parse(l) as { errorCode: string | null; errorField: string | null })
  t.match(results[5], { errorCode: 'duplicate_email', errorField: 'invitations/5/email' })
  t.match(results[6], { errorCode: 'message_not_delivered', errorField: 'invitations/6/message' })
  t.equal(await app.prisma.auditEvent.count({ where: { action: 'bulkJob.cancel', targetId: job.id } }), 1, 'the cancellation is audited')
})
