// Request text rules over HTTP: every route refuses text that could not be stored faithfully
// with a 400 naming the field, before any policy question, audit row or Graph call.
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { build } from '../helper.js'
import { auditRows } from '../helpers/audit-rows.js'
import type { Problem } from '../helpers/replies.js'

// Issue 9, finding 2: a NUL or a lone surrogate in displayName, appRole or the token's name made
// the denial's audit row fail (403 with an operationId that has no row), 500 on an allowed
// invitation and 503 on the what-if. Now each is a 400 naming the field, and nothing is written.
t.test('issue 9 #2: strings that cannot be stored faithfully are a 400 naming the field, on every path', async (t) => {
  const { as, token, simulator, databaseUrl } = await build(t)
  const admin = await token(['Guests.Invite', 'Apps.AssignRoles', 'Groups.ManageMembers'])
  const docuSign = SEED.apps.docuSign.id
  const guest = SEED.users.existingGuest.id
  const cases: { name: string; method: string; url: string; payload?: unknown; field: string }[] = [
    { name: 'allowed invitation, NUL in displayName', method: 'POST', url: '/v1/invitations', payload: { email: 'nul@partner.example', displayName: 'Jane\u0000', sendEmail: false }, field: 'body/displayName' },
    { name: 'denied invitation, lone surrogate in displayName', method: 'POST', url: '/v1/invitations', payload: { email: 'eve@evil.example', displayName: 'Eve \ud800' }, field: 'body/displayName' },
    { name: 'onboarding, NUL in an appRole', method: 'POST', url: '/v1/invitations', payload: { email: 'ok@partner.example', appRoles: [{ appId: docuSign, appRole: 'DocuSign.Sender\u0000' }] }, field: 'body/appRoles/0/appRole' },
    { name: 'what-if, lone surrogate in appRole', method: 'POST', url: '/v1/authorization/check', payload: { action: 'assign', target: { appId: docuSign, appRole: '\udfffAdmin' } }, field: 'body/target/appRole' },
    { name: 'what-if, NUL in the email', method: 'POST', url: '/v1/authorization/check', payload: { action: 'invite', target: { email: 'a\u0000@partner.example' } }, field: 'body/target/email' },
    { name: 'assignment, NUL in appRole', method: 'POST', url: `/v1/apps/${docuSign}/assignments`, payload: { principalId: guest, appRole: 'DocuSign.Admin\u0000' }, field: 'body/appRole' },
    { name: 'resend, NUL in the message', method: 'POST', url: `/v1/guests/${guest}/resend-invitation`, payload: { message: 'hi\u0000' }, field: 'body/message' },
    { name: 'search, %00', method: 'GET', url: '/v1/groups?search=Dev%00', field: 'query/search' },
    { name: 'search, an escape character', method: 'GET', url: '/v1/apps?search=%1B%5B2J', field: 'query/search' },
  ]
  for (const c of cases) {
    const res = await as(admin, { method: c.method, url: c.url, payload: c.payload })
    t.equal(res.statusCode, 400, `${c.name}: 400 (${res.body})`)
    t.match(res.headers['content-type'], /application\/problem\+json/)
    t.ok(res.json<Problem>().errors?.some((e) => e.field === c.field), `${c.name}: names ${c.field}`)
  }
  t.same(await auditRows(databaseUrl), [], 'nothing reached the audit log')
  t.same(simulator.calls.filter((call) => call.method !== 'GET'), [], 'nothing reached Graph')

  const multiLine = await as(admin, { method: 'POST', url: '/v1/invitations', payload: { email: 'lines@partner.example', message: 'Welcome!\r\n\tThe team', sendEmail: false } })
  // Line breaks and tabs pass validation; the message itself is then refused for what it is (Entra
  // drops it from an application's invitation e-mails), not as bad text.
  t.equal(multiLine.statusCode, 422, 'line breaks and tabs stay allowed in the message: no 400')
  t.equal(multiLine.json<Problem>().code, 'message_not_delivered')
})
