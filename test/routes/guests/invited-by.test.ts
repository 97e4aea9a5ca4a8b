// Issue 12, item 6: "my guests". GET /v1/guests?invitedBy=me lists the guests the caller invited
// (from the audit log's invitation outcome rows), and every guest says who invited it and when.
import t from 'tap'
import { SEED } from '../../../src/graph/simulator/seed.js'
import type { Guest } from '../../../src/schemas/guest.js'
import { build } from '../../helper.js'

const ADA = 'f1000000-0000-4000-8000-00000000000a'
const BOB = 'f1000000-0000-4000-8000-00000000000b'

t.test('invitedBy=me lists only the caller\'s guests, newest first; guests carry invitedBy and invitedAt', async (t) => {
  const { as, token } = await build(t)
  const ada = await token(['Guests.Invite'], { oid: ADA, name: 'Ada Admin' })
  const bob = await token(['Guests.Invite'], { oid: BOB, name: 'Bob Builder' })
  const invite = async (caller: string, email: string) => {
    const res = await as(caller, { method: 'POST', url: '/v1/invitations', payload: { email, sendEmail: false } })
    t.equal(res.statusCode, 201, res.body)
    return res.json<{ id: string }>().id
  }
  const adaFirst = await invite(ada, 'first@partner.example')
  const bobs = await invite(bob, 'bobs@partner.example')
  const adaSecond = await invite(ada, 'second@fabrikam.example')
  const list = async (caller: string, query: string) => {
    const res = await as(caller, { method: 'GET', url: `/v1/guests?${query}` })
    t.equal(res.statusCode, 200, res.body)
    return res.json<{ items: Guest[]; nextCursor?: string }>()
  }

  const mine = await list(ada, 'invitedBy=me')
  t.same(mine.items.map((g) => g.id), [adaSecond, adaFirst], 'Ada\'s guests, newest first, none of Bob\'s')
  t.ok(mine.items.every((g) => g.invitedBy?.id === ADA && g.invitedBy.displayName === 'Ada Admin' && !Number.isNaN(Date.parse(g.invitedAt!))))
  t.same((await list(bob, 'invitedBy=me')).items.map((g) => g.id), [bobs], 'Bob\'s guest only')
  t.same((await list(ada, `invitedBy=${BOB}`)).items.map((g) => g.id), [bobs], 'another requester\'s guests, by object id (read right needed)')
  t.same((await list(ada, 'invitedBy=me&domain=fabrikam.example')).items.map((g) => g.id), [adaSecond], 'with the other filters')

  const page1 = await list(ada, 'invitedBy=me&limit=1')
  t.same(page1.items.map((g) => g.id), [adaSecond])
  const page2 = await list(ada, `invitedBy=me&limit=1&cursor=${page1.nextCursor}`)
  t.same(page2.items.map((g) => g.id), [adaFirst])
  t.equal(page2.nextCursor, undefined, 'the last page')
  const replayed = await as(bob, { method: 'GET', url: `/v1/guests?invitedBy=me&limit=1&cursor=${page1.nextCursor}` })
  t.equal(replayed.statusCode, 400, 'a cursor of another requester\'s list is refused')

  const detail = (await as(ada, { method: 'GET', url: `/v1/guests/${bobs}` })).json<Guest>()
  t.match(detail, { invitedBy: { id: BOB, displayName: 'Bob Builder' }, invitedAt: String })
  const all = await list(ada, 'limit=100')
  const seeded = all.items.find((g) => g.id === SEED.users.existingGuest.id)
  t.match(seeded, { invitedBy: null, invitedAt: null }, 'a guest invited outside guestgate')
  t.match(all.items.find((g) => g.id === adaFirst), { invitedBy: { id: ADA } }, 'the full list says who invited each guest')

  const bad = await as(ada, { method: 'GET', url: '/v1/guests?invitedBy=someone' })
  t.equal(bad.statusCode, 400)
  t.equal((await as(await token([]), { method: 'GET', url: '/v1/guests?invitedBy=me' })).statusCode, 403, 'the read right is still needed')
})
