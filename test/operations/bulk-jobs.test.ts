// A bulk row's attempts can overlap: on a busy machine a row still running past its timeout is
// handed to another worker while the first attempt is at Graph. The second attempt must neither
// send a second invitation nor report the row's own invitation as "user exists".
import t from 'tap'
import { runBulkRow } from '../../src/operations/bulk-jobs.js'
import { build } from '../helper.js'
import type { RecordedCall } from '../../src/graph/simulator/graph-simulator.js'

t.test('a second attempt that starts while the first is at Graph reports the row succeeded, with one invitation', async (t) => {
  const { app, simulator, token, as } = await build(t, { GUESTGATE_BULK_CONCURRENCY: '1' })
  const inviter = await token(['Guests.Invite'])
  const email = 'overlap@partner.example'

  // The first attempt's invitation is held at Graph until the second attempt has looked.
  let invitationArrived!: () => void
  const atGraph = new Promise<void>((resolve) => { invitationArrived = resolve })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  simulator.faults.inject({ method: 'POST', path: '/invitations', arrived: () => { invitationArrived(); return released } })

  const submitted = await as(inviter, { method: 'POST', url: '/v1/bulk/invitations', payload: { invitations: [{ email, sendEmail: false }] } })
  t.equal(submitted.statusCode, 202, 'job accepted')
  const jobId = submitted.json<{ id: string }>().id
  await atGraph

  // The second attempt reads Graph (no user yet: the write is held), then waits for the address.
  const lookedUp = new Promise<void>((resolve) => {
    const onCall = (call: RecordedCall) => {
      if (call.method !== 'GET' || !call.path.endsWith('/users')) return
      simulator.events.off('call', onCall)
      resolve()
    }
    simulator.events.on('call', onCall)
  })
  const second = runBulkRow(app, { jobId, number: 1 }, { retryCount: 0, retryLimit: 0 })
  await lookedUp
  release()
  await second

  const results = await as(inviter, { method: 'GET', url: `/v1/bulk/jobs/${jobId}/results?format=ndjson` })
  const rows = results.body.trim().split('\n').map((line) => JSON.parse(line) as { status: string; guestId: string | null; errorCode: string | null })
  const user = simulator.state.snapshot().users.find((u) => u.mail === email)
  t.ok(user, 'the guest exists')
  t.match(rows, [{ status: 'succeeded', guestId: user?.id, errorCode: null }], 'the row succeeded with the guest its first attempt invited')
  t.equal(simulator.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/invitations')).length, 1, 'one Graph invitation')
  const job = await as(inviter, { method: 'GET', url: `/v1/bulk/jobs/${jobId}` })
  t.match(job.json(), { state: 'completed', counts: { succeeded: 1, failed: 0 } })
})
