import t from 'tap'
import { build } from '../../helper.js'
import type { AuditEventBody, AuditOperationReply, AuditPage, AuditVerifyReply, InvitationReply } from '../../helpers/replies.js'

t.test('audit endpoints: Audit.Read only; search, operations, export and verify over HTTP', async (t) => {
  const { as, token } = await build(t)
  // A name with a comma and quotes: the CSV must keep it in one field. (A newline in a token's name
  // is refused at authentication; newlines inside CSV fields are covered in test/audit/audit-export.test.ts.)
  const inviter = await token(['Guests.Invite'], { name: 'Doe, "JJ" Junior' })
  const auditor = await token(['Audit.Read'])
  const created: string[] = []
  for (const name of ['First', 'Plain Name', 'Third']) {
    const res = await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: `p${created.length}@partner.example`, displayName: name, sendEmail: false } })
    t.equal(res.statusCode, 201)
    created.push(res.json<InvitationReply>().operationId)
  }
  await as(inviter, { method: 'POST', url: '/v1/invitations', payload: { email: 'eve@evil.example' } })

  for (const url of ['/v1/audit/events', '/v1/audit/export', '/v1/audit/verify', `/v1/audit/operations/${created[0]}`, '/v1/audit/events/1']) {
    const refused = await as(inviter, { method: 'GET', url })
    t.equal(refused.statusCode, 403, `${url}: refused without Audit.Read`)
  }

  const invites = await as(auditor, { method: 'GET', url: '/v1/audit/events?action=invitation.invite&decision=allowed&limit=4' })
  t.equal(invites.statusCode, 200, invites.body)
  const page1 = invites.json<AuditPage>()
  t.equal(page1.items.length, 4)
  t.ok(page1.nextCursor)
  const page2 = (await as(auditor, { method: 'GET', url: `/v1/audit/events?action=invitation.invite&decision=allowed&limit=4&cursor=${page1.nextCursor}` })).json<AuditPage>()
  const ids = [...page1.items, ...page2.items].map((e) => e.id)
  t.equal(ids.length, 6, 'three intents and three outcomes')
  t.equal(new Set(ids).size, 6, 'no duplicates')
  t.same(ids, [...ids].sort((a, b) => Number(b) - Number(a)), 'newest first')

  const denied = (await as(auditor, { method: 'GET', url: '/v1/audit/events?decision=denied' })).json<AuditPage>()
  t.equal(denied.items.length, 6, 'the evil invitation and the five refused audit reads')
  const evil = (await as(auditor, { method: 'GET', url: '/v1/audit/events?decision=denied&action=invitation.invite' })).json<AuditPage>()
  t.equal(evil.items.length, 1)
  t.match(evil.items[0], { actor: { name: 'Doe, "JJ" Junior' }, decision: 'denied', ruleId: String, reason: /evil/ })

  const operation = (await as(auditor, { method: 'GET', url: `/v1/audit/operations/${created[0]}` })).json<AuditOperationReply>()
  t.same(operation.events.map((e) => e.status), ['intent', 'succeeded'])
  const one = await as(auditor, { method: 'GET', url: `/v1/audit/events/${operation.events[0]!.id}` })
  t.same(one.json(), operation.events[0])
  t.equal((await as(auditor, { method: 'GET', url: '/v1/audit/events/999999' })).statusCode, 404)
  t.equal((await as(auditor, { method: 'GET', url: '/v1/audit/events?cursor=bogus' })).statusCode, 400)

  const all = (await as(auditor, { method: 'GET', url: '/v1/audit/events?limit=100' })).json<AuditPage>().items
  const ndjson = await as(auditor, { method: 'GET', url: '/v1/audit/export?format=ndjson' })
  t.equal(ndjson.statusCode, 200)
  t.match(ndjson.headers['content-type'], /application\/x-ndjson/)
  const exported = ndjson.body.trim().split('\n').map((l) => JSON.parse(l) as AuditEventBody)
  t.same(exported.slice(1).map((e) => e.id), all.map((e) => e.id), 'the export has the rows the query has (after its own export row)')
  t.equal(exported[0]!.action, 'auditLog.export', 'the export is itself audited')

  const csv = await as(auditor, { method: 'GET', url: '/v1/audit/export?format=csv&action=invitation.invite' })
  t.match(csv.headers['content-type'], /text\/csv/)
  const lines = csv.body.split('\r\n')
  t.match(lines[0], /^id,occurredAt,/, 'a header row')
  t.ok(csv.body.includes(',"Doe, ""JJ"" Junior",'), 'comma and quotes (doubled) kept inside one quoted field')
  t.equal(csv.body.split('\r\n').filter(Boolean).length, 1 + 7, 'header plus one record per row, whatever the newlines inside fields')

  const verify = await as(auditor, { method: 'GET', url: '/v1/audit/verify' })
  t.match(verify.json(), { valid: true, firstInvalid: null })
  t.ok(verify.json<AuditVerifyReply>().checked >= 9)
})
