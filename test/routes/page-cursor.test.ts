// Cursors of the four Graph-backed lists: anything but a cursor this API issued (for the same
// filters) is a 400 naming query/cursor, never a 500.
import t from 'tap'
import { SEED } from '../../src/graph/simulator/seed.js'
import { ProblemError } from '../../src/errors.js'
import { InvalidPageTokenError } from '../../src/graph/graph-gateway.js'
import { encodeCursor, readPage } from '../../src/routes/page-cursor.js'
import { build } from '../helper.js'

const ALL_ROLES = ['Guests.Invite', 'Guests.Manage', 'Groups.ManageMembers', 'Apps.AssignRoles', 'Audit.Read']
const b64 = (text: string) => Buffer.from(text).toString('base64url')

const LISTS = [
  { url: '/v1/guests', filters: { state: undefined, domain: undefined, search: undefined, limit: 25 } },
  { url: '/v1/groups', filters: { search: undefined, limit: 25 } },
  { url: '/v1/apps', filters: { search: undefined, limit: 25 } },
  { url: `/v1/groups/${SEED.groups.marketing}/members`, filters: { guestsOnly: true, limit: 25 } },
]

// Issue 9, finding 8: a cursor of base64url("null") gave 500 on four lists.
t.test('issue 9 #8: cursors that decode to other JSON are a 400 on every list', async (t) => {
  const { as, token } = await build(t)
  const caller = await token(ALL_ROLES)
  for (const list of LISTS) {
    const forged = ['null', '3', '"x"', '[]', 'true', '{}', '{"p":null}', '{"p":7,"f":{}}', '{"p":"","f":{}}', '{"p":"x\\u0000","f":' + JSON.stringify(list.filters) + '}', 'not json']
    for (const text of forged) {
      const res = await as(caller, { method: 'GET', url: `${list.url}?cursor=${b64(text)}` })
      t.equal(res.statusCode, 400, `${list.url} cursor=${text}: 400 (${res.body})`)
      t.match(res.json(), { code: 'validation_failed', errors: [{ field: 'query/cursor' }] })
    }
  }
})

t.test('a well-formed cursor whose Graph page token is not (or no longer) valid is a 400 too', async (t) => {
  const { as, token } = await build(t)
  const caller = await token(ALL_ROLES)
  for (const list of LISTS) {
    const cursor = b64(JSON.stringify({ p: 'expired-token', f: list.filters }))
    const res = await as(caller, { method: 'GET', url: `${list.url}?cursor=${cursor}` })
    t.equal(res.statusCode, 400, `${list.url}: 400 (${res.body})`)
    t.match(res.json(), { errors: [{ field: 'query/cursor', message: /expired|no longer valid|not a cursor this API returned/ }] })
  }
})

t.test('a cursor whose page token the gateway refuses is a 400 on query/cursor, not a 500', async (t) => {
  const filters = { limit: 2 }
  const forged = encodeCursor('https://evil.example/v1.0/users?$skiptoken=x', filters)
  const error = await readPage(forged, filters, async () => {
    throw new InvalidPageTokenError('not a link to our Graph endpoint')
  }).then(() => undefined, (e: unknown) => e)
  t.ok(error instanceof ProblemError)
  t.match(error, { status: 400, extras: { errors: [{ field: 'query/cursor' }] } })
})
