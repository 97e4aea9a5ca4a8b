// The reconciler settles intents left without outcome by reading Graph, once, in one replica.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import type { AuditEntryInput } from '../../src/audit/types.js'
import { poolOf } from '../../src/db/prisma-client.js'
import { SEED } from '../../src/graph/simulator/seed.js'
import { Reconciler } from '../../src/operations/reconciler.js'
import { build, type TestApp } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import type { AuditPage } from '../helpers/replies.js'

const actor = { oid: 'c3a0a1b2-0000-4000-8000-0000000000aa', name: 'Crashed Caller', tenantId: SEED.tenantId, roles: ['Guests.Invite'] }

function orphanIntent(action: string, params: Record<string, unknown>, targetId?: string): AuditEntryInput {
  return {
    operationId: randomUUID(), requestId: randomUUID(), correlationId: randomUUID(), actor, action,
    target: { type: 'guest', id: targetId ?? null }, decision: 'allowed', status: 'intent',
    ruleId: 'invitations.allowed-domain:Guests.Invite', reason: 'test', policyVersion: 'test', requestSummary: { params },
  }
}

/** A reconciler over the app's own parts that settles intents of any age. The app's own runs at
 *  start too: when it holds the lock, wait for its pass and go again. */
function reconcilerOf(app: TestApp, afterSeconds = 0) {
  const reconciler = new Reconciler({
    prisma: app.app.prisma, pool: poolOf(app.app.prisma), audit: app.app.audit, graphOps: app.app.graphOps,
    afterSeconds, singleConnection: false,
  })
  return {
    async runOnce() {
      for (;;) {
        const run = await reconciler.runOnce()
        if (run) return run
        await app.app.reconciler.idle()
      }
    },
    raw: reconciler,
  }
}

t.test('intents without outcome are settled by what Graph shows, once', async (t) => {
  const app = await build(t)
  const { audit } = app.app
  // Graph applied these before the process died; these others it never got.
  const applied = app.simulator.state.invite({
    invitedUserEmailAddress: 'applied@partner.example', inviteRedirectUrl: 'https://myapps.microsoft.com/', invitedUserType: 'Guest',
    sendInvitationMessage: false, invitedUserMessageInfo: { ccRecipients: [], customizedMessageBody: null, messageLanguage: null }, resetRedemption: false, appOnly: true,
  })
  const guestId = applied.invitedUser.id
  app.simulator.state.addMember(SEED.groups.developers, guestId)
  const intents = [
    orphanIntent('invitation.invite', { email: 'applied@partner.example', redirectUrl: 'https://myapps.microsoft.com/', sendEmail: false }),
    orphanIntent('invitation.invite', { email: 'never@partner.example', redirectUrl: 'https://myapps.microsoft.com/', sendEmail: false }),
    orphanIntent('guest.resend', { guestId, email: 'applied@partner.example', redirectUrl: 'https://myapps.microsoft.com/' }, guestId),
    orphanIntent('groupMembership.addMember', { groupId: SEED.groups.developers, userId: guestId }, guestId),
    orphanIntent('groupMembership.addMember', { groupId: SEED.groups.marketing, userId: guestId }, guestId),
  ]
  for (const intent of intents) await audit.append(intent)

  const auditor = await app.token(['Audit.Read'])
  const open = await app.as(auditor, { method: 'GET', url: '/v1/audit/events?unsettled=true' })
  t.equal(open.json<AuditPage>().items.length, 5, 'the audit API lists the unsettled intents')

  const run = await reconcilerOf(app).runOnce()
  t.match(run, { examined: 5, present: 2, absent: 2, unknown: 1, unreadable: 0, unsettled: 0, error: null })

  const outcomes = await auditRows(app.databaseUrl, `status = 'reconciled'`)
  const effectOf = (intent: AuditEntryInput) =>
    (outcomes.find((r) => r.correlation_id === intent.correlationId)?.request_summary.settlement as { effect: string } | undefined)?.effect
  t.same(intents.map(effectOf), ['present', 'absent', 'unknown', 'present', 'absent'])
  t.ok(outcomes.every((r) => intents.some((i) => i.operationId === r.operation_id && i.correlationId === r.correlation_id)), 'each outcome row continues its intent')
  t.equal(app.simulator.calls.filter((c) => c.method !== 'GET').length, 0, 'settling sent no write to Graph')

  const again = await reconcilerOf(app).runOnce()
  t.match(again, { examined: 0, unsettled: 0 }, 'nothing is settled twice')
  t.ok(BigInt(again.watermark) >= BigInt(run.watermark), 'the watermark only moves up')
  t.equal((await app.as(auditor, { method: 'GET', url: '/v1/audit/events?unsettled=true' })).json<AuditPage>().items.length, 0)

  const report = await app.as(auditor, { method: 'GET', url: '/v1/audit/reconciliation' })
  t.equal(report.statusCode, 200)
  t.match(report.json(), { unsettled: 0, lastRun: { examined: 0 } })
  const ready = (await app.app.inject({ method: 'GET', url: '/readyz' })).json<unknown>()
  t.match(ready, { checks: { reconciler: { lastRun: { examined: 0 } } } })
  t.equal((await app.as(await app.token(['Guests.Invite']), { method: 'GET', url: '/v1/audit/reconciliation' })).statusCode, 403, 'Audit.Read only')
})

t.test('intents younger than the settle delay are left alone', async (t) => {
  const app = await build(t)
  await app.app.audit.append(orphanIntent('invitation.invite', { email: 'inflight@partner.example', redirectUrl: 'https://myapps.microsoft.com/', sendEmail: false }))
  const run = await reconcilerOf(app, 3600).runOnce()
  t.match(run, { examined: 0, unsettled: 1 })
  t.equal((await auditRows(app.databaseUrl, `status = 'reconciled'`)).length, 0)
})

t.test('one replica at a time: a pass while another holds the lock does nothing', async (t) => {
  const app = await build(t)
  await app.app.audit.append(orphanIntent('invitation.invite', { email: 'locked@partner.example', redirectUrl: 'https://myapps.microsoft.com/', sendEmail: false }))
  const other = new pg.Client({ connectionString: app.databaseUrl })
  await other.connect()
  t.teardown(() => other.end())
  await other.query(`SELECT pg_advisory_lock(hashtextextended('guestgate:reconciler', 0))`)
  t.equal(await reconcilerOf(app).raw.runOnce(), null, 'the other replica holds it')
  await other.query(`SELECT pg_advisory_unlock(hashtextextended('guestgate:reconciler', 0))`)
  t.match(await reconcilerOf(app).runOnce(), { examined: 1, absent: 1 })
})

t.test('a write still under way in this process is left to it, however old its intent (one outcome per intent)', async (t) => {
  const app = await build(t)
  const inviter = await app.token(['Guests.Invite'])
  // The invitation is held at Graph until the reconciler has run.
  let invitationArrived!: () => void
  const atGraph = new Promise<void>((resolve) => { invitationArrived = resolve })
  let release!: () => void
  const released = new Promise<void>((resolve) => { release = resolve })
  app.simulator.faults.inject({ method: 'POST', path: '/invitations', arrived: () => { invitationArrived(); return released } })
  const answer = app.as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'slow@partner.example', sendEmail: false } })
  await atGraph

  // Settles intents of any age: this one qualifies, but its write is still at Graph.
  const run = await reconcilerOf(app).runOnce()
  t.match(run, { examined: 0, unsettled: 1 }, 'the pass leaves it alone')
  release()
  t.equal((await answer).statusCode, 201)

  const rows = await auditRows(app.databaseUrl, `action = 'invitation.invite'`)
  t.same(rows.map((r) => r.status), ['intent', 'succeeded'], 'one intent, one outcome: the answer Graph gave')
  t.match(await reconcilerOf(app).runOnce(), { examined: 0, unsettled: 0 })
})
